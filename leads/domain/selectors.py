"""Reads. Every read is a GetItem, BatchGetItem or Query on a key or index — never a Scan."""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pynamodb.exceptions import PynamoDBException
from pynamodb.indexes import GlobalSecondaryIndex

from leads.domain import cursors, notifications, response_time, tallies
from leads.domain.emails import normalise_email
from leads.domain.exceptions import LeadNotFound, WebhookFailureNotFound
from leads.storage import internals
from leads.storage.models import (
    FEED_ALL, STATUSES, DeliveryMarker, HistoryEvent, Lead, ResponseTally, Staff, Tally, TrashedLead, utcnow,
)
from leads.storage.models import WEBHOOK_FAILURES, WebhookFailure

_PROBE_ID = "healthz-probe"


def storage_is_reachable() -> bool:
    """True when a GetItem on the lead table answers (a missing item is still an answer)."""
    try:
        Lead.get(_PROBE_ID)
    except Lead.DoesNotExist:
        return True
    except PynamoDBException:
        return False
    return True


def lead_get(*, lead_id: str) -> Lead:
    """The lead with this id, read consistently; LeadNotFound if there is none."""
    try:
        return Lead.get(lead_id, consistent_read=True)
    except Lead.DoesNotExist:
        raise LeadNotFound(lead_id) from None


def leads_get_many(*, lead_ids: list[str]) -> list[Lead]:
    """The leads that exist among these ids, in the order given (BatchGetItem)."""
    found = {lead.lead_id: lead for lead in Lead.batch_get(list(dict.fromkeys(lead_ids)))}
    return [found[lead_id] for lead_id in lead_ids if lead_id in found]


@dataclass(frozen=True)
class Search:
    """What the inbox search box asked for: one address, one domain, or addresses starting with a prefix."""

    kind: str  # "email", "domain" or "prefix"
    value: str


@dataclass(frozen=True)
class Received:
    """A range of arrival times, [start, end) in UTC; either end may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    def __bool__(self) -> bool:
        return self.start is not None or self.end is not None


@dataclass
class LeadPage:
    """One page of the inbox and the cursors around it."""

    leads: list[Lead]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    is_first: bool = True


class UnsupportedFilter(ValueError):
    """A combination of filters no single index answers (the filter form refuses it first)."""


def _listing(status: str | None, search: Search | None, owner: str | None) -> tuple[GlobalSecondaryIndex, str]:
    """The index and hash key that answer this filter with a single Query.

    ``owner`` is a staff address or UNASSIGNED. A prefix search is alphabetical and stands alone; an owner
    combines with a status, not with a search (each combination would need an index of its own).
    """
    if search and search.kind == "prefix":
        if status or owner:
            raise UnsupportedFilter("a prefix search stands alone")
        return Lead.email_prefix_index, search.value[:1]
    if search and owner:
        raise UnsupportedFilter("an owner does not combine with a search")
    if search and search.kind == "email":
        return (Lead.status_email_index, f"{status}#{search.value}") if status else (Lead.email_index, search.value)
    if search and search.kind == "domain":
        return (Lead.status_domain_index, f"{status}#{search.value}") if status else (Lead.domain_index, search.value)
    if owner:
        return (Lead.owner_status_index, f"{owner}#{status}") if status else (Lead.owner_index, owner)
    if status:
        return Lead.status_index, status
    return Lead.created_index, FEED_ALL


def _range_name(index: GlobalSecondaryIndex) -> str:
    """The index's range key: the address for the prefix index, the arrival time for every other."""
    return "email" if index is Lead.email_prefix_index else "created_at"


def _range_condition(index: GlobalSecondaryIndex, search: Search | None, received: Received | None):
    """The key condition on the index's range key: begins_with for a prefix, the arrival range for dates."""
    if index is Lead.email_prefix_index:
        if received:
            raise UnsupportedFilter("a prefix search is alphabetical: it has no arrival range")
        return Lead.email.startswith(search.value)
    if not received:
        return None
    # [start, end): key conditions have no "<" with BETWEEN, and times are stored to the microsecond.
    last = received.end - timedelta(microseconds=1) if received.end else None
    if received.start and last:
        return Lead.created_at.between(received.start, last)
    return Lead.created_at >= received.start if received.start else Lead.created_at <= last


def _scope(index: GlobalSecondaryIndex, hash_value: str, search: Search | None, received: Received | None) -> str:
    """What a cursor belongs to: the index, its key and the range condition (a start key outside it is refused)."""
    if index is Lead.email_prefix_index:
        return f"{index.Meta.index_name}|{hash_value}|{search.value}"
    dates = "|".join(Lead.created_at.serialize(t) if t else "" for t in (received.start, received.end)) if received else ""
    return f"{index.Meta.index_name}|{hash_value}|{dates}"


def _key_names(index: GlobalSecondaryIndex) -> set[str]:
    return {"lead_id", _range_name(index), internals.hash_key_attribute(index).attr_name}


