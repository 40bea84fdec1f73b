"""One person's data: found whole by address (never another's), exported, erased exactly once however often it runs."""
import json
from collections import Counter
from datetime import date, timedelta

import pytest

from leads.domain import erasure, services, subjects
from leads.domain.exceptions import StorageUnavailable
from leads.domain.notifications import delivery_marker_key
from leads.management.maintenance import audit
from leads.storage import internals
from leads.storage.models import (
    ALL_MODELS, ERASED_SUBJECTS, PRIVACY_LOG, STATUSES, DeliveryMarker, ErasedSubject, HistoryEvent, Lead, PrivacyRequest,
    TrashedLead, utcnow,
)
from tests.faults import dynamodb_calls, dynamodb_fault
from tests.helpers import day_count, make_lead, status_count

ADDRESS = "x@acme.com"
SIMILAR = "x@acme.co"  # a prefix of the address: must never be found with it
DAY = date(2026, 11, 1)  # tests.helpers.make_lead stores leads on this day
ADMIN = "boss@example.com"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """botocore's retries of an injected fault, without their sleeps."""
    import botocore.endpoint
    from types import SimpleNamespace

    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda seconds: None))


def edit(lead_id: str, **wanted) -> None:
    lead = Lead.get(lead_id, consistent_read=True)
    services.lead_update(lead_id=lead_id, expected_version=lead.version, actor="sam@example.com", **wanted)


def person(email: str, *, leads: int = 5, trashed: int = 2, long_history: bool = True, edits: bool = True) -> dict:
    """Leads of one address: edited (history), some emailed (markers), some deleted to the trash."""
    ids = [make_lead(email, name="Xavier", subject=f"Enquiry {n}", message=f"Message {n} from {email}")
           for n in range(leads + trashed)]
    if edits:
        edit(ids[0], status="contacted", notes="Called Xavier on his mobile", owner="sam@example.com")
        edit(ids[1], status="qualified")
    if long_history:  # more events than one transaction holds: erased in chunks (written directly: quicker)
        with HistoryEvent.batch_write() as batch:
            for n in range(30):
                batch.save(services.history_event(lead_id=ids[2], actor="sam@example.com", action="changed",
                                                  changes={"notes": [None, f"note {n}"]}, at=utcnow()))
    for lead_id in ids[::2]:
        services.delivery_mark(lead_id=lead_id, expires_at=utcnow() + timedelta(days=1))
    for lead_id in ids[leads:]:
        services.lead_delete(lead_id=lead_id, actor=ADMIN)
    return {"leads": ids[:leads], "trashed": ids[leads:], "all": ids}


def stored_history(lead_ids) -> int:
    return sum(HistoryEvent.count(lead_id, consistent_read=True) for lead_id in lead_ids)


def markers(lead_ids) -> int:
    return sum(DeliveryMarker.count(delivery_marker_key(lead_id), consistent_read=True) for lead_id in lead_ids)


def counts_now() -> dict:
    return {**{status: status_count(status) for status in STATUSES}, "day": day_count(DAY)}


def raw_item(model, *key) -> dict:
    """An item exactly as DynamoDB stores it (every attribute, stored names)."""
    range_key = internals.range_key_attribute(model)
    names = [internals.hash_key_attribute(model).attr_name] + ([range_key.attr_name] if range_key else [])
    client = internals.botocore_client(model)
    return client.get_item(TableName=model.Meta.table_name, ConsistentRead=True,
                           Key={name: {"S": value} for name, value in zip(names, key)})["Item"]


# --- Finding -------------------------------------------------------------------------------------

def test_finds_every_lead_history_event_trashed_lead_and_marker_of_the_address_across_pages():
    mine, other = person(ADDRESS), person(SIMILAR, leads=2, trashed=1, long_history=False)
    data = subjects.subject_find(email="  X@Acme.COM ", page_size=2)  # 5 leads, 2 trashed: several pages each
    assert data.email == ADDRESS
    assert sorted(entry.lead.lead_id for entry in data.leads) == sorted(mine["leads"])
    assert sorted(entry.trashed.lead_id for entry in data.trashed) == sorted(mine["trashed"])
    assert data.counts == {"leads": 5, "trash": 2, "history": stored_history(mine["all"]), "markers": 4}
    assert data.counts["history"] == 7 + 2 + 30 + 2  # created ×7, two edits, 30 notes, deleted ×2
    by_id = {entry.lead.lead_id: entry for entry in data.leads}
    first = by_id[mine["leads"][0]]
    assert (first.lead.notes, first.lead.status, first.lead.owner) == ("Called Xavier on his mobile", "contacted",
                                                                       "sam@example.com")
    assert [event.action for event in first.history] == ["created", "changed"]
    assert first.marker is not None and by_id[mine["leads"][1]].marker is None
    trashed = {entry.trashed.lead_id: entry for entry in data.trashed}[mine["trashed"][0]]
    assert trashed.lead["message"].startswith("Message") and [e.action for e in trashed.history] == ["created", "deleted"]
    # Nothing of the similar address, and nothing of this one when looking for that one.
    found_ids = {e.lead.lead_id for e in data.leads} | {e.trashed.lead_id for e in data.trashed}
    assert not found_ids & set(other["all"])
    assert subjects.subject_find(email=SIMILAR).counts == {"leads": 2, "trash": 1, "history": 6, "markers": 2}
    assert subjects.subject_find(email="nobody@acme.com").empty


