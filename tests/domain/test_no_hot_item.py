"""No item on every write's path (DESIGN.md principle 6): tallies are sharded, and a retry moves shard."""
import json
from collections import Counter as Touches
from contextlib import contextmanager

from django.conf import settings

from leads.domain import services, tallies
from leads.storage import dynamodb
from leads.storage.models import Lead
from tests.faults import dynamodb_fault
from tests.helpers import make_lead, status_count

WRITES = 40


@contextmanager
def transaction_items():
    """The items (table, key) each TransactWriteItems sent through the app's client touches."""
    sent: list[set] = []

    def record(params, **_):
        touched = set()
        for action in params["TransactItems"]:
            (operation, body), = action.items()
            key = body.get("Key") or {"lead_id": body["Item"].get("lead_id", body["Item"].get("counter_id"))}
            table = body["TableName"].removeprefix(settings.DYNAMODB_TABLE_PREFIX)
            touched.add((table, json.dumps(key, sort_keys=True)))
        sent.append(touched)

    client = dynamodb.shared_connection().client
    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", record, unique_id="hot-items")
    try:
        yield sent
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", unique_id="hot-items")


def busiest(sent: list[set]) -> int:
    """How many of the transactions the most-touched item was part of."""
    return max(Touches(item for touched in sent for item in touched).values())


def test_submissions_spread_their_tallies_so_no_item_is_in_every_write():
    with transaction_items() as sent:
        for n in range(WRITES):
            make_lead(f"visitor{n}@acme.com")
    assert len(sent) == WRITES
    # With one status#new item this is 40 of 40; over 32 shards more than 12 is vanishingly unlikely.
    assert busiest(sent) <= 12, busiest(sent)
    assert status_count("new") == WRITES


def test_status_changes_spread_their_tallies_too():
    lead_ids = [make_lead(f"visitor{n}@acme.com") for n in range(WRITES)]
    with transaction_items() as sent:
        for lead_id in lead_ids:
            services.lead_update(lead_id=lead_id, expected_version=1, actor="sam@example.com", status="contacted")
    # Each is a first response too, counted in one of the 8 shards of its week's response-time histogram
    # (leads.domain.response_time: only staff write those): 5 of 40 on average, more than 16 vanishingly rare.
    histogram = [{item for item in touched if "tally#response#" in item[1]} for touched in sent]
    assert all(len(items) == 1 for items in histogram) and busiest(histogram) <= 16, busiest(histogram)
    assert busiest([touched - items for touched, items in zip(sent, histogram)]) <= 12, busiest(sent)
    assert (status_count("new"), status_count("contacted")) == (0, WRITES)


def test_a_transaction_cancelled_by_a_conflict_retries_on_another_shard(monkeypatch):
    shards = iter([4, 9])
    monkeypatch.setattr(tallies, "pick_shard", lambda: next(shards))
    with transaction_items() as sent, dynamodb_fault(operations={"TransactWriteItems"},
                                                      cancel="TransactionConflict", times=1):
        lead_id = make_lead()
    first, retry = ({key for table, key in touched if table == "counters"} for touched in sent)
    assert first == {json.dumps({"counter_id": {"S": k}}) for k in
                     (tallies.status_shard_key(4), tallies.month_shard_key("2026-11", 4))}
    assert retry == {json.dumps({"counter_id": {"S": k}}) for k in
                     (tallies.status_shard_key(9), tallies.month_shard_key("2026-11", 9))}
    assert Lead.get(lead_id) and status_count("new") == 1


def test_submissions_spread_the_hour_they_wait_in_too():
    """Each submission also counts in its arrival hour's waiting item (leads.domain.response_time): sharded like the tallies."""
    from leads.storage.models import utcnow

    with transaction_items() as sent:
        for n in range(WRITES):
            make_lead(f"visitor{n}@acme.com", when=utcnow())
    waiting = [{item for item in touched if "tally#waiting#" in item[1]} for touched in sent]
    assert all(len(items) == 1 for items in waiting)
    assert busiest(sent) <= 12, busiest(sent)
