"""The conflict-faithful proxy against AWS's "Transaction conflict handling in DynamoDB"."""
import contextlib
import http.client
import itertools
import json
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from tests.conflict_proxy import ConflictProxy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.backend("dynamodb-local", reason="the proxy sits in front of DynamoDB Local"),
]

ROOT = Path(__file__).resolve().parents[2]

REGION = "us-east-1"
KEY, SECRET = "conflicttests", "secret"
HOLD = 1.0  # long enough that every probe below lands while the first transaction is in flight
_tables = itertools.count()
CONFLICT = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}


def client_for(url, *, attempts=3, pool=32):
    return boto3.client("dynamodb", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET,
                        config=Config(retries={"mode": "standard", "total_max_attempts": attempts},
                                      max_pool_connections=pool, read_timeout=30))


@pytest.fixture(scope="module")
def warm_emulator(dynamodb_local):
    """A few transactions straight to DynamoDB Local, so that a cold JVM does not eat into a hold window."""
    direct = client_for(dynamodb_local.url)
    direct.create_table(TableName="conflict-warmup", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    for _ in range(20):
        direct.transact_write_items(TransactItems=[add_one("conflict-warmup", "w"), put("conflict-warmup", "p")])
        direct.get_item(TableName="conflict-warmup", Key=key("w"))
    direct.delete_table(TableName="conflict-warmup")


@pytest.fixture
def proxy(dynamodb_local, warm_emulator):
    with ConflictProxy(dynamodb_local.url, hold_seconds=HOLD) as running:
        yield running


@pytest.fixture
def client(proxy):
    return client_for(proxy.url)


@pytest.fixture
def table(client):
    name = f"conflict-{next(_tables)}"
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    yield name
    client.delete_table(TableName=name)


def key(pk):
    return {"pk": {"S": pk}}


def add_one(table, pk):
    return {"Update": {"TableName": table, "Key": key(pk), "UpdateExpression": "ADD n :one",
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}


def put(table, pk):
    return {"Put": {"TableName": table, "Item": {**key(pk), "n": {"N": "7"}}}}


@contextlib.contextmanager
def in_flight(client, proxy, items):
    """Run one transaction in a thread and yield once it is applied upstream and still held."""
    before = proxy.stats.as_dict()
    outcome = {}

    def run():
        try:
            outcome["response"] = client.transact_write_items(TransactItems=items)
        except Exception as error:  # noqa: BLE001 - reported by the assertion at the end
            outcome["error"] = error

    thread = threading.Thread(target=run)
    started = time.monotonic()
    thread.start()
    deadline = started + 10
    while proxy.stats.requests_forwarded == before["requests_forwarded"]:
        assert time.monotonic() < deadline, "the transaction never reached DynamoDB Local"
        time.sleep(0.005)
    yield outcome
    assert time.monotonic() - started < HOLD, "probes ran after the hold ended: nothing was tested"
    thread.join(HOLD * 5)
    assert not thread.is_alive()
    assert "response" in outcome, outcome.get("error")


def get(client, table, pk):
    return client.get_item(TableName=table, Key=key(pk), ConsistentRead=True).get("Item")


def raw_call(proxy, operation, body):
    """One request by hand, to see the exact status, headers and body the proxy answers."""
    connection = http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)
    try:
        connection.request("POST", "/", json.dumps(body), {
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={KEY}/20260101/{REGION}/dynamodb/aws4_request, "
                             "SignedHeaders=host, Signature=0",
        })
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        connection.close()


def test_overlapping_transaction_is_cancelled_at_the_conflicting_position(proxy, client, table):
    with in_flight(client, proxy, [add_one(table, "hot")]):
        with pytest.raises(ClientError) as caught:
            client.transact_write_items(TransactItems=[put(table, "fresh"), add_one(table, "hot")])
        status, headers, body = raw_call(proxy, "TransactWriteItems",
                                         {"TransactItems": [add_one(table, "hot"), put(table, "other")]})
    error = caught.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["CancellationReasons"] == [{"Code": "None"}, CONFLICT]
    assert error["Error"]["Message"] == ("Transaction cancelled, please refer cancellation reasons for specific "
                                         "reasons [None, TransactionConflict]")
    assert status == 400
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amzn-errortype"] == "TransactionCanceledException"
    assert body == {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "CancellationReasons": [CONFLICT, {"Code": "None"}],
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                   "[TransactionConflict, None]",
    }
    # The cancelled transactions wrote nothing; the one in flight committed.
    assert get(client, table, "fresh") is None and get(client, table, "other") is None
    assert get(client, table, "hot")["n"] == {"N": "1"}
    # botocore does not retry a cancellation: each was one request.
    assert proxy.stats.transactions_cancelled_for_conflict == 2
    assert proxy.stats.transactions_committed == 1


def test_pynamodb_sees_transact_write_error_with_the_reasons(proxy, client, table):
    class Thing(Model):
        class Meta:
            table_name = table
            host = proxy.url
            region = REGION
            aws_access_key_id = KEY
            aws_secret_access_key = SECRET

        pk = UnicodeAttribute(hash_key=True)
        n = NumberAttribute(default=0)

    connection = Connection(host=proxy.url, region=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    # The in-flight transaction is a Put: the proxy finds its key through the table's key schema.
    with in_flight(client, proxy, [put(table, "hot")]):
        with pytest.raises(TransactWriteError) as caught:
            with TransactWrite(connection=connection) as tx:
                tx.save(Thing(pk="fresh", n=1))
                tx.update(Thing(pk="hot"), actions=[Thing.n.add(1)])
    reasons = caught.value.cancellation_reasons
    assert [reason.code if reason else None for reason in reasons] == [None, "TransactionConflict"]
    assert reasons[1].message == "Transaction is ongoing for the item"
    assert get(client, table, "fresh") is None
    with TransactWrite(connection=connection) as tx:  # once released, the same transaction commits
        tx.save(Thing(pk="fresh", n=1))
        tx.update(Thing(pk="hot"), actions=[Thing.n.add(1)])
    assert Thing.get("hot", consistent_read=True).n == 8


def test_plain_writes_to_an_item_in_flight_get_transaction_conflict(proxy, client, table):
    client.put_item(TableName=table, Item={**key("hot"), "n": {"N": "1"}})
    with in_flight(client, proxy, [add_one(table, "hot")]):
        refused = []
        for call in (
            lambda: client.put_item(TableName=table, Item={**key("hot"), "n": {"N": "100"}}),
            lambda: client.update_item(TableName=table, Key=key("hot"), UpdateExpression="SET n = :v",
                                       ExpressionAttributeValues={":v": {"N": "100"}}),
            lambda: client.delete_item(TableName=table, Key=key("hot")),
        ):
            with pytest.raises(ClientError) as caught:
                call()
            refused.append(caught.value.response)
        # Other items are free, and a GetItem on the item in flight succeeds (documented).
        client.put_item(TableName=table, Item={**key("cold"), "n": {"N": "1"}})
        assert get(client, table, "hot") is not None
    for error in refused:
        assert error["Error"] == {"Code": "TransactionConflictException",
                                  "Message": "Transaction is ongoing for the item"}
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Not retried by botocore: three refusals for three calls.
    assert proxy.stats.plain_writes_refused_for_conflict == 3
    assert get(client, table, "hot")["n"] == {"N": "2"}  # none of the refused writes landed
    # Once the transaction has ended, the item is free.
    client.put_item(TableName=table, Item={**key("hot"), "n": {"N": "100"}})
    client.update_item(TableName=table, Key=key("hot"), UpdateExpression="ADD n :one",
                       ExpressionAttributeValues={":one": {"N": "1"}})
    assert get(client, table, "hot")["n"] == {"N": "101"}


def test_transact_get_conflicts_and_batch_write_passes(proxy, client, table):
    with in_flight(client, proxy, [add_one(table, "hot")]):
        with pytest.raises(ClientError) as caught:
            client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key("cold")}},
                                                     {"Get": {"TableName": table, "Key": key("hot")}}])
        # BatchWriteItem is not among the documented conflicts: its writes are applied.
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {**key("hot"), "b": {"S": "x"}}}}]})
    error = caught.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert error["CancellationReasons"] == [{"Code": "None"}, CONFLICT]
    assert proxy.stats.transact_gets_cancelled_for_conflict == 1
    assert get(client, table, "hot") == {**key("hot"), "b": {"S": "x"}}
    response = client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key("hot")}}])
    assert response["Responses"][0]["Item"]["b"] == {"S": "x"}


