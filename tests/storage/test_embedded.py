"""The embedded DynamoDB's journal: committed writes come back after a restart, nothing else does."""
import threading
from contextlib import contextmanager

import boto3
import pytest
from werkzeug.serving import make_server

from leads.storage import embedded

pytestmark = [
    pytest.mark.integration,  # real HTTP server on loopback, no moto mock
    pytest.mark.backend("moto", reason="tests the embedded store itself (moto made durable)"),
]


@contextmanager
def running(data_dir):
    app = embedded.build_app(data_dir)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield boto3.client(
            "dynamodb", endpoint_url=f"http://127.0.0.1:{server.server_port}", region_name="eu-west-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )
    finally:
        server.shutdown()
        thread.join()


def create_table(client):
    client.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )


def journal_lines(data_dir):
    return (data_dir / "journal.jsonl").read_bytes().splitlines()


def test_writes_survive_a_restart_and_reads_are_not_journalled(tmp_path):
    with running(tmp_path) as client:
        create_table(client)
        client.put_item(TableName="t", Item={"id": {"S": "a"}, "n": {"N": "1"}})
        client.update_item(TableName="t", Key={"id": {"S": "a"}}, UpdateExpression="ADD n :one",
                           ExpressionAttributeValues={":one": {"N": "1"}})
        client.get_item(TableName="t", Key={"id": {"S": "a"}})
        client.scan(TableName="t")
    assert len(journal_lines(tmp_path)) == 3
    with running(tmp_path) as client:
        item = client.get_item(TableName="t", Key={"id": {"S": "a"}})["Item"]
    assert item == {"id": {"S": "a"}, "n": {"N": "2"}}


def test_failed_conditional_writes_are_not_journalled(tmp_path):
    with running(tmp_path) as client:
        create_table(client)
        client.put_item(TableName="t", Item={"id": {"S": "a"}})
        with pytest.raises(client.exceptions.ConditionalCheckFailedException):
            client.put_item(TableName="t", Item={"id": {"S": "a"}, "x": {"S": "lost"}},
                            ConditionExpression="attribute_not_exists(id)")
    assert len(journal_lines(tmp_path)) == 2


def test_region_is_kept_across_replay(tmp_path):
    with running(tmp_path) as client:
        create_table(client)
    with running(tmp_path) as client:
        assert client.list_tables()["TableNames"] == ["t"]


def test_a_torn_last_line_is_dropped_and_the_rest_replayed(tmp_path):
    with running(tmp_path) as client:
        create_table(client)
        client.put_item(TableName="t", Item={"id": {"S": "kept"}})
    journal = tmp_path / "journal.jsonl"
    with journal.open("ab") as file:
        file.write(b'{"headers": {"X-Amz-Tar')  # the process died mid-write
    with running(tmp_path) as client:
        assert client.get_item(TableName="t", Key={"id": {"S": "kept"}})["Item"]
        client.put_item(TableName="t", Item={"id": {"S": "after"}})
    assert len(journal_lines(tmp_path)) == 3
    with running(tmp_path) as client:
        assert client.get_item(TableName="t", Key={"id": {"S": "after"}})["Item"]


@contextmanager
def served_as_make_run_does(data_dir):
    """The embedded server exactly as `make run` serves it, on a free loopback port."""
    from tests.integration.servers import free_port

    port = free_port()
    server = embedded.make_embedded_server(host="127.0.0.1", port=port, data_dir=data_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        thread.join()


GET_ITEM = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                             "SignedHeaders=host, Signature=0"}


@pytest.mark.security(hole=2, title="The embedded DynamoDB answers any web page (CORS, DNS rebinding)")
def test_web_pages_and_foreign_hosts_are_refused_while_the_app_is_served(tmp_path):
    import requests

    with served_as_make_run_does(tmp_path) as port:
        url = f"http://127.0.0.1:{port}/"
        app = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
        create_table(app)
        assert app.list_tables()["TableNames"] == ["t"]  # the app itself (botocore) is served
        assert requests.post(url, data="{}", headers=GET_ITEM, timeout=5).status_code == 200
        preflight = requests.options(url, timeout=5, headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,content-type,authorization"})
        assert preflight.status_code == 403 and "Access-Control-Allow-Origin" not in preflight.headers
        cross_origin = requests.post(url, data="{}", headers={**GET_ITEM, "Origin": "https://evil.example"}, timeout=5)
        assert cross_origin.status_code == 403 and "TableNames" not in cross_origin.text
        for origin in ("null", f"http://127.0.0.1:{port}", "http://localhost:8000"):
            assert requests.post(url, data="{}", headers={**GET_ITEM, "Origin": origin}, timeout=5).status_code == 403
        for host in (f"rebound.evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}", "evil.example"):
            rebound = requests.post(url, data="{}", headers={**GET_ITEM, "Host": host}, timeout=5)
            assert rebound.status_code == 403 and "TableNames" not in rebound.text, host
        assert requests.post(url, data="{}", headers={**GET_ITEM, "Host": f"localhost:{port}"}, timeout=5).ok


@pytest.mark.security(hole=2, title="The embedded DynamoDB answers any web page (CORS, DNS rebinding)")
def test_var_files_are_owner_only(tmp_path, monkeypatch):
    import os
    import stat

    import leadsite.settings

    old = os.umask(0o002)
    try:
        data_dir = tmp_path / "var" / "dynamodb"
        with served_as_make_run_does(data_dir) as port:
            client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                                  aws_access_key_id="local", aws_secret_access_key="local")
            create_table(client)
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((data_dir / "journal.jsonl").stat().st_mode) == 0o600

        var = tmp_path / "checkout-var"
        monkeypatch.setattr(leadsite.settings, "VAR_DIR", var)
        monkeypatch.setattr(leadsite.settings, "DEBUG", True)
        monkeypatch.delenv("SECRET_KEY", raising=False)
        key = leadsite.settings._secret_key()
        assert key and leadsite.settings._secret_key() == key
        assert stat.S_IMODE(var.stat().st_mode) == 0o700
        assert stat.S_IMODE((var / "dev-secret-key").stat().st_mode) == 0o600
    finally:
        os.umask(old)
