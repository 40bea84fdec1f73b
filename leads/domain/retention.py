"""Retention (LEADS_RETENTION_DAYS): when a lead, and everything derived from it, expires. Arithmetic only.

With LEADS_RETENTION_DAYS = N (0 = off, the default), every write that is activity on a lead (submit,
edit, bulk status, delete, restore, "keep for another N days") sets the lead's TTL ``expires_at`` to N
days after that activity, rounded up to the next UTC midnight. DynamoDB's TTL then removes the item,
typically within a few days of that moment; until then reads still return it (the lead page says so).

What is derived from the lead never outlives it, and its history never expires before it:
    history events   carry at least the lead's expiry (leads.domain.services carries older ones forward);
    the trash copy   the earlier of TRASH_DAYS after the deletion and the retention expiry from it;
    stream markers   the earlier of their own TTL and the lead's expiry.
The writes themselves live in leads.domain.services; this module has no DynamoDB in it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings

# How long the ``expired#…`` marker of a TTL removal is kept: far beyond the stream's 24 hours, in
# which Lambda may deliver the record again.
EXPIRED_MARKER_DAYS = 14


def days() -> int:
    """LEADS_RETENTION_DAYS: how many days after its last activity a lead expires; 0 = never."""
    return settings.LEADS_RETENTION_DAYS


def enabled() -> bool:
    return days() > 0


def _next_midnight(moment: datetime) -> datetime:
    """The first UTC midnight at or after `moment`."""
    moment = moment.astimezone(UTC)
    midnight = datetime.combine(moment.date(), time(0), tzinfo=UTC)
    return midnight if moment == midnight else midnight + timedelta(days=1)


def expiry(activity: datetime) -> datetime | None:
    """When a lead last active at `activity` expires, or None when retention is off.

    N days after the activity, rounded UP to the next UTC midnight (so never sooner than N days). The
    rounding makes every write of one UTC day give the same expiry: the lead's expiry moves at most once
    a day, and so does the carrying forward of its history (one UpdateItem per history event), however
    often the lead is edited that day.
    """
    if not enabled():
        return None
    return _next_midnight(activity + timedelta(days=days()))


def trash_expiry(deleted_at: datetime, *, trash_days: int) -> datetime:
    """When a deleted lead's trash copy expires: trash_days after the deletion, or sooner if retention says so.

    The deletion is activity, so retention counts from it too.
    """
    kept = deleted_at + timedelta(days=trash_days)
    retained = expiry(deleted_at)
    return min(kept, retained) if retained else kept


def capped(expires_at: datetime, lead_expires_at: datetime | None) -> datetime:
    """An expiry for something derived from a lead (a stream marker): never later than the lead's own."""
    return min(expires_at, lead_expires_at) if lead_expires_at else expires_at


def carry_needed(history_expires_at: datetime | None, until: datetime) -> bool:
    """True when some history event may expire before `until` (the expiry the lead is about to get).

    ``history_expires_at`` is the lead's record of the expiry every one of its events has at least.
    """
    return history_expires_at is None or history_expires_at < until


def expired_marker_key(lead_id: str, expires_at: datetime | None) -> str:
    """Key of the marker saying this removal of the lead by TTL was subtracted from the tallies.

    The expiry names the removal: a redelivered stream record has the same one, so it subtracts nothing.
    """
    stamp = int(expires_at.timestamp()) if expires_at else 0
    return f"expired#{lead_id}#{stamp}"


@dataclass(frozen=True)
class Keeping:
    """What the lead page says about a lead's retention."""

    until: datetime | None  # None: stored before retention was on, and not touched since
    expired: bool
    days: int


def keeping(expires_at: datetime | None, *, now: datetime | None = None) -> Keeping | None:
    """The lead page's retention line for a lead with this expiry; None when retention is off.

    An expired lead stays readable until DynamoDB removes it (typically within a few days): the page says
    so, while lists keep showing it (they read only what they show, so a filter could not drop it without
    reading more, and their counts count it until it is removed).
    """
    if not enabled():
        return None
    now = now or datetime.now(UTC)
    return Keeping(until=expires_at, expired=expires_at is not None and expires_at <= now, days=days())
