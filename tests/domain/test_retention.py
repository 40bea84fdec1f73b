"""Retention (LEADS_RETENTION_DAYS): every activity moves a lead's TTL, and what derives from it follows.

DynamoDB's TTL itself (the removal, typically days later) is not something moto or DynamoDB Local do:
these tests check the expiries written; tests/management/test_ttl_removal.py models the removal.
"""
import json
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from leads.domain import retention, services
from leads.domain.exceptions import LeadConflict, StorageUnavailable
from leads.storage.models import HistoryEvent, Lead, TrashedLead
from tests import helpers

DAYS = 90
# Tomorrow, 09:30 UTC: expiries measured from it lie ahead, as they would in use. (DynamoDB Local runs TTL
# for real, removing an item whose expiry has passed within seconds; moto never does.)
SUBMITTED = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=30, second=0, microsecond=0)
ACTOR = "sam@example.com"


class Clock:
    """The services' idea of now, moved by the test."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(SUBMITTED)
    monkeypatch.setattr(services, "utcnow", clock)
    return clock


@pytest.fixture
def retained(settings):
    settings.LEADS_RETENTION_DAYS = DAYS
    return DAYS


# This module's retention, unless a test names another.
midnight_after = partial(helpers.midnight_after, days=DAYS)


def submit(clock, lead_id="a" * 32, email="ann@acme.com"):
    services.lead_submit(lead_id=lead_id, name="Ann", email=email, subject="Hi", message="Hello", now=clock.now)
    return lead_id


def stored(lead_id) -> Lead:
    return Lead.get(lead_id, consistent_read=True)


def history(lead_id) -> list[HistoryEvent]:
    return list(HistoryEvent.query(lead_id, consistent_read=True))


def raw(model, *key) -> dict:
    """The item as DynamoDB holds it (attribute name → DynamoDB JSON), read consistently."""
    return model.get(*key, consistent_read=True).serialize()


# --- The arithmetic ------------------------------------------------------------------------------------

def test_expiry_is_n_days_later_rounded_up_to_the_next_utc_midnight(retained):
    assert retention.expiry(datetime(2026, 11, 1, 9, 30, tzinfo=UTC)) == datetime(2027, 1, 31, tzinfo=UTC)
    assert retention.expiry(datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC)) == datetime(2027, 1, 31, tzinfo=UTC)
    # Exactly midnight stays: never sooner than N days, never a day more than needed.
    assert retention.expiry(datetime(2026, 11, 1, tzinfo=UTC)) == datetime(2027, 1, 30, tzinfo=UTC)
    # Any time zone in, UTC midnight out.
    from zoneinfo import ZoneInfo
    assert retention.expiry(datetime(2026, 11, 1, 23, 30, tzinfo=ZoneInfo("America/New_York"))) == \
        datetime(2027, 2, 1, tzinfo=UTC)


def test_off_means_no_expiry(settings):
    settings.LEADS_RETENTION_DAYS = 0
    assert retention.expiry(SUBMITTED) is None
    assert retention.trash_expiry(SUBMITTED, trash_days=30) == SUBMITTED + timedelta(days=30)
    assert retention.keeping(None, now=SUBMITTED) is None


def test_the_trash_copy_expires_at_the_earlier_of_the_trash_period_and_retention(settings):
    deleted = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    settings.LEADS_RETENTION_DAYS = 7
    assert retention.trash_expiry(deleted, trash_days=30) == datetime(2026, 11, 9, tzinfo=UTC)
    settings.LEADS_RETENTION_DAYS = 365
    assert retention.trash_expiry(deleted, trash_days=30) == deleted + timedelta(days=30)


# --- Every activity sets or moves the expiry ---------------------------------------------------------

def test_a_submitted_lead_and_its_history_expire_n_days_later(retained, clock):
    lead_id = submit(clock)
    lead = stored(lead_id)
    assert lead.expires_at == midnight_after(SUBMITTED)
    assert lead.expires_at == datetime.combine(SUBMITTED.date() + timedelta(days=DAYS + 1), datetime.min.time(), UTC)
    assert lead.history_expires_at == lead.expires_at
    [created] = history(lead_id)
    assert created.expires_at == lead.expires_at
    # DynamoDB's TTL reads a Number of epoch seconds.
    assert raw(Lead, lead_id)["expires_at"] == {"N": str(int(lead.expires_at.timestamp()))}


def test_edits_on_the_same_day_leave_the_expiry_and_the_history_alone(retained, clock):
    lead_id = submit(clock)
    clock.advance(hours=10)  # 19:30, the same UTC day
    services.lead_update(lead_id=lead_id, expected_version=1, actor=ACTOR, status="contacted")
    lead = stored(lead_id)
    assert lead.expires_at == midnight_after(SUBMITTED)
    assert {event.expires_at for event in history(lead_id)} == {lead.expires_at}


@pytest.mark.parametrize("edit", ["status", "notes", "owner", "bulk status"])
def test_each_edit_on_a_later_day_moves_the_expiry_and_carries_the_history_forward(retained, clock, edit):
    lead_id = submit(clock)
    services.lead_update(lead_id=lead_id, expected_version=1, actor=ACTOR, notes="first call")
    edited = clock.advance(days=3)
    if edit == "bulk status":
        result = services.lead_bulk_set_status(lead_ids=[lead_id], status="qualified", actor=ACTOR)
        assert result.done == [lead_id]
    else:
        services.lead_update(lead_id=lead_id, expected_version=2, actor=ACTOR,
                             **{edit: {"status": "contacted", "notes": "second call", "owner": ACTOR}[edit]})
    lead = stored(lead_id)
    assert lead.expires_at == midnight_after(edited) == midnight_after(SUBMITTED) + timedelta(days=3)
    assert lead.history_expires_at == lead.expires_at
    events = history(lead_id)
    assert len(events) == 3
    assert all(event.expires_at == lead.expires_at for event in events)


def test_the_history_of_a_lead_stored_before_retention_was_on_is_carried_on_its_first_write(settings, clock):
    settings.LEADS_RETENTION_DAYS = 0
    lead_id = submit(clock)
    services.lead_update(lead_id=lead_id, expected_version=1, actor=ACTOR, notes="before")
    assert "expires_at" not in raw(Lead, lead_id)
    settings.LEADS_RETENTION_DAYS = DAYS
    edited = clock.advance(days=1)
    services.lead_update(lead_id=lead_id, expected_version=2, actor=ACTOR, notes="after")
    lead = stored(lead_id)
    assert lead.expires_at == midnight_after(edited)
    assert [event.expires_at for event in history(lead_id)] == [lead.expires_at] * 3


def test_delete_is_activity_the_trash_copy_never_outlives_the_lead_and_the_history_outlives_the_copy(settings, clock):
    settings.LEADS_RETENTION_DAYS = 10
    lead_id = submit(clock)
    deleted = clock.advance(days=5)
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    trashed = TrashedLead.get(lead_id, consistent_read=True)
    # Ten days of retention from the deletion, sooner than the trash's 30 days.
    assert trashed.expires_at == midnight_after(deleted, days=10) == midnight_after(SUBMITTED, days=15)
    events = history(lead_id)
    assert [event.action for event in events] == ["created", "deleted"]
    assert all(event.expires_at >= trashed.expires_at for event in events)


def test_with_long_retention_the_trash_copy_keeps_its_thirty_days(retained, clock):
    assert retained > services.TRASH_DAYS
    lead_id = submit(clock)
    deleted = clock.advance(days=1)
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    trashed = TrashedLead.get(lead_id, consistent_read=True)
    assert trashed.expires_at == deleted.replace(microsecond=0) + timedelta(days=services.TRASH_DAYS)
    assert all(event.expires_at >= trashed.expires_at for event in history(lead_id))


def test_restore_sets_the_expiry_afresh_and_carries_the_history(settings, clock):
    settings.LEADS_RETENTION_DAYS = 10
    lead_id = submit(clock)
    clock.advance(days=2)
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    restored = clock.advance(days=3)
    services.lead_restore(lead_id=lead_id, actor="boss@example.com")
    lead = stored(lead_id)
    assert lead.expires_at == midnight_after(restored, days=10)
    assert lead.history_expires_at == lead.expires_at
    events = history(lead_id)
    assert [event.action for event in events] == ["created", "deleted", "restored"]
    assert all(event.expires_at == lead.expires_at for event in events)


def test_no_event_is_lowered_when_the_retention_is_shortened(settings, clock):
    settings.LEADS_RETENTION_DAYS = 365
    lead_id = submit(clock)
    long_expiry = stored(lead_id).expires_at
    settings.LEADS_RETENTION_DAYS = 30
    edited = clock.advance(days=1)
    services.lead_update(lead_id=lead_id, expected_version=1, actor=ACTOR, notes="shorter now")
    lead = stored(lead_id)
    assert lead.expires_at == midnight_after(edited, days=30)
    created, changed = history(lead_id)
    assert created.expires_at == long_expiry  # later than the lead's: kept, never lowered
    assert changed.expires_at == lead.expires_at


def test_carrying_forward_never_lowers_an_event_kept_longer(retained, clock):
    lead_id = submit(clock)
    events = history(lead_id)
    later = midnight_after(SUBMITTED) + timedelta(days=400)
    events[0].update(actions=[HistoryEvent.expires_at.set(later)])
    # The lead's record says nothing about its history (as for a lead stored before retention was on).
    stored(lead_id).update(actions=[Lead.history_expires_at.remove()])  # version 2
    edited = clock.advance(days=2)
    services.lead_update(lead_id=lead_id, expected_version=2, actor=ACTOR, notes="called")
    created, changed = history(lead_id)
    assert created.expires_at == later
    assert changed.expires_at == stored(lead_id).history_expires_at == midnight_after(edited)


# --- A failure half way through carrying the history forward ----------------------------------------

def test_a_failure_half_way_leaves_no_event_expiring_before_the_lead_and_the_next_write_finishes(retained, clock, monkeypatch):
    lead_id = submit(clock)
    for n in range(4):
        services.lead_update(lead_id=lead_id, expected_version=n + 1, actor=ACTOR, notes=f"note {n}")
    old_expiry = stored(lead_id).expires_at
    moved = clock.advance(days=2)

    real_update = HistoryEvent.update
    calls = []

    def failing_update(self, *args, **kwargs):
        calls.append(self.event_id)
        if len(calls) == 3:
            raise StorageUnavailable("the network went away")
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(HistoryEvent, "update", failing_update)
    with pytest.raises(StorageUnavailable):
        services.lead_update(lead_id=lead_id, expected_version=5, actor=ACTOR, status="lost")
    # Nothing of the edit was written; some events were carried, none expires before the lead.
    lead = stored(lead_id)
    assert (lead.status, lead.version, lead.expires_at, lead.history_expires_at) == ("new", 5, old_expiry, old_expiry)
    expiries = [event.expires_at for event in history(lead_id)]
    assert expiries.count(midnight_after(moved)) == 2 and all(expiry >= lead.expires_at for expiry in expiries)

    monkeypatch.setattr(HistoryEvent, "update", real_update)
    services.lead_update(lead_id=lead_id, expected_version=5, actor=ACTOR, status="lost")
    lead = stored(lead_id)
    assert lead.expires_at == lead.history_expires_at == midnight_after(moved)
    assert [event.expires_at for event in history(lead_id)] == [lead.expires_at] * 6


# --- Keep for another N days ----------------------------------------------------------------------------

def test_extend_keeps_the_lead_from_now_writes_an_event_and_carries_the_history(retained, clock):
    lead_id = submit(clock)
    extended = clock.advance(days=40)
    lead, changed = services.lead_retention_extend(lead_id=lead_id, actor=ACTOR)
    assert changed
    assert lead.expires_at == midnight_after(extended)
    stored_lead = stored(lead_id)
    assert (stored_lead.expires_at, stored_lead.history_expires_at, stored_lead.version) == \
        (midnight_after(extended), midnight_after(extended), 2)
    created, kept = history(lead_id)
    assert kept.action == "extended retention" and kept.actor == ACTOR and kept.version == 2
    label = "%Y-%m-%d 00:00 UTC"
    assert json.loads(kept.changes) == {"kept until": [midnight_after(SUBMITTED).strftime(label),
                                                       midnight_after(extended).strftime(label)]}
    assert created.expires_at == kept.expires_at == stored_lead.expires_at


def test_extend_on_the_day_of_the_last_activity_writes_nothing(retained, clock):
    lead_id = submit(clock)
    clock.advance(hours=1)
    lead, changed = services.lead_retention_extend(lead_id=lead_id, actor=ACTOR)
    assert not changed and lead.version == 1
    assert len(history(lead_id)) == 1


def test_extend_never_overwrites_a_concurrent_edit(retained, clock, monkeypatch):
    lead_id = submit(clock)
    clock.advance(days=3)
    real_get = services.lead_get

    def raced_get(**kwargs):
        lead = real_get(**kwargs)
        monkeypatch.setattr(services, "lead_get", real_get)
        services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status="converted",
                             notes="The boss's note")
        return lead  # still version 1

    monkeypatch.setattr(services, "lead_get", raced_get)
    with pytest.raises(LeadConflict):
        services.lead_retention_extend(lead_id=lead_id, actor=ACTOR)
    lead = stored(lead_id)
    assert (lead.status, lead.notes, lead.version) == ("converted", "The boss's note", 2)
    assert [event.action for event in history(lead_id)] == ["created", "changed"]


# --- Retention off: nothing expires -------------------------------------------------------------------

def test_with_retention_off_no_expiry_is_written_anywhere(settings, clock):
    settings.LEADS_RETENTION_DAYS = 0
    lead_id = submit(clock)
    services.lead_update(lead_id=lead_id, expected_version=1, actor=ACTOR, status="contacted")
    services.lead_bulk_set_status(lead_ids=[lead_id], status="lost", actor=ACTOR)
    deleted = clock.advance(days=1)
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    trashed = raw(TrashedLead, lead_id)
    assert trashed["expires_at"] == {"N": str(int((deleted + timedelta(days=services.TRASH_DAYS)).timestamp()))}
    assert "expires_at" not in json.loads(trashed["item"]["S"])
    services.lead_restore(lead_id=lead_id, actor="boss@example.com")
    item = raw(Lead, lead_id)
    assert "expires_at" not in item and "history_expires_at" not in item
    events = [event.serialize() for event in history(lead_id)]
    assert len(events) == 5 and not any("expires_at" in event for event in events)