def _position(lead: Lead, index: GlobalSecondaryIndex, hash_value: str) -> dict:
    """The LastEvaluatedKey DynamoDB would give for this lead in this index."""
    range_name = _range_name(index)
    return {
        "lead_id": {"S": lead.lead_id},
        range_name: {"S": getattr(Lead, range_name).serialize(getattr(lead, range_name))},
        internals.hash_key_attribute(index).attr_name: {"S": hash_value},
    }


def lead_list(
    *, status: str | None = None, search: Search | None = None, owner: str | None = None,
    received: Received | None = None, cursor: str | None = None, page_size: int = 25,
) -> LeadPage:
    """Newest-first leads (alphabetical for a prefix search) for a filter: one Query (query_page).

    Raises BadCursor for a cursor that was not issued for this very listing, UnsupportedFilter for a
    combination no index answers.
    """
    index, hash_value = _listing(status, search, owner)
    return query_page(
        index, hash_value, condition=_range_condition(index, search, received),
        scope=_scope(index, hash_value, search, received), key_names=_key_names(index),
        position=lambda lead: _position(lead, index, hash_value), cursor=cursor, page_size=page_size,
        ascending=index is Lead.email_prefix_index,  # alphabetical: A to Z, like a directory
    )


def query_page(
    index: GlobalSecondaryIndex, hash_value: str, *, condition, scope: str, key_names: set[str], position,
    cursor: str | None, page_size: int, ascending: bool = False,
) -> LeadPage:
    """One page of a listing on an index: ONE Query of page_size + 1 index items, and the cursors around it.

    The one item more than a page is never shown: it tells whether a next page exists, so a listing that
    ends on a page boundary offers no "Next" to an empty page. It is read from the index (the listed
    columns), like the rows. `position(lead)` is the LastEvaluatedKey DynamoDB would give for a lead.
    """
    start_key, direction = (None, cursors.NEXT)
    if cursor:
        start_key, direction = cursors.decode(cursor, scope=scope, key_names=key_names)
    # Going back (to the earlier pages) reads the index the other way. Either way one item more than a
    # page is read: DynamoDB returns a LastEvaluatedKey whenever the limit is hit, even with nothing
    # after it, so only the extra item tells whether there is more that way.
    going_back = direction == cursors.PREVIOUS
    fetch = page_size + 1
    results = index.query(hash_value, range_key_condition=condition, scan_index_forward=ascending != going_back,
                          limit=fetch, page_size=fetch, last_evaluated_key=start_key)
    leads = list(results)
    more = len(leads) > page_size
    leads = leads[:page_size]
    if going_back:
        leads.reverse()
        if not leads:  # nothing before it: show the first page instead of an empty one
            return query_page(index, hash_value, condition=condition, scope=scope, key_names=key_names,
                              position=position, cursor=None, page_size=page_size, ascending=ascending)

    def link(lead: Lead, towards: str) -> str:
        return cursors.encode(position(lead), scope=scope, direction=towards)

    page = LeadPage(leads=leads, is_first=start_key is None or (going_back and not more))
    if leads:
        if not page.is_first:
            page.previous_cursor = link(leads[0], cursors.PREVIOUS)
        if going_back or more:
            page.next_cursor = link(leads[-1], cursors.NEXT)
    return page


def status_counts() -> dict[str, int]:
    """Leads per status, summed over the counter shards (one Query on the tally-index)."""
    return tallies.sum_statuses(tallies.status_shards())


def _last_days(days: int, today: date | None) -> list[date]:
    today = today or utcnow().date()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def dashboard_counts(*, days: int = 30, today: date | None = None) -> tuple[dict[str, int], list[tuple[date, int]]]:
    """Leads per status, and leads created per UTC day for the last `days` days, in one BatchGetItem."""
    span = _last_days(days, today)
    months = dict.fromkeys(tallies.month_of(day) for day in span)
    items = list(Tally.batch_get(tallies.status_keys() + tallies.month_keys(months)))
    per_day = tallies.sum_days(items, span)
    return tallies.sum_statuses(items), [(day, per_day[day]) for day in span]


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard shows: leads per status, per UTC day, and response times (leads.domain.response_time)."""

    counts: dict[str, int]
    daily: list[tuple[date, int]]
    response: response_time.ResponseStats


def dashboard(*, days: int = 30, now: datetime | None = None) -> Dashboard:
    """The dashboard's numbers from rollups only: two BatchGetItem, whatever the number of leads."""
    now = now or utcnow()
    span = _last_days(days, now.date())
    months = dict.fromkeys(tallies.month_of(day) for day in span)
    items = list(Tally.batch_get(tallies.status_keys() + tallies.month_keys(months)))
    per_day = tallies.sum_days(items, span)
    stats = response_time.summarise(status_items=items, response_items=ResponseTally.batch_get(
        response_time.keys_to_read(now)), now=now)
    return Dashboard(counts=tallies.sum_statuses(items), daily=[(day, per_day[day]) for day in span], response=stats)