def test_non_overlapping_concurrent_transactions_both_commit(proxy, table):
    clients = [client_for(proxy.url), client_for(proxy.url)]
    barrier = threading.Barrier(2, timeout=10)
    errors = []

    def run(client, pk):
        barrier.wait()
        try:
            client.transact_write_items(TransactItems=[add_one(table, pk), put(table, pk + "-put")])
        except ClientError as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(c, pk)) for c, pk in zip(clients, ("a", "b"))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HOLD * 5)
    assert time.monotonic() - started < 2 * HOLD  # they really were in flight together
    assert errors == []
    assert proxy.stats.transactions_committed == 2
    assert proxy.stats.transactions_cancelled_for_conflict == 0


def test_a_token_still_in_flight_gets_transaction_in_progress(proxy, client, table):
    items = [add_one(table, "hot")]
    single = client_for(proxy.url, attempts=1)
    before = proxy.stats.transactions_seen
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(
        r=client.transact_write_items(TransactItems=items, ClientRequestToken="same-token")))
    thread.start()
    while proxy.stats.transactions_seen == before:
        time.sleep(0.005)
    with pytest.raises(ClientError) as caught:
        single.transact_write_items(TransactItems=items, ClientRequestToken="same-token")
    thread.join(HOLD * 5)
    assert caught.value.response["Error"]["Code"] == "TransactionInProgressException"
    assert "r" in outcome


