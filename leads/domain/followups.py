"""Follow-ups: when a lead is due for attention, the "Due today" and "Overdue" lists per owner, the daily digest.

A follow-up is a date, with or without a time, in the zone of whoever sets it, stored in UTC (``Lead.due_at``).
A date without a time is due at the end of that day, so it is "due today" all day and "overdue" from the
next. Each list is ONE Query on ``due-index`` (owner + due_at): "due today" is due_at between the start and
the end of today in the viewer's zone, "overdue" is due_at before now; soonest first, Limit = page size.
The lead's own writes keep the index key (``Lead.refresh_index_keys``): clearing the date or deleting the
lead takes it out of both lists.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leads.domain import selectors
from leads.domain.selectors import LeadPage
from leads.storage.models import UNASSIGNED, Lead, utcnow

TODAY, OVERDUE = "today", "overdue"
VIEWS = (TODAY, OVERDUE)
# How many follow-ups one digest lists at most; the rest are a link away.
DIGEST_LIMIT = 50
# A digest's marker outlives its day in every zone, then DynamoDB's TTL removes it.
DIGEST_MARKER_TTL = timedelta(days=3)

_KEY_NAMES = {"lead_id", "due_at", "due_owner"}


def due_moment(*, day: date, at: time | None, zone: str) -> datetime:
    """The UTC moment a follow-up on `day` (at `at`, or at the day's end without a time) in `zone` is due."""
    tz = ZoneInfo(zone)
    if at is None:
        return day_bounds(day=day, zone=zone)[1]
    return datetime.combine(day, at.replace(second=0, microsecond=0), tzinfo=tz).astimezone(UTC)


def day_bounds(*, day: date, zone: str) -> tuple[datetime, datetime]:
    """The first and the last microsecond of `day` in `zone`, in UTC (a DST day is 23 or 25 hours long)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC) - timedelta(microseconds=1)
    return start, end


def local_today(*, zone: str, now: datetime | None = None) -> date:
    """Today's date in `zone`."""
    return (now or utcnow()).astimezone(ZoneInfo(zone)).date()


def owner_key(owner: str | None) -> str:
    """The due-index hash key for an owner's email; None (nobody) is UNASSIGNED."""
    return owner or UNASSIGNED


def _position(lead: Lead, hash_value: str) -> dict:
    """The LastEvaluatedKey DynamoDB would give for this lead in due-index."""
    return {"lead_id": {"S": lead.lead_id}, "due_at": {"S": Lead.due_at.serialize(lead.due_at)},
            "due_owner": {"S": hash_value}}


def follow_up_list(
    *, view: str, owner: str | None, zone: str, cursor: str | None = None, page_size: int = 25,
    now: datetime | None = None,
) -> LeadPage:
    """One page of an owner's follow-ups due today or overdue, soonest first: one Query (selectors.query_page).

    `owner` None lists the unassigned ones. Raises BadCursor for a cursor issued for another list (another
    view, owner, or — for "due today" — another day).
    """
    now = now or utcnow()
    hash_value = owner_key(owner)
    if view == TODAY:
        start, end = day_bounds(day=local_today(zone=zone, now=now), zone=zone)
        condition = Lead.due_at.between(start, end)
        scope = f"due-index|{view}|{hash_value}|{Lead.due_at.serialize(start)}"
    else:
        condition = Lead.due_at < now
        scope = f"due-index|{view}|{hash_value}"
    return selectors.query_page(
        Lead.due_index, hash_value, condition=condition, scope=scope, key_names=_KEY_NAMES,
        position=lambda lead: _position(lead, hash_value), cursor=cursor, page_size=page_size, ascending=True,
    )


@dataclass
class Digest:
    """What one owner's daily email lists: overdue follow-ups, those due later today, and whether more exist."""

    overdue: list[Lead]
    today: list[Lead]
    more: bool

    def __bool__(self) -> bool:
        return bool(self.overdue or self.today)


def digest_for(*, owner: str, zone: str, now: datetime | None = None, limit: int = DIGEST_LIMIT) -> Digest:
    """An owner's follow-ups due by the end of today in `zone`, overdue first: ONE Query (limit + 1 items)."""
    now = now or utcnow()
    _, end = day_bounds(day=local_today(zone=zone, now=now), zone=zone)
    found = list(Lead.due_index.query(owner_key(owner), range_key_condition=Lead.due_at <= end,
                                      limit=limit + 1, page_size=limit + 1))
    listed = found[:limit]
    return Digest(overdue=[lead for lead in listed if lead.due_at < now],
                  today=[lead for lead in listed if lead.due_at >= now], more=len(found) > limit)


def digest_marker_key(*, owner: str, day: date) -> str:
    """The counters item saying this owner's digest for this (local) day was sent; a hash, never the address."""
    return f"digest#{hashlib.sha256(owner.encode()).hexdigest()[:32]}#{day.isoformat()}"
