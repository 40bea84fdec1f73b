"""Response time: first_response_at is set once, in the change's transaction, and the rollups stay exact
through every write that answers, removes or brings back a lead (leads.domain.response_time)."""
from datetime import timedelta

import pytest

from leads.domain import response_time, selectors, services
from leads.domain.erasure import subject_erase
from leads.domain.exceptions import LeadConflict, StorageUnavailable
from leads.storage import dynamodb
from leads.storage.models import Lead, utcnow
from tests.faults import dynamodb_fault
from tests.helpers import leads_audit, make_lead, status_count

ACTOR = "sam@example.com"


def stats(now=None):
    """The dashboard's response-time numbers, as a staff member would see them now."""
    return selectors.dashboard(now=now).response


def this_week(now=None):
    return stats(now).weeks[-1]


def answer(lead_id, status="contacted"):
    lead = Lead.get(lead_id, consistent_read=True)
    return services.lead_update(lead_id=lead_id, expected_version=lead.version, actor=ACTOR, status=status)[0]


def ago(**delta):
    return utcnow() - timedelta(**delta)


def stored_as(lead_id, **attributes):
    """Write string attributes onto a lead behind PynamoDB's back (no version bump): data as older code left it."""
    names = {f"#{name}": name for name in attributes}
    values = {f":{name}": {"S": value} for name, value in attributes.items()}
    dynamodb.shared_connection().client.update_item(
        TableName=Lead.Meta.table_name, Key={"lead_id": {"S": lead_id}}, ExpressionAttributeNames=names,
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in attributes), ExpressionAttributeValues=values)


# --- first_response_at ------------------------------------------------------------------------------

def test_leaving_new_records_the_first_response_once():
    lead_id = make_lead(when=ago(hours=3, minutes=12))
    before = utcnow()
    answered = answer(lead_id)
    stored = Lead.get(lead_id, consistent_read=True)
    assert stored.first_response_at == answered.first_response_at and stored.first_response_at >= before
    first = stored.first_response_at
    answer(lead_id, "qualified")
    answer(lead_id, "new")  # back to New: answered already, so not waiting again
    answer(lead_id, "lost")
    assert Lead.get(lead_id, consistent_read=True).first_response_at == first
    week = this_week()
    assert week.answered == 1 and week.median == response_time.Percentile(3 * 3600, 4 * 3600)
    assert stats().waiting == 0


def test_an_edit_that_keeps_the_status_records_no_response():
    lead_id = make_lead(when=ago(hours=1))
    services.lead_update(lead_id=lead_id, expected_version=1, actor=ACTOR, notes="Called, no answer")
    assert Lead.get(lead_id, consistent_read=True).first_response_at is None
    assert (stats().waiting, this_week().answered) == (1, 0)


def test_the_first_response_is_never_overwritten_by_a_writer_that_missed_it():
    """A reply (or any writer) that set first_response_at without the page seeing it: the status change is refused."""
    lead_id = make_lead(when=ago(hours=2))
    stale = Lead.get(lead_id, consistent_read=True)
    earlier = ago(hours=1)
    stored_as(lead_id, first_response_at=Lead.first_response_at.serialize(earlier))  # no version bump: the condition alone
    with pytest.raises(LeadConflict):
        services.lead_update(lead_id=lead_id, expected_version=1, actor=ACTOR, current=stale, status="contacted")
    stored = Lead.get(lead_id, consistent_read=True)
    assert stored.first_response_at == earlier and stored.status == "new"


def test_a_lead_that_left_new_before_response_times_were_recorded_gets_none():
    lead_id = make_lead(when=ago(days=3))
    stored_as(lead_id, status="contacted")  # as stored before this feature
    assert response_time.first_response(lead=Lead.get(lead_id), at=utcnow()) is None


def test_a_failed_transaction_records_nothing():
    lead_id = make_lead(when=ago(hours=30))
    with dynamodb_fault(operations={"TransactWriteItems"}), pytest.raises(StorageUnavailable):
        answer(lead_id)
    assert Lead.get(lead_id, consistent_read=True).first_response_at is None
    assert (stats().waiting, stats().waiting_over_a_day, this_week().answered) == (1, 1, 0)