def hammer(url, table, *, threads=16, per_thread=25):
    """16 threads × 25 transactions, each adding 1 to one counter item; (committed, conflicts)."""
    client = client_for(url, attempts=1, pool=threads)
    counts = {"committed": 0, "conflicts": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(threads, timeout=10)

    def run():
        barrier.wait()
        for _ in range(per_thread):
            try:
                client.transact_write_items(TransactItems=[add_one(table, "counter")])
                outcome = "committed"
            except ClientError as error:
                reasons = error.response.get("CancellationReasons", [])
                assert [r["Code"] for r in reasons] == ["TransactionConflict"], error.response
                outcome = "conflicts"
            with lock:
                counts[outcome] += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not any(worker.is_alive() for worker in workers)
    return counts["committed"], counts["conflicts"]


def test_emulator_serialises_where_the_proxy_cancels(dynamodb_local, client, table):
    direct = client_for(dynamodb_local.url)
    assert hammer(dynamodb_local.url, table) == (400, 0)
    assert get(direct, table, "counter")["n"] == {"N": "400"}

    direct.delete_item(TableName=table, Key=key("counter"))
    with ConflictProxy(dynamodb_local.url, hold_seconds=0.02) as fast:
        committed, conflicts = hammer(fast.url, table)
        stats = fast.stats.as_dict()
    assert committed + conflicts == 400
    assert conflicts > 0
    assert get(direct, table, "counter")["n"] == {"N": str(committed)}
    assert stats["transactions_seen"] == 400
    assert stats["transactions_committed"] == committed
    assert stats["transactions_cancelled_for_conflict"] == conflicts


def test_hundreds_of_keep_alive_connections_at_once(proxy, table):
    """300 clients, each its own connection, all inside one hold window: none waits for another."""
    clients, barrier, results = 300, threading.Barrier(300, timeout=30), []
    lock = threading.Lock()
    headers = {"Content-Type": "application/x-amz-json-1.0",
               "Authorization": f"AWS4-HMAC-SHA256 Credential={KEY}/20260101/{REGION}/dynamodb/aws4_request, "
                                "SignedHeaders=host, Signature=0"}

    def run(i):
        connection = http.client.HTTPConnection(proxy.host, proxy.port, timeout=30)
        try:
            connection.connect()
            sock = connection.sock
            barrier.wait()
            connection.request("POST", "/", json.dumps({"TransactItems": [add_one(table, f"item-{i}")]}),
                               {**headers, "X-Amz-Target": "DynamoDB_20120810.TransactWriteItems"})
            first = connection.getresponse()
            first.read()
            connection.request("POST", "/", json.dumps({"TableName": table, "Key": key(f"item-{i}")}),
                               {**headers, "X-Amz-Target": "DynamoDB_20120810.GetItem"})
            second = connection.getresponse()
            item = json.loads(second.read())["Item"]
            outcome = (first.status, second.status, item["n"]["N"], connection.sock is sock)
        except Exception as error:  # noqa: BLE001 - reported through the assertion below
            outcome = repr(error)
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    assert results == [(200, 200, "1", True)] * clients
    assert proxy.stats.transactions_committed == clients
    assert elapsed < 4 * HOLD, elapsed  # one after another would take clients × HOLD


def test_cli_serves_until_terminated(dynamodb_local):
    process = subprocess.Popen([sys.executable, "-m", "tests.conflict_proxy", "--upstream", dynamodb_local.url,
                                "--hold-ms", "5"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the proxy did not announce itself"
        url = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline()).group(0)
        client_for(url).list_tables()
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0
    assert json.loads(out.strip().splitlines()[-1])["requests_forwarded"] == 1