def test_the_export_document_holds_every_attribute_of_every_item():
    mine = person(ADDRESS, long_history=False)
    data = subjects.subject_find(email=ADDRESS)
    now = utcnow()
    document = json.loads(json.dumps(subjects.subject_document(data, exported_at=now, exported_by=ADMIN,
                                                               request_id="r-1")))
    assert (document["email"], document["exported_by"], document["request_id"]) == (ADDRESS, ADMIN, "r-1")
    assert document["exported_at"] == Lead.created_at.serialize(now)
    assert document["counts"] == data.counts
    lead = next(entry for entry in document["leads"] if entry["lead"]["lead_id"] == mine["leads"][0])
    assert lead["lead"] == subjects.plain_item(raw_item(Lead, mine["leads"][0]))  # every stored attribute
    assert {"name", "email", "message", "notes", "owner", "status", "created_at", "version"} <= set(lead["lead"])
    assert lead["lead"]["version"] == 2 and lead["lead"]["notes"] == "Called Xavier on his mobile"
    assert [e["action"] for e in lead["history"]] == ["created", "changed"]
    assert lead["history"][1]["changes"]  # as stored (a JSON string)
    assert lead["delivery_marker"]["counter_id"] == delivery_marker_key(mine["leads"][0])
    [trashed] = [t for t in document["trashed_leads"] if t["trashed"]["lead_id"] == mine["trashed"][0]]
    assert trashed["trashed"]["deleted_by"] == ADMIN and "item" not in trashed["trashed"]
    assert trashed["lead"]["message"] == f"Message 5 from {ADDRESS}"  # the lead as it was, decoded
    assert [e["action"] for e in trashed["history"]] == ["created", "deleted"]


# --- Erasing -------------------------------------------------------------------------------------

def assert_erased(mine: dict, other: dict, other_before: dict) -> None:
    data = subjects.subject_find(email=ADDRESS)
    assert data.empty
    assert Lead.count(consistent_read=True) == len(other["leads"])
    assert stored_history(mine["all"]) == 0 and markers(mine["all"]) == 0
    assert not any(TrashedLead.count(lead_id, consistent_read=True) for lead_id in mine["all"])
    assert subjects.subject_find(email=SIMILAR).counts == other_before  # the other address untouched
    assert audit()[1] == []  # every status and day tally agrees with the leads stored


def test_erase_removes_everything_and_keeps_the_counts_exact():
    mine, other = person(ADDRESS), person(SIMILAR, leads=2, trashed=1, long_history=False)
    other_before = subjects.subject_find(email=SIMILAR).counts
    before = counts_now()
    found = subjects.subject_find(email=ADDRESS)
    statuses = Counter(entry.lead.status for entry in found.leads)
    record = erasure.subject_erase(email=ADDRESS.upper(), actor=ADMIN, page_size=2)
    assert (record.kind, record.state, record.actor, record.finished_by, record.runs) == ("erasure", "finished", ADMIN,
                                                                                         ADMIN, 1)
    assert {k: getattr(record, k) for k in ("leads", "history", "trash", "markers")} == found.counts
    assert_erased(mine, other, other_before)
    after = counts_now()
    assert {s: before[s] - after[s] for s in STATUSES} == {s: statuses[s] for s in STATUSES}
    assert before["day"] - after["day"] == 5  # the trashed two were taken off when they were deleted
    assert after["day"] == 2  # the other address's leads


def test_the_audit_record_holds_the_keyed_hash_and_never_the_address():
    person(ADDRESS, long_history=False)
    record = erasure.subject_erase(email=ADDRESS, actor=ADMIN)
    assert record.subject == subjects.subject_hash(ADDRESS) == subjects.subject_hash(" X@acme.com")
    assert record.subject != subjects.subject_hash(SIMILAR) and len(record.subject) == 64
    for item in (raw_item(PrivacyRequest, PRIVACY_LOG, record.request_id),
                 raw_item(ErasedSubject, ERASED_SUBJECTS, record.subject)):
        stored = json.dumps(item).lower()
        assert "x@acme" not in stored and "acme.com" not in stored and "xavier" not in stored
    # "Was this address erased?" without the record holding it.
    assert subjects.subject_erasure(email=ADDRESS).request_id == record.request_id
    assert subjects.subject_erasure(email=SIMILAR) is None
    assert [r.request_id for r in subjects.privacy_requests()] == [record.request_id]


