"""The embedded DynamoDB, as `make run` starts it: leads survive SIGKILL, and a double post stores one lead."""
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests

from tests.integration.servers import (
    DevServer,
    contact_form,
    dev_env,
    free_port,
    submit_contact_form,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.backend("moto", reason="tests the embedded store `make run` starts, not a DynamoDB"),
]


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


def test_five_simultaneous_posts_of_one_form_store_one_lead(tmp_path):
    dynamodb_port = free_port()
    server = DevServer(port=free_port(), log=tmp_path / "devserver.log",
                       env=dev_env(data_dir=tmp_path / "dynamodb", dynamodb_port=dynamodb_port))
    try:
        server.start()
        session = requests.Session()
        data = contact_form(session, server.url, name="Double", email="double@click.example", subject="s", message="m")
        barrier = threading.Barrier(5)

        def post(_):
            barrier.wait()
            return session.post(f"{server.url}/", data=data, timeout=30, allow_redirects=False).status_code

        with ThreadPoolExecutor(5) as pool:
            assert list(pool.map(post, range(5))) == [302] * 5
        assert len(leads_with_email(dynamodb_port, "double@click.example")) == 1
    finally:
        server.kill()