def test_a_transaction_conflict_retries_and_counts_the_response_once():
    lead_id = make_lead(when=ago(hours=30))
    with dynamodb_fault(operations={"TransactWriteItems"}, cancel="TransactionConflict", times=1) as log:
        answer(lead_id)
    assert log.injected == 1
    assert (stats().waiting, stats().waiting_over_a_day, this_week().answered) == (0, 0, 1)


# --- Percentiles from the histogram -----------------------------------------------------------------

def test_median_and_90th_percentile_are_read_off_the_buckets():
    # Ten leads answered now after 10½ min … 100½ min: nearest rank 5 is 50½ min, rank 9 is 90½ min.
    for minutes in range(10, 101, 10):
        answer(make_lead(when=ago(minutes=minutes, seconds=30)))
    week = this_week()
    assert week.answered == 10
    assert week.median == response_time.Percentile(45 * 60, 3600)
    assert week.p90 == response_time.Percentile(90 * 60, 2 * 3600)


def test_a_lead_answered_after_30_hours_counts_in_the_36_hour_bucket_and_stops_waiting():
    lead_id = make_lead(when=ago(hours=30))
    assert (stats().waiting, stats().waiting_over_a_day) == (1, 1)
    answer(lead_id)
    assert (stats().waiting, stats().waiting_over_a_day) == (0, 0)
    assert this_week().median == response_time.Percentile(24 * 3600, 36 * 3600)


@pytest.mark.parametrize("counts, share, bucket", [
    ([1], 0.5, 0), ([0, 1, 1], 0.5, 1), ([0, 1, 1], 0.9, 2), ([5] + [0] * 28 + [5], 0.9, 29), ([0, 0], 0.5, None),
])
def test_percentile_nearest_rank(counts, share, bucket):
    expected = None if bucket is None else response_time.Percentile(*response_time.bucket_range(bucket))
    assert response_time.percentile(counts, share) == expected


def test_bucket_bounds_are_rising_and_at_most_twice_the_one_before():
    bounds = response_time.BOUNDS
    assert all(lower < upper <= 2 * lower for lower, upper in zip(bounds, bounds[1:]))
    assert response_time.bucket_of(59) == 0 and response_time.bucket_of(60) == 1
    assert response_time.bucket_of(31 * 86400) == len(bounds)


def test_weeks_are_utc_weeks_and_twelve_are_shown():
    now = utcnow()
    weeks = stats(now).weeks
    assert len(weeks) == 12 and weeks[-1].monday == (now - timedelta(days=now.weekday())).date()
    assert all(later.monday - earlier.monday == timedelta(weeks=1) for earlier, later in zip(weeks, weeks[1:]))


def test_a_response_from_an_earlier_week_stays_in_that_week():
    lead_id = make_lead(when=ago(days=20))
    stored_as(lead_id, first_response_at=Lead.first_response_at.serialize(ago(days=19)), status="contacted")
    # Counted as answering would have counted it then, through the one function that counts a lead in.
    lead = Lead.get(lead_id, consistent_read=True)
    from leads.storage.transactions import commit

    commit(lambda tx: response_time.count_in(tx, lead, 1, now=utcnow()))
    weeks = {week.monday: week.answered for week in stats().weeks}
    assert weeks[response_time.week_of(lead.first_response_at)] == 1 and sum(weeks.values()) == 1


# --- Waiting more than 24 hours ---------------------------------------------------------------------

def test_waiting_more_than_a_day_counts_only_leads_past_24_hours():
    make_lead(when=ago(hours=26))
    make_lead(when=ago(hours=23))
    make_lead(when=ago(minutes=5))
    make_lead(when=ago(days=10))
    result = stats()
    assert (result.waiting, result.waiting_over_a_day) == (4, 2)


def test_a_lead_joins_the_count_between_24_and_25_hours_after_it_arrived():
    arrived = response_time.hour_of(utcnow()) + timedelta(minutes=30)  # half past the current hour
    make_lead(when=arrived)
    assert stats(now=arrived + timedelta(hours=24, minutes=29)).waiting_over_a_day == 0
    assert stats(now=arrived + timedelta(hours=24, minutes=31)).waiting_over_a_day == 1


