"""Response time: when staff first answered each lead, and rollups the dashboard reads instead of the leads.

A lead is *waiting* while it has never been answered: status ``new`` and no ``first_response_at``. Its
first response is the first staff action that answers it (today: the first change of its status away
from ``new``; later a reply from the lead page): ``first_response_at`` is set then, once, on condition
it is not set yet, in the same transaction as the change, together with the rollups below. So every
count is exact, never "converging", and like the tallies (leads.domain.tallies) no item is on every
write's path (DESIGN.md, principle 6):

    tally#status#<shard>                n_waiting   leads waiting (beside the per-status tallies, same shard)
    tally#waiting#<YYYY-MM-DD>#<shard>  h<HH>       leads that arrived in that UTC hour and still wait
    tally#response#<Monday>#<shard>     w<i>b<KK>   first responses in week i (0-3) of the 4-week period
                                                    starting that Monday whose time to answer fell in bucket KK

*Histograms, not lists.* A week's response times are counted in BUCKETS fixed, roughly log-spaced bounds
(1 min, 2 min, 3 min, 5 min … 1 h, 1.5 h, 2 h, 3 h … 1 day, 36 h, 2 days … 30 days), each at most twice
the one before. The median and 90th percentile are read off them (nearest rank) as the bucket that holds
them: "between 2 h and 3 h" is exact about the bucket and says nothing finer — that is the resolution.
A response counts in the UTC week (Monday 00:00 UTC) it happened in. Histograms go over 8 shards, not 32:
only staff actions write them, and 8 keep the dashboard's reads in one BatchGetItem (4 periods × 8 shards
for 12 weeks, plus 2 days × 32 shards of waiting hours: at most 98 keys with 33 tally shards).

*Waiting more than 24 hours* = n_waiting − the leads still waiting that arrived in the current UTC hour or
the 24 before it. A lead joins the count once the whole hour it arrived in is 24 hours behind: between
24 and 25 hours after it arrived. An hour is read only while it is among those 25, so a change to a lead
that arrived longer ago than that leaves its hour alone (nobody reads it again), and day items expire by
TTL a few days after their day.

Real DynamoDB's limits: a first response adds at most three items to its transaction (status shard, the
arrival hour's item, the histogram shard; far under 100 actions), a removal at most two besides the tallies;
the largest item (a histogram period: 120 small numbers) stays near 2 KB, so every write is one or two
write units; concurrent writers on one shard cancel each other (TransactionConflict) and the commit loop
retries on freshly picked shards (leads.storage.transactions.commit).

Like the tallies, the rollups describe the leads that are stored: a deletion, an erasure or a retention
expiry takes a lead out (its wait, or its response from its week's histogram), a restore puts it back.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from collections.abc import Iterable

from pynamodb.transactions import TransactWrite

from leads.domain import tallies
from leads.storage.models import RESPONSE_BUCKETS, Lead, ResponseTally, Tally

MINUTE, HOUR, DAY = 60, 3600, 86400
# Upper bounds of the buckets, in seconds; the last bucket (30 days or more) has none. Each bound is at
# most twice the one before it, so a percentile's bucket pins it down to within a factor of two or better.
BOUNDS = (
    MINUTE, 2 * MINUTE, 3 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 20 * MINUTE, 30 * MINUTE, 45 * MINUTE,
    HOUR, 90 * MINUTE, 2 * HOUR, 3 * HOUR, 4 * HOUR, 6 * HOUR, 8 * HOUR, 12 * HOUR, 16 * HOUR,
    DAY, 36 * HOUR, 2 * DAY, 3 * DAY, 4 * DAY, 5 * DAY, 7 * DAY, 10 * DAY, 14 * DAY, 21 * DAY, 30 * DAY,
)
assert len(BOUNDS) + 1 == RESPONSE_BUCKETS

HISTOGRAM_SHARDS = 8
PERIOD_WEEKS = 4
WEEKS_SHOWN = 12
WAITING_HOURS = 24  # "waiting more than 24 hours"
# Hours read: the current one and the 24 before. Writes keep two more (clocks of two servers may differ).
_HOURS_READ = WAITING_HOURS + 1
_HOURS_KEPT = _HOURS_READ + 2
WAITING_ITEM_DAYS = 4  # a waiting day item expires (TTL) this long after its day began
_EPOCH_MONDAY = date(1970, 1, 5)


# --- Keys and attributes ----------------------------------------------------------------------------

def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week this moment falls in."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _period(monday: date) -> tuple[date, int]:
    """The first Monday of the 4-week period holding this week, and the week's place in it (0-3)."""
    weeks = (monday - _EPOCH_MONDAY).days // 7
    return _EPOCH_MONDAY + timedelta(weeks=weeks - weeks % PERIOD_WEEKS), weeks % PERIOD_WEEKS


