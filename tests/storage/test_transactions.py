"""The transaction helper: failed conditions named by table and key, retries of cancellations, outages."""
from datetime import UTC, datetime, timedelta

import pytest

from leads.domain import ratelimit
from leads.storage import transactions
from leads.storage.errors import StorageUnavailable
from leads.storage.models import HistoryEvent, Lead, RateWindow, Staff, TrashedLead
from leads.storage.transactions import Refused, commit, conditional
from tests.faults import dynamodb_fault

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def lead(lead_id: str) -> Lead:
    item = Lead(lead_id=lead_id, created_at=NOW, updated_at=NOW, name="Ann", email="ann@acme.com",
                subject="Hi", message="Hello")
    item.refresh_index_keys()
    return item


def full_window(client: str) -> RateWindow:
    """A rate window already at its limit of 1, so one more hit's condition fails."""
    window = ratelimit.current_window(scope="test", client=client, limit=1, period=60, now=NOW)
    commit(lambda tx: ratelimit.hit_in(tx, window))
    return window


def trashed(lead_id: str) -> TrashedLead:
    return TrashedLead(lead_id=lead_id, deleted_at=NOW, deleted_by="x", name="Ann", email="ann@acme.com",
                       subject="Hi", status="new", item="{}", expires_at=NOW + timedelta(days=1))


def writes(stored: Lead, fresh: Lead, window) -> list:
    """Three writes of three kinds: a put that fails, a put that passes, an update that fails."""
    return [
        lambda tx: tx.save(lead(stored.lead_id), condition=Lead.lead_id.does_not_exist()),
        lambda tx: tx.save(fresh, condition=Lead.lead_id.does_not_exist()),
        lambda tx: ratelimit.hit_in(tx, window),
    ]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_refused_names_the_failed_items_by_table_and_key_whatever_their_order(order):
    stored = lead("a" * 32)
    stored.save()
    window = full_window("c1")
    fresh = lead("b" * 32)
    steps = writes(stored, fresh, window)
    with pytest.raises(Refused) as caught:
        commit(lambda tx: [steps[i](tx) for i in order])
    refused = caught.value
    assert refused.by(stored) and refused.by(RateWindow(window.counter_id))
    assert not refused.by(fresh)
    assert not refused.by(trashed(stored.lead_id))  # the same key in another table is another item
    assert not refused.by(RateWindow("rate#other"))
    assert "ann" not in str(refused)  # no personal data in the message
    with pytest.raises(Lead.DoesNotExist):
        Lead.get(fresh.lead_id)  # all or nothing


def test_refused_by_a_delete_and_an_update_of_items_with_range_or_version():
    stored = lead("d" * 32)
    stored.save()
    stale = Lead.get(stored.lead_id)
    stored.update(actions=[Lead.notes.set("moved on")])  # the copy in `stale` now has an old version
    staff = Staff(email="ann@acme.com", password="x", created_at=NOW)
    staff.save()
    first, second = (HistoryEvent(lead_id=stored.lead_id, event_id=f"e{n}", at=NOW, actor="x", action="y")
                     for n in (1, 2))
    first.save()
    with pytest.raises(Refused) as caught:
        commit(lambda tx: (tx.update(staff, actions=[Staff.name.set("A")], condition=Staff.email.exists()),
                           tx.save(second, condition=HistoryEvent.event_id.does_not_exist()),
                           tx.save(first, condition=HistoryEvent.event_id.does_not_exist()),
                           tx.delete(stale)))
    refused = caught.value
    assert refused.by(stale) and refused.by(first)
    assert not refused.by(staff) and not refused.by(second)  # second: same hash key, another range key


def test_a_single_write_refused_by_its_condition_names_its_item():
    staff = Staff(email="bob@acme.com", password="x", created_at=NOW)
    staff.save()
    with pytest.raises(Refused) as caught:
        with conditional(staff):
            staff.save(condition=Staff.email.does_not_exist())
    assert caught.value.by(staff) and not caught.value.by(Staff(email="eve@acme.com"))


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_retryable_cancellations_run_fill_again_with_a_fresh_token(reason):
    tokens, runs = [], []

    def remember(params, **_):
        tokens.append(params["ClientRequestToken"])

    client = transactions.shared_connection().client
    client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", remember, unique_id="test-tokens")
    try:
        with dynamodb_fault(operations={"TransactWriteItems"}, cancel=reason, times=1) as log:
            commit(lambda tx: runs.append(1) or tx.save(lead("e" * 32)))
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", unique_id="test-tokens")
    assert log.injected == 1 and len(runs) == 2
    assert len(set(tokens)) == 2
    assert Lead.get("e" * 32).name == "Ann"
    assert transactions._sent == {}  # nothing kept once the commit is over


def test_cancellations_past_every_attempt_are_an_outage(settings):
    runs = []
    with dynamodb_fault(operations={"TransactWriteItems"}, cancel="TransactionConflict") as log:
        with pytest.raises(StorageUnavailable):
            commit(lambda tx: runs.append(1) or tx.save(lead("f" * 32)), attempts=3)
    assert len(runs) == 3 and log.injected >= 3


@pytest.mark.parametrize("fault", [dict(code="InternalServerError", status=500), dict(timeout=True),
                                   dict(code="ValidationException")], ids=["500", "timeout", "validation"])
def test_outages_are_storage_unavailable(fault):
    with dynamodb_fault(operations={"TransactWriteItems"}, **fault), pytest.raises(StorageUnavailable):
        commit(lambda tx: tx.save(lead("9" * 32)))
    with pytest.raises(Lead.DoesNotExist):
        Lead.get("9" * 32)
