"""The embedded DynamoDB keeps leads across a SIGKILL of the whole `make run` process group."""
import boto3
import pytest

from tests.integration.servers import DevServer, dev_env, free_port, submit_contact_form

pytestmark = pytest.mark.integration


def leads_with_email(dynamodb_port: int, email: str) -> list[dict]:
    client = boto3.client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{dynamodb_port}", region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )
    return client.query(
        TableName="leads-leads", IndexName="email-index",
        KeyConditionExpression="email = :e", ExpressionAttributeValues={":e": {"S": email}},
    )["Items"]


def test_a_submitted_lead_survives_kill_9_and_restart(tmp_path):
    dynamodb_port = free_port()
    server = DevServer(
        port=free_port(), log=tmp_path / "devserver.log",
        env=dev_env(data_dir=tmp_path / "dynamodb", dynamodb_port=dynamodb_port),
    )
    try:
        server.start()
        response = submit_contact_form(
            server.url, name="Katherine Johnson", email="Katherine@NASA.gov", subject="Orbits", message="Trajectories",
        )
        assert response.status_code == 302 and response.headers["Location"] == "/thanks/"
        assert len(leads_with_email(dynamodb_port, "katherine@nasa.gov")) == 1

        server.kill()
        server.start()

        [lead] = leads_with_email(dynamodb_port, "katherine@nasa.gov")
        assert lead["name"] == {"S": "Katherine Johnson"}
        # The restarted app still serves and stores.
        again = submit_contact_form(server.url, name="K", email="k2@nasa.gov", subject="s", message="m")
        assert again.status_code == 302
    finally:
        server.kill()
