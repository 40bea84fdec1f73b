"""Sharded tallies of leads per status and per day: exact, and no item on every write's path.

On DynamoDB, transactions that touch one item at the same time cancel each other
(``TransactionConflict``), so one ``status#new`` item written by every submission would cap the whole
app at one submission per transaction time (tens of ms) and turn bursts into retries and 503s
(DESIGN.md, principle 6). Instead each change adds to ONE of ``LEADS_TALLY_SHARDS`` shard items, picked at random
for every attempt (a retry after a conflict lands elsewhere), and readers sum the shards:

    tally#status#<shard>           n_<status>   leads per status (one shard may dip below 0; sums never do)
    tally#day#<YYYY-MM>#<shard>    d<DD>        leads created on that UTC day

The adds commit inside the change's own transaction, so counts are exact, never "converging". The cost:
a submission touches two shard items (as it touched two counters before); a status change touches one
(before: two). Status shards carry ``tally_kind = "status"``, the key of the counters' tally-index, so a list
page reads every one of them in ONE Query, billed on their total size (half a read unit), where a
BatchGetItem was billed 4 KB a shard (16 units); like the BatchGetItem before it, the read is eventually
consistent. The dashboard reads the statuses and the two months any 30 days span in one BatchGetItem.
LEADS_TALLY_SHARDS (default 32) may grow later, never shrink: a dropped shard drops its counts. Set to 1,
it is the old single hot item, which the benchmark measures as the "before" of the write ceiling.
"""

import random
from collections import Counter
from collections.abc import Iterable
from datetime import date

from pynamodb.transactions import TransactWrite

from django.conf import settings

from leads.storage.models import STATUSES, Lead, Tally, utcnow


# tally_kind of the status shards: the tally-index's key the inbox Queries (leads.storage.models.TallyIndex).
STATUS_TALLY = "status"


def shard_count() -> int:
    """How many shards each tally is spread over (LEADS_TALLY_SHARDS; settings checks 1 to 33)."""
    return settings.LEADS_TALLY_SHARDS


def status_shard_key(shard: int) -> str:
    """Key of one shard of the per-status tallies."""
    return f"tally#status#{shard:02d}"


def month_shard_key(month: str, shard: int) -> str:
    """Key of one shard of the per-day tallies of a month (``YYYY-MM``)."""
    return f"tally#day#{month}#{shard:02d}"


def status_attribute(status: str) -> str:
    """The attribute of a status shard that counts leads with this status."""
    return f"n_{status}"


def day_attribute(day: date) -> str:
    """The attribute of a month shard that counts leads created on this day."""
    return f"d{day.day:02d}"


def month_of(day: date) -> str:
    return day.strftime("%Y-%m")


def status_shard_actions(adds: list) -> list:
    """A status shard's update: the adds, and the tally-index key, so the inbox's Query finds the shard."""
    return [*adds, Tally.tally_kind.set(STATUS_TALLY)]


def pick_shard() -> int:
    """A shard for one attempt of one write: random, so concurrent writers rarely meet on one item."""
    return random.randrange(shard_count())


def add_in(tx: TransactWrite, *, statuses: dict[str, int] | None = None, day: date | None = None,
           day_amount: int = 0) -> None:
    """Add to the status tallies and/or one day's tally as part of tx, on one freshly picked shard."""
    shard = pick_shard()
    status_adds = [getattr(Tally, status_attribute(s)).add(n) for s, n in (statuses or {}).items() if n]
    if status_adds:
        tx.update(Tally(status_shard_key(shard)), actions=status_shard_actions(status_adds))
    if day is not None and day_amount:
        tx.update(Tally(month_shard_key(month_of(day), shard)),
                  actions=[getattr(Tally, day_attribute(day)).add(day_amount)])


def count_lead_in(tx: TransactWrite, lead: Lead, amount: int) -> None:
    """Count a stored lead in (+1: stored, restored) or out (-1: deleted, expired, erased) as part of tx.

    One place says what a lead counts towards: its status, the UTC day it was created, and its wait or
    its response time (leads.domain.response_time, which builds on this module, hence imported here).
    """
    from leads.domain import response_time

    add_in(tx, statuses={lead.status: amount, **response_time.status_adds(lead, amount)},
           day=lead.created_at.date(), day_amount=amount)
    response_time.count_in(tx, lead, amount, now=utcnow())


def status_keys() -> list[str]:
    """Every shard of the per-status tallies."""
    return [status_shard_key(shard) for shard in range(shard_count())]


def month_keys(months: Iterable[str]) -> list[str]:
    """Every shard of these months' per-day tallies."""
    return [month_shard_key(month, shard) for month in months for shard in range(shard_count())]


def status_shards() -> Iterable[Tally]:
    """Every status shard, from ONE eventually consistent Query on the tally-index (half a read unit at 32)."""
    return Tally.tally_index.query(STATUS_TALLY)


def raw_sums(items: Iterable[Tally]) -> tuple[Counter[str], Counter[date]]:
    """Per-status and per-day totals over the shards among items, unclamped (the audit compares these)."""
    statuses: Counter[str] = Counter(dict.fromkeys(STATUSES, 0))
    days: Counter[date] = Counter()
    for item in items:
        _, kind, *rest = item.counter_id.split("#")
        if kind == "status":
            for status in STATUSES:
                statuses[status] += int(getattr(item, status_attribute(status)) or 0)
        elif kind == "day":
            year, month = map(int, rest[0].split("-"))
            for day in range(1, 32):
                if value := getattr(item, f"d{day:02d}"):  # only days that exist were ever added to
                    days[date(year, month, day)] += int(value)
    return statuses, days


def sum_statuses(items: Iterable[Tally]) -> dict[str, int]:
    """Leads per status, summed over the status shards among items."""
    statuses, _ = raw_sums(items)
    return {status: max(0, total) for status, total in statuses.items()}


def sum_days(items: Iterable[Tally], days: Iterable[date]) -> dict[date, int]:
    """Leads created per day, summed over the month shards among items."""
    _, totals = raw_sums(items)
    return {day: max(0, totals[day]) for day in days}
