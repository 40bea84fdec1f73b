"""Follow-ups: a date (and time) in the staff member's zone, kept in UTC, and the lists per owner on due-index."""
import json
from datetime import date, datetime, time, timedelta, timezone

import pytest

from leads.domain import followups, selectors, services
from leads.domain.exceptions import BadCursor, LeadConflict
from leads.storage.models import UNASSIGNED, DeliveryMarker, HistoryEvent, Lead
from tests.helpers import make_lead

UTC = timezone.utc
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def set_due(lead_id, due_at, *, all_day=None, actor="sam@example.com"):
    lead = selectors.lead_get(lead_id=lead_id)
    return services.lead_update(lead_id=lead_id, expected_version=lead.version, actor=actor,
                                due_at=due_at, due_all_day=all_day)


def set_owner(lead_id, owner):
    lead = selectors.lead_get(lead_id=lead_id)
    return services.lead_update(lead_id=lead_id, expected_version=lead.version, actor="boss@example.com", owner=owner)


def listed(view, owner, zone="Europe/Berlin", now=NOW):
    return [lead.lead_id for lead in followups.follow_up_list(view=view, owner=owner, zone=zone, now=now).leads]


def test_a_date_and_time_are_read_in_the_zone_and_kept_in_utc():
    assert followups.due_moment(day=date(2026, 12, 2), at=time(14, 30), zone="Europe/Berlin") == \
        datetime(2026, 12, 2, 13, 30, tzinfo=UTC)
    assert followups.due_moment(day=date(2026, 7, 2), at=time(14, 30), zone="Europe/Berlin") == \
        datetime(2026, 7, 2, 12, 30, tzinfo=UTC)  # summer time
    # Without a time: due by the end of that day there.
    assert followups.due_moment(day=date(2026, 12, 2), at=None, zone="America/New_York") == \
        datetime(2026, 12, 3, 4, 59, 59, 999999, tzinfo=UTC)


def test_a_day_is_its_own_length_in_its_zone():
    start, end = followups.day_bounds(day=date(2026, 3, 29), zone="Europe/Berlin")  # clocks go forward
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=23) - timedelta(microseconds=1)


def test_setting_a_follow_up_is_one_versioned_write_with_its_history_entry():
    lead_id = make_lead()
    due = datetime(2026, 12, 2, 13, 30, tzinfo=UTC)
    lead, changes = set_due(lead_id, due)
    assert changes == {"due_at": (None, due)}
    stored = selectors.lead_get(lead_id=lead_id)
    assert (stored.due_at, stored.due_all_day, stored.due_owner, stored.version) == (due, None, UNASSIGNED, 2)
    [changed] = [e for e in HistoryEvent.query(lead_id) if e.action == "changed"]
    assert json.loads(changed.changes) == {"due_at": [None, "2026-12-02T13:30:00.000000Z"]}
    assert changed.actor == "sam@example.com"


def test_a_stale_version_is_a_conflict_and_writes_nothing():
    lead_id = make_lead()
    with pytest.raises(LeadConflict):
        services.lead_update(lead_id=lead_id, expected_version=7, actor="sam@example.com", due_at=NOW)
    assert selectors.lead_get(lead_id=lead_id).due_at is None