def test_delete_restore_and_bulk_changes_keep_the_waiting_count_right():
    old = [make_lead(f"old{n}@acme.com", when=ago(hours=30 + n)) for n in range(3)]
    fresh = make_lead("fresh@acme.com", when=ago(hours=1))
    assert (stats().waiting, stats().waiting_over_a_day) == (4, 3)
    services.lead_delete(lead_id=old[0], actor=ACTOR)
    services.lead_delete(lead_id=fresh, actor=ACTOR)
    assert (stats().waiting, stats().waiting_over_a_day) == (2, 2)
    services.lead_restore(lead_id=old[0], actor=ACTOR)
    services.lead_restore(lead_id=fresh, actor=ACTOR)
    assert (stats().waiting, stats().waiting_over_a_day) == (4, 3)
    result = services.lead_bulk_set_status(lead_ids=old[:2] + [fresh], status="qualified", actor=ACTOR)
    assert len(result.done) == 3
    assert (stats().waiting, stats().waiting_over_a_day) == (1, 1)
    assert this_week().answered == 3
    assert all(Lead.get(i, consistent_read=True).first_response_at for i in old[:2] + [fresh])


def test_deleting_an_answered_lead_takes_its_response_out_and_a_restore_brings_it_back():
    lead_id = make_lead(when=ago(hours=2))
    answer(lead_id)
    services.lead_delete(lead_id=lead_id, actor=ACTOR)
    assert this_week().answered == 0
    restored = services.lead_restore(lead_id=lead_id, actor=ACTOR)
    assert restored.first_response_at is not None and this_week().answered == 1


def test_erasure_takes_waiting_and_answered_leads_out():
    make_lead("gone@acme.com", when=ago(hours=40))
    answer(make_lead("gone@acme.com", when=ago(hours=3)))
    make_lead("stays@acme.com", when=ago(hours=50))
    subject_erase(email="gone@acme.com", actor="boss@example.com")
    result = stats()
    assert (result.waiting, result.waiting_over_a_day, result.weeks[-1].answered) == (1, 1, 0)


def test_retention_expiry_takes_the_lead_out():
    waiting = make_lead("a@acme.com", when=ago(hours=30))
    answered_id = make_lead("b@acme.com", when=ago(hours=5))
    answer(answered_id)
    for lead_id in (waiting, answered_id):
        lead = Lead.get(lead_id, consistent_read=True)
        lead.expires_at = utcnow()
        assert services.lead_expired(lead=lead)
        assert not services.lead_expired(lead=lead)  # a redelivered stream record changes nothing
    result = stats()
    assert (result.waiting, result.waiting_over_a_day, result.weeks[-1].answered) == (0, 0, 0)


def test_the_audit_agrees_with_the_rollups_after_all_of_it():
    ids = [make_lead(f"p{n}@acme.com", when=ago(hours=n * 7)) for n in range(6)]
    answer(ids[1])
    services.lead_bulk_set_status(lead_ids=ids[2:4], status="lost", actor=ACTOR)
    services.lead_delete(lead_id=ids[4], actor=ACTOR)
    services.lead_delete(lead_id=ids[2], actor=ACTOR)
    services.lead_restore(lead_id=ids[2], actor=ACTOR)
    code, out = leads_audit()
    assert code == 0, out
    assert status_count("new") == 2


def test_a_reply_that_keeps_the_status_records_the_first_response_with_the_same_function():
    """The contract for other writers (a reply from the lead page): first_response gives the lead's actions and
    condition and the rollups; the writer commits them with its own change, passing its status adds (if any)."""
    from leads.storage.transactions import commit

    lead_id = make_lead(when=ago(hours=30))
    loaded = Lead.get(lead_id, consistent_read=True)
    at = utcnow()
    first = response_time.first_response(lead=loaded, at=at)

    def fill(tx):
        tx.update(loaded, actions=list(first.actions), condition=Lead.lead_id.exists() & first.condition)
        first.add_in(tx)  # the status stays "new": no status adds to merge

    commit(fill)
    stored = Lead.get(lead_id, consistent_read=True)
    assert (stored.status, stored.first_response_at, stored.version) == ("new", at, 2)
    assert status_count("new") == 1  # still New, but answered: no longer waiting
    assert (stats().waiting, stats().waiting_over_a_day, this_week().answered) == (0, 0, 1)
    assert response_time.first_response(lead=stored, at=utcnow()) is None  # answered once only
    assert leads_audit()[0] == 0