def histogram_key(monday: date, shard: int) -> str:
    """Key of one shard of the histograms of the 4-week period holding this week."""
    return f"tally#response#{_period(monday)[0].isoformat()}#{shard:02d}"


def histogram_attribute(monday: date, bucket: int) -> str:
    return f"w{_period(monday)[1]}b{bucket:02d}"


def waiting_key(day: date, shard: int) -> str:
    """Key of one shard of a UTC day's waiting leads by arrival hour."""
    return f"tally#waiting#{day.isoformat()}#{shard:02d}"


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour this moment falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a time to answer."""
    for bucket, bound in enumerate(BOUNDS):
        if seconds < bound:
            return bucket
    return len(BOUNDS)


def bucket_range(bucket: int) -> tuple[int, int | None]:
    """A bucket's bounds in seconds: (lower, upper), upper None for the last one."""
    return (BOUNDS[bucket - 1] if bucket else 0), (BOUNDS[bucket] if bucket < len(BOUNDS) else None)


# --- What a lead counts towards ---------------------------------------------------------------------

def is_waiting(lead: Lead) -> bool:
    """True while nobody has answered the lead yet."""
    return lead.status == "new" and lead.first_response_at is None


def response_seconds(lead: Lead) -> float | None:
    """How long the lead waited for its first response, or None if it has none."""
    if lead.first_response_at is None:
        return None
    return max(0.0, (lead.first_response_at - lead.created_at).total_seconds())


def hour_tracked(arrived: datetime, now: datetime) -> bool:
    """True if the dashboard may still read the hour the lead arrived in (else a change there is moot)."""
    return hour_of(arrived) >= hour_of(now) - timedelta(hours=_HOURS_KEPT)


def _add_waiting_hour(tx: TransactWrite, arrived: datetime, amount: int) -> None:
    hour = hour_of(arrived)
    expires = datetime(hour.year, hour.month, hour.day, tzinfo=UTC) + timedelta(days=WAITING_ITEM_DAYS)
    tx.update(ResponseTally(waiting_key(hour.date(), tallies.pick_shard())),
              actions=[getattr(ResponseTally, f"h{hour.hour:02d}").add(amount), ResponseTally.expires_at.set(expires)])


def _add_response(tx: TransactWrite, lead: Lead, amount: int) -> None:
    monday = week_of(lead.first_response_at)
    attribute = histogram_attribute(monday, bucket_of(response_seconds(lead)))
    tx.update(ResponseTally(histogram_key(monday, random.randrange(HISTOGRAM_SHARDS))),
              actions=[getattr(ResponseTally, attribute).add(amount)])


def status_adds(lead: Lead, amount: int) -> dict[str, int]:
    """What the lead adds to the status shard beside its status: its wait ({"waiting": amount}) or nothing."""
    return {"waiting": amount} if is_waiting(lead) else {}


