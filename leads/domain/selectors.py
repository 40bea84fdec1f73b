"""Reads. Every read is a GetItem, BatchGetItem or Query on a key or index — never a Scan."""

import json
from dataclasses import dataclass
from datetime import date, timedelta

from pynamodb.exceptions import PynamoDBException
from pynamodb.indexes import GlobalSecondaryIndex

from leads.domain import cursors, notifications, tallies
from leads.domain.emails import normalise_email
from leads.domain.exceptions import LeadNotFound
from leads.storage import internals
from leads.storage.models import FEED_ALL, STATUSES, DeliveryMarker, HistoryEvent, Lead, Staff, Tally, TrashedLead, utcnow

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
    """What the inbox search box asked for: one address, or one domain."""

    kind: str  # "email" or "domain"
    value: str


@dataclass
class LeadPage:
    """One page of the inbox and the cursors around it."""

    leads: list[Lead]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    is_first: bool = True


def _listing(status: str | None, search: Search | None) -> tuple[GlobalSecondaryIndex, str]:
    """The index and hash key that answer this filter with a single Query."""
    if search and search.kind == "email":
        return (Lead.status_email_index, f"{status}#{search.value}") if status else (Lead.email_index, search.value)
    if search and search.kind == "domain":
        return (Lead.status_domain_index, f"{status}#{search.value}") if status else (Lead.domain_index, search.value)
    if status:
        return Lead.status_index, status
    return Lead.created_index, FEED_ALL


def _key_names(index: GlobalSecondaryIndex) -> set[str]:
    return {"lead_id", "created_at", internals.hash_key_attribute(index).attr_name}


def _position(lead: Lead, index: GlobalSecondaryIndex, hash_value: str) -> dict:
    """The LastEvaluatedKey DynamoDB would give for this lead in this index."""
    return {
        "lead_id": {"S": lead.lead_id},
        "created_at": {"S": Lead.created_at.serialize(lead.created_at)},
        internals.hash_key_attribute(index).attr_name: {"S": hash_value},
    }


def lead_list(
    *, status: str | None = None, search: Search | None = None, cursor: str | None = None, page_size: int = 25
) -> LeadPage:
    """Newest-first leads for a status and/or search: one Query, page_size items read.

    Raises BadCursor for a cursor that was not issued for this very listing.
    """
    index, hash_value = _listing(status, search)
    scope = f"{index.Meta.index_name}|{hash_value}"
    start_key, direction = (None, cursors.NEXT)
    if cursor:
        start_key, direction = cursors.decode(cursor, scope=scope, key_names=_key_names(index))

    # Pages run newest first, so going back (to newer leads) reads the index in ascending order.
    going_back = direction == cursors.PREVIOUS
    # Going back, read one item more: DynamoDB returns a LastEvaluatedKey whenever the limit is hit,
    # so only the extra item tells whether this is the newest page (and "Previous" must go).
    fetch = page_size + 1 if going_back else page_size
    results = index.query(
        hash_value, scan_index_forward=going_back, limit=fetch, page_size=fetch, last_evaluated_key=start_key
    )
    leads = list(results)
    if going_back:
        more = len(leads) > page_size
        leads = leads[:page_size][::-1]
        if not leads:  # nothing newer: show the newest page instead of an empty one
            return lead_list(status=status, search=search, page_size=page_size)
    else:
        more = results.last_evaluated_key is not None

    def link(lead: Lead, towards: str) -> str:
        return cursors.encode(_position(lead, index, hash_value), scope=scope, direction=towards)

    page = LeadPage(leads=leads, is_first=start_key is None or (going_back and not more))
    if leads:
        if not page.is_first:
            page.previous_cursor = link(leads[0], cursors.PREVIOUS)
        if going_back or more:
            page.next_cursor = link(leads[-1], cursors.NEXT)
    return page


def status_counts() -> dict[str, int]:
    """Leads per status, summed over the counter shards (one BatchGetItem)."""
    return tallies.sum_statuses(Tally.batch_get(tallies.status_keys()))


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


def lead_export(*, status: str | None = None, search: Search | None = None, chunk: int = 100):
    """Every lead in a listing with all its fields, newest first, fetched chunk by chunk.

    The index gives the order (a Query page of `chunk` keys); BatchGetItem fetches the full items,
    since indexes project only the inbox columns. Memory stays constant however many leads match.
    """
    index, hash_value = _listing(status, search)
    batch: list[str] = []
    for item in index.query(hash_value, scan_index_forward=False, page_size=chunk):
        batch.append(item.lead_id)
        if len(batch) == chunk:
            yield from leads_get_many(lead_ids=batch)
            batch = []
    if batch:
        yield from leads_get_many(lead_ids=batch)
