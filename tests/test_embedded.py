"""The embedded DynamoDB's journal: committed writes come back after a restart, nothing else does."""
import threading
from contextlib import contextmanager

import boto3
import pytest
from werkzeug.serving import make_server

from leads import embedded

pytestmark = pytest.mark.integration  # real HTTP server on loopback, no moto mock


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