def test_the_lists_are_per_owner_and_split_today_from_overdue():
    mine, yesterday, theirs, unowned, tomorrow, later_today = (make_lead(f"p{n}@acme.example") for n in range(6))
    for lead_id in (mine, yesterday, tomorrow, later_today):
        set_owner(lead_id, "sam@example.com")
    set_owner(theirs, "nia@example.com")
    set_due(mine, datetime(2026, 12, 2, 8, 0, tzinfo=UTC))  # 09:00 Berlin today: due today, and overdue
    set_due(yesterday, datetime(2026, 12, 1, 22, 59, 59, 999999, tzinfo=UTC), all_day=True)
    set_due(theirs, datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    set_due(unowned, datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    set_due(tomorrow, datetime(2026, 12, 2, 23, 0, tzinfo=UTC))  # 00:00 Berlin tomorrow
    set_due(later_today, datetime(2026, 12, 2, 22, 59, 59, 999999, tzinfo=UTC), all_day=True)
    assert listed("today", "sam@example.com") == [mine, later_today]
    assert listed("overdue", "sam@example.com") == [yesterday, mine]
    assert listed("today", "nia@example.com") == [theirs]
    assert listed("today", None) == [unowned] and listed("overdue", None) == []
    # In New York it is still 04:00 on Dec 2: a different "today".
    assert listed("today", "sam@example.com", zone="America/New_York") == [mine, later_today, tomorrow]


def test_a_new_owner_clearing_and_deleting_move_it_out_of_the_lists():
    lead_id = make_lead()
    set_due(lead_id, datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    assert listed("today", None) == [lead_id]
    set_owner(lead_id, "sam@example.com")
    assert listed("today", None) == [] and listed("today", "sam@example.com") == [lead_id]
    set_due(lead_id, None)
    assert listed("today", "sam@example.com") == []
    assert selectors.lead_get(lead_id=lead_id).due_owner is None
    set_due(lead_id, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert listed("overdue", "sam@example.com") == [lead_id]
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    assert listed("overdue", "sam@example.com") == []
    services.lead_restore(lead_id=lead_id, actor="boss@example.com")  # comes back as it was
    assert listed("overdue", "sam@example.com") == [lead_id]


def test_an_edit_of_status_or_notes_keeps_the_follow_up():
    lead_id = make_lead()
    set_due(lead_id, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    lead = selectors.lead_get(lead_id=lead_id)
    services.lead_update(lead_id=lead_id, expected_version=lead.version, actor="sam@example.com",
                         status="contacted", notes="Called", owner=None)
    assert listed("overdue", None) == [lead_id]


def test_pages_follow_signed_cursors_both_ways():
    ids = [make_lead(f"p{n}@acme.example") for n in range(7)]
    for n, lead_id in enumerate(ids):
        set_due(lead_id, datetime(2026, 11, 20, 8, n, tzinfo=UTC))
    first = followups.follow_up_list(view="overdue", owner=None, zone="UTC", page_size=3, now=NOW)
    assert [lead.lead_id for lead in first.leads] == ids[:3] and first.is_first and first.previous_cursor is None
    second = followups.follow_up_list(view="overdue", owner=None, zone="UTC", page_size=3, now=NOW,
                                      cursor=first.next_cursor)
    assert [lead.lead_id for lead in second.leads] == ids[3:6]
    third = followups.follow_up_list(view="overdue", owner=None, zone="UTC", page_size=3, now=NOW,
                                     cursor=second.next_cursor)
    assert [lead.lead_id for lead in third.leads] == ids[6:] and third.next_cursor is None
    back = followups.follow_up_list(view="overdue", owner=None, zone="UTC", page_size=3, now=NOW,
                                    cursor=third.previous_cursor)
    assert [lead.lead_id for lead in back.leads] == ids[3:6]
    with pytest.raises(BadCursor):  # a cursor of one owner's list is refused by another's
        followups.follow_up_list(view="overdue", owner="sam@example.com", zone="UTC", now=NOW, cursor=first.next_cursor)
    with pytest.raises(BadCursor):
        followups.follow_up_list(view="today", owner=None, zone="UTC", now=NOW, cursor=first.next_cursor)


def test_the_digest_is_one_query_of_everything_due_by_the_end_of_today():
    ids = [make_lead(f"p{n}@acme.example") for n in range(3)]
    for lead_id in ids:
        set_owner(lead_id, "sam@example.com")
    set_due(ids[0], datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    set_due(ids[1], datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    set_due(ids[2], datetime(2026, 12, 3, 15, 0, tzinfo=UTC))
    digest = followups.digest_for(owner="sam@example.com", zone="Europe/Berlin", now=NOW)
    assert [lead.lead_id for lead in digest.overdue] == [ids[0]]
    assert [lead.lead_id for lead in digest.today] == [ids[1]] and not digest.more
    assert not followups.digest_for(owner="nia@example.com", zone="Europe/Berlin", now=NOW)


def test_a_digest_is_claimed_once_a_day_and_can_be_given_back():
    key = followups.digest_marker_key(owner="sam@example.com", day=date(2026, 12, 2))
    assert "sam" not in key  # no address in the counters table
    assert services.digest_claim(key=key, expires_at=NOW + timedelta(days=3))
    assert not services.digest_claim(key=key, expires_at=NOW + timedelta(days=3))
    services.digest_release(key=key)
    assert services.digest_claim(key=key, expires_at=NOW + timedelta(days=3))
    assert DeliveryMarker.get(key).expires_at == NOW + timedelta(days=3)


def test_a_list_that_ends_on_a_page_boundary_offers_no_next_page():
    """Four overdue follow-ups, two a page: the second page is the last, with no "Next" to an empty third."""
    for n in range(4):
        set_due(make_lead(name=f"Lead {n}"), NOW - timedelta(days=n + 1))
    first = followups.follow_up_list(view=followups.OVERDUE, owner=None, zone="UTC", now=NOW, page_size=2)
    assert len(first.leads) == 2 and first.next_cursor
    second = followups.follow_up_list(view=followups.OVERDUE, owner=None, zone="UTC", now=NOW, page_size=2,
                                      cursor=first.next_cursor)
    assert len(second.leads) == 2 and second.next_cursor is None and second.previous_cursor