def count_in(tx: TransactWrite, lead: Lead, amount: int, *, now: datetime) -> None:
    """Count a stored lead in (+1) or out (-1) of the rollups outside the status shard, as part of tx.

    The status shard's part (status_adds) rides in the caller's update of that shard (leads.domain.tallies.
    count_lead_in): one transaction may not touch one item twice.
    """
    if is_waiting(lead) and hour_tracked(lead.created_at, now):
        _add_waiting_hour(tx, lead.created_at, amount)
    if lead.first_response_at is not None:
        _add_response(tx, lead, amount)


# --- The first response -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FirstResponse:
    """What records a lead's first response: actions and a condition for the lead's update, and the rollups.

    The writer sets ``actions`` on the lead with ``condition`` ANDed into the update's own (so a second
    first response, however concurrent, is refused), and calls ``add_in`` in the same transaction.
    """

    at: datetime
    answered: Lead  # the lead as it is once answered (first_response_at set)
    actions: list = field(default_factory=list)
    condition: object = None

    def add_in(self, tx: TransactWrite, *, statuses: dict[str, int] | None = None) -> None:
        """Add the rollups to tx: one wait less (with the caller's status adds, on one status shard), the
        arrival hour's wait if still read, and the response in its week's histogram."""
        tallies.add_in(tx, statuses={**(statuses or {}), "waiting": -1})
        if hour_tracked(self.answered.created_at, self.at):
            _add_waiting_hour(tx, self.answered.created_at, -1)
        _add_response(tx, self.answered, 1)


def first_response(*, lead: Lead, at: datetime) -> FirstResponse | None:
    """The writes that record `lead`'s first response at `at`; None if it is not waiting (already answered,
    or left "new" before response times were recorded: its real first response is unknown)."""
    if not is_waiting(lead):
        return None
    answered = Lead.from_raw_data(lead.serialize())
    answered.first_response_at = at
    return FirstResponse(at=at, answered=answered, actions=[Lead.first_response_at.set(at)],
                         condition=Lead.first_response_at.does_not_exist())


# --- Reading the rollups (the dashboard) ------------------------------------------------------------

@dataclass(frozen=True)
class Percentile:
    """A percentile as the histogram knows it: the bucket holding it, in seconds (upper None: no bound)."""

    lower: int
    upper: int | None


@dataclass(frozen=True)
class WeekStats:
    monday: date
    answered: int
    median: Percentile | None
    p90: Percentile | None


@dataclass(frozen=True)
class ResponseStats:
    weeks: list[WeekStats]  # oldest first, the current week last
    waiting: int
    waiting_over_a_day: int


def weeks_shown(now: datetime) -> list[date]:
    """The Mondays of the last WEEKS_SHOWN UTC weeks, the current one last."""
    current = week_of(now)
    return [current - timedelta(weeks=back) for back in range(WEEKS_SHOWN - 1, -1, -1)]


def hours_read(now: datetime) -> list[datetime]:
    """The UTC hours whose waiting leads the dashboard subtracts at `now`: the current one and the 24 before."""
    current = hour_of(now)
    return [current - timedelta(hours=back) for back in range(_HOURS_READ - 1, -1, -1)]


def keys_to_read(now: datetime) -> list[str]:
    """Every rollup item the dashboard reads at `now`: the same number at 10 leads or 10 million."""
    periods = dict.fromkeys(_period(monday)[0] for monday in weeks_shown(now))
    days = dict.fromkeys(hour.date() for hour in hours_read(now))
    return ([histogram_key(period, shard) for period in periods for shard in range(HISTOGRAM_SHARDS)]
            + [waiting_key(day, shard) for day in days for shard in range(tallies.shard_count())])


def percentile(counts: list[int], share: float) -> Percentile | None:
    """The bucket holding the `share` (0-1) percentile of these bucket counts (nearest rank); None if empty."""
    total = sum(counts)
    if total <= 0:
        return None
    rank, seen = max(1, math.ceil(share * total)), 0
    for bucket, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return Percentile(*bucket_range(bucket))
    return Percentile(*bucket_range(len(counts) - 1))