@dataclass(frozen=True)
class TimelineEntry:
    """One history event, ready to show."""

    at: object
    actor: str
    action: str
    changes: dict
    version: int | None
    # Notes and replies (leads.domain.timeline, leads.domain.replies); None on other events.
    event_id: str = ""
    text: str | None = None
    subject: str | None = None
    delivery: str | None = None


def lead_history(*, lead_id: str, limit: int = 100) -> list[TimelineEntry]:
    """The lead's timeline — changes, notes and replies — newest first (one Query)."""
    events = HistoryEvent.query(lead_id, scan_index_forward=False, limit=limit)
    return [
        TimelineEntry(at=e.at, actor=e.actor, action=e.action, changes=json.loads(e.changes), version=e.version,
                      event_id=e.event_id, text=e.text, subject=e.subject, delivery=e.delivery)
        for e in events
    ]


def lead_history_since(*, lead_id: str, version: int) -> list[TimelineEntry]:
    """The events that moved the lead past `version`, oldest first: what a conflicting editor missed."""
    newer = [entry for entry in lead_history(lead_id=lead_id) if entry.version and entry.version > version]
    return list(reversed(newer))


def trash_list(*, limit: int = 100) -> list[TrashedLead]:
    """Recently deleted leads that can still be restored, newest deletion first."""
    now = utcnow()
    # DynamoDB deletes expired items lazily (up to days later): hide them as soon as they expire.
    return [t for t in TrashedLead.deleted_index.query("trash", scan_index_forward=False, limit=limit) if t.expires_at > now]


def staff_list() -> list[Staff]:
    """Everyone who can sign in, by email (one Query)."""
    return list(Staff.roster_index.query("staff"))


def delivery_marked(*, lead_id: str) -> bool:
    """True if the new-lead email for this lead was already sent (its DeliveryMarker exists)."""
    try:
        DeliveryMarker.get(notifications.delivery_marker_key(lead_id), consistent_read=True)
    except DeliveryMarker.DoesNotExist:
        return False
    return True


def staff_get(*, email: str) -> Staff | None:
    """The staff member with this email, or None."""
    if len(email) > 254:  # no such address, and past DynamoDB's key size
        return None
    try:
        return Staff.get(normalise_email(email), consistent_read=True)
    except Staff.DoesNotExist:
        return None


def lead_export(
    *, status: str | None = None, search: Search | None = None, owner: str | None = None,
    received: Received | None = None, chunk: int = 100,
):
    """Every lead in a listing with all its fields, in the listing's order, fetched chunk by chunk.

    The index gives the order (a Query page of `chunk` keys); BatchGetItem fetches the full items,
    since indexes project only the inbox columns. Memory stays constant however many leads match.
    """
    index, hash_value = _listing(status, search, owner)
    condition = _range_condition(index, search, received)
    forward = index is Lead.email_prefix_index
    batch: list[str] = []
    for item in index.query(hash_value, range_key_condition=condition, scan_index_forward=forward, page_size=chunk):
        batch.append(item.lead_id)
        if len(batch) == chunk:
            yield from leads_get_many(lead_ids=batch)
            batch = []
    if batch:
        yield from leads_get_many(lead_ids=batch)


# --- Webhooks (leads.domain.webhooks) -------------------------------------------------------------

def webhook_marker_key(*, event_id: str, webhook: str) -> str:
    """Key of the DeliveryMarker saying this webhook got this event."""
    return f"webhook#{event_id}#{webhook}"


def webhooks_delivered(*, event_id: str, webhooks: list[str]) -> set[str]:
    """Which of these webhooks already got this event (one consistent BatchGetItem)."""
    keys = {webhook_marker_key(event_id=event_id, webhook=name): name for name in webhooks}
    found = DeliveryMarker.batch_get(list(keys), consistent_read=True, attributes_to_get=["counter_id"])
    return {keys[marker.counter_id] for marker in found}


def webhook_failures(*, limit: int = 50) -> list[WebhookFailure]:
    """Webhooks that failed after their last try, newest event first (one Query); expired ones hidden."""
    now = utcnow()
    # DynamoDB's TTL removes items up to days late: hide them from their expiry on, as the trash does.
    return [failure for failure in WebhookFailure.query(WEBHOOK_FAILURES, scan_index_forward=False, limit=limit)
            if failure.expires_at > now]


def webhook_failure_get(*, failure_id: str) -> WebhookFailure:
    """One dead-lettered webhook; WebhookFailureNotFound if there is none (resent, expired)."""
    try:
        failure = WebhookFailure.get(WEBHOOK_FAILURES, failure_id, consistent_read=True)
    except WebhookFailure.DoesNotExist:
        raise WebhookFailureNotFound(failure_id) from None
    if failure.expires_at <= utcnow():
        raise WebhookFailureNotFound(failure_id)
    return failure