def test_erase_twice_leaves_the_same_state_and_exact_counts():
    mine, other = person(ADDRESS), person(SIMILAR, leads=2, trashed=1, long_history=False)
    other_before = subjects.subject_find(email=SIMILAR).counts
    first = erasure.subject_erase(email=ADDRESS, actor=ADMIN)
    after_first = counts_now()
    second = erasure.subject_erase(email=ADDRESS, actor=ADMIN)
    assert counts_now() == after_first
    assert_erased(mine, other, other_before)
    # The second request is recorded too (someone asked), with nothing left to erase.
    assert second.request_id != first.request_id and second.state == "finished"
    assert (second.leads, second.history, second.trash, second.markers) == (0, 0, 0, 0)
    assert subjects.subject_erasure(email=ADDRESS).request_id == second.request_id
    assert ErasedSubject.get(ERASED_SUBJECTS, first.subject).erasures == 2


def test_an_address_with_nothing_stored_is_recorded_as_such():
    record = erasure.subject_erase(email="nobody@acme.com", actor=ADMIN)
    assert record.state == "finished" and (record.leads, record.history, record.trash, record.markers) == (0, 0, 0, 0)


def wipe() -> None:
    """Empty every table."""
    for model in ALL_MODELS:
        with model.batch_write() as batch:
            for item in model.scan(consistent_read=True):
                batch.delete(item)


def transactions_in_a_clean_erase() -> list[str]:
    """The tables of each TransactWriteItems a fault-free erasure of person(ADDRESS) makes (a rehearsal)."""
    person(ADDRESS)
    with dynamodb_calls() as log:
        erasure.subject_erase(email=ADDRESS, actor=ADMIN, page_size=2)
    wipe()
    return ["+".join(tables) for operation, tables in log.calls if operation == "TransactWriteItems"]


def test_an_erase_cut_short_after_any_transaction_is_finished_by_the_next_run():
    transactions = transactions_in_a_clean_erase()
    # The start; one chunk of the long history (31 events: 24, then 7 go with their lead); five leads; two
    # trashed leads; the finish.
    assert len(transactions) == 10
    for done in range(1, len(transactions)):
        wipe()
        mine, other = person(ADDRESS), person(SIMILAR, leads=2, trashed=1, long_history=False)
        other_before = subjects.subject_find(email=SIMILAR).counts
        expected = subjects.subject_find(email=ADDRESS).counts
        before = counts_now()
        where = f"cut short after {done} transactions, before one on {transactions[done]}"
        with dynamodb_fault(operations={"TransactWriteItems"}, code="InternalServerError", status=500, skip=done):
            with pytest.raises(StorageUnavailable):
                erasure.subject_erase(email=ADDRESS, actor=ADMIN, page_size=2)
        # Half way: the record says so, the counters agree with what is left, and the record's counts too.
        [started] = subjects.privacy_requests()
        assert started.state == "started" and started.finished_at is None, where
        assert audit()[1] == [], where
        left = subjects.subject_find(email=ADDRESS).counts
        assert {k: getattr(started, k) for k in expected} == {k: expected[k] - left[k] for k in expected}, where
        record = erasure.subject_erase(email="x@ACME.com", actor="ann@example.com", page_size=2)
        assert record.request_id == started.request_id and record.runs == 2, where
        assert (record.state, record.actor, record.finished_by) == ("finished", ADMIN, "ann@example.com"), where
        assert {k: getattr(record, k) for k in expected} == expected, where  # exact over both runs
        assert_erased(mine, other, other_before)
        assert before["day"] - counts_now()["day"] == 5, where
        assert len(subjects.privacy_requests()) == 1, where


def test_a_lead_edited_during_the_erase_is_read_again_and_erased(monkeypatch):
    mine = person(ADDRESS, leads=1, trashed=0, long_history=False, edits=False)
    edit(mine["leads"][0], status="contacted")
    original = erasure._history_leaving
    edited = []

    def edit_first(lead_id, request, keep):
        if not edited:  # someone saves the lead between the erasure's read and its delete
            edited.append(lead_id)
            edit(lead_id, status="lost")
        return original(lead_id, request, keep)

    monkeypatch.setattr(erasure, "_history_leaving", edit_first)
    record = erasure.subject_erase(email=ADDRESS, actor=ADMIN)
    assert record.leads == 1 and record.history == 3  # created, contacted, and the edit made meanwhile
    assert Lead.count(mine["leads"][0], consistent_read=True) == 0
    assert audit()[1] == [] and status_count("lost") == 0 and status_count("contacted") == 0


def test_a_trashed_lead_restored_during_the_erase_is_erased_as_a_lead(monkeypatch):
    mine = person(ADDRESS, leads=0, trashed=1, long_history=False, edits=False)
    original = erasure._history_leaving
    restored = []

    def restore_first(lead_id, request, keep):
        if not restored:
            restored.append(lead_id)
            services.lead_restore(lead_id=lead_id, actor=ADMIN)
        return original(lead_id, request, keep)

    monkeypatch.setattr(erasure, "_history_leaving", restore_first)
    record = erasure.subject_erase(email=ADDRESS, actor=ADMIN)
    assert (record.leads, record.trash, record.history) == (1, 0, 3)  # created, deleted, restored
    assert subjects.subject_find(email=ADDRESS).empty and stored_history(mine["all"]) == 0
    assert audit()[1] == [] and day_count(DAY) == 0