def histograms(items: Iterable[ResponseTally], mondays: Iterable[date]) -> dict[date, list[int]]:
    """Per week, the bucket counts summed over the histogram shards among items (raw: may dip below 0)."""
    mondays = list(mondays)
    wanted = {(_period(monday)[0].isoformat(), _period(monday)[1]): monday for monday in mondays}
    result = {monday: [0] * RESPONSE_BUCKETS for monday in mondays}
    for item in items:
        _, kind, when, *_ = item.counter_id.split("#") + ["", ""]
        if kind != "response":
            continue
        for place in range(PERIOD_WEEKS):
            monday = wanted.get((when, place))
            if monday is None:
                continue
            for bucket in range(RESPONSE_BUCKETS):
                result[monday][bucket] += int(getattr(item, f"w{place}b{bucket:02d}") or 0)
    return result


def waiting_by_hour(items: Iterable[ResponseTally], hours: Iterable[datetime]) -> dict[datetime, int]:
    """Per UTC hour, the leads that arrived then and still wait, summed over the shards among items (raw)."""
    hours = list(hours)
    result = dict.fromkeys(hours, 0)
    by_day: dict[str, list[datetime]] = {}
    for hour in hours:
        by_day.setdefault(hour.date().isoformat(), []).append(hour)
    for item in items:
        _, kind, day, *_ = item.counter_id.split("#") + ["", ""]
        if kind == "waiting":
            for hour in by_day.get(day, ()):
                result[hour] += int(getattr(item, f"h{hour.hour:02d}") or 0)
    return result


def waiting_total(status_items: Iterable[Tally]) -> int:
    """Leads waiting, summed over the status shards among items (raw: may dip below 0)."""
    return sum(int(item.n_waiting or 0) for item in status_items if item.counter_id.startswith("tally#status#"))


def summarise(*, status_items: Iterable[Tally], response_items: Iterable[ResponseTally], now: datetime) -> ResponseStats:
    """The dashboard's response times and waiting leads, from the status shards and the rollups read at `now`."""
    response_items = list(response_items)
    mondays = weeks_shown(now)
    per_week = histograms(response_items, mondays)
    weeks = []
    for monday in mondays:
        counts = [max(0, count) for count in per_week[monday]]
        weeks.append(WeekStats(monday=monday, answered=sum(counts),
                               median=percentile(counts, 0.5), p90=percentile(counts, 0.9)))
    waiting = max(0, waiting_total(status_items))
    recent = sum(waiting_by_hour(response_items, hours_read(now)).values())
    return ResponseStats(weeks=weeks, waiting=waiting, waiting_over_a_day=max(0, waiting - recent))


def period_mondays(counter_id: str) -> tuple[date, ...]:
    """The Mondays of the weeks a histogram shard holds (by its key)."""
    start = date.fromisoformat(counter_id.split("#")[2])
    return tuple(start + timedelta(weeks=place) for place in range(PERIOD_WEEKS))


# --- Repairs (leads_audit --repair): added to shard 0, like the tallies' ------------------------------

def repair_hour(hour: datetime, delta: int) -> None:
    """Add delta to the leads waiting that arrived in this UTC hour."""
    expires = datetime(hour.year, hour.month, hour.day, tzinfo=UTC) + timedelta(days=WAITING_ITEM_DAYS)
    ResponseTally(waiting_key(hour.date(), 0)).update(
        actions=[getattr(ResponseTally, f"h{hour.hour:02d}").add(delta), ResponseTally.expires_at.set(expires)])


def repair_response(monday: date, bucket: int, delta: int) -> None:
    """Add delta to one bucket of one week's histogram."""
    ResponseTally(histogram_key(monday, 0)).update(
        actions=[getattr(ResponseTally, histogram_attribute(monday, bucket)).add(delta)])
