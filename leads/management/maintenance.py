"""Offline maintenance: recompute the tallies from the leads (a Scan, never in a request), seed demo data."""

import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pynamodb.exceptions import PynamoDBException

from leads.domain import response_time, tallies, timeline
from leads.domain.exceptions import StorageUnavailable
from leads.storage.models import STATUSES, HistoryEvent, Lead, LeadIndexKeys, ResponseTally, Tally, utcnow
from leads.storage.transactions import Refused, conditional
from leads.domain.services import history_event

FIRST_NAMES = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Mei", "Jonas", "Amara", "Ravi", "Sofia", "Omar", "Ingrid"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Johnson", "Okafor", "Tanaka", "Weber", "Diallo", "Patel", "Rossi"]
COMPANIES = ["Acme", "Northwind", "Contoso", "Fabrikam", "Tailspin", "Globex", "Initech", "Umbrella", "Hooli", ""]
SUBJECTS = ["Pricing for our team", "Demo request", "Integration question", "Partnership", "Data residency",
            "Invoice question", "Upgrade plan", "Security review"]


# What these commands call, on which tables (base names): the source of the generated MaintenancePolicy
# (leads.storage.cloudformation), checked against the calls they really make by tests/test_cloudformation.py.
IAM_GRANTS = {
    # audit: every lead's status and day; every tally shard, of every month that has one (a month whose
    # leads were all removed by TTL has none left to say it exists), read consistently.
    "dynamodb:Scan": ("leads", "counters"),
    "dynamodb:UpdateItem": ("counters", "leads"),  # audit --repair, seed_demo: ADD to the tallies; backfill_index_keys
    "dynamodb:BatchWriteItem": ("leads", "history"),  # seed_demo: demo leads and their history
}


@dataclass
class Drift:
    """One tally (``status:<status>`` or ``day:<YYYY-MM-DD>``) whose shards add up to the wrong number."""

    counter_id: str
    stored: int
    actual: int


def _stored_tallies() -> tuple[Counter[str], Counter[date]]:
    """Raw shard sums (not clamped at 0) per status and per day, over every tally shard stored, read consistently.

    A Scan of the counters table, not a BatchGetItem of the months the leads span: once TTL (retention) or
    deletions have removed every lead of a month, that month's day tallies must still be found and checked.
    """
    return tallies.raw_sums(Tally.scan(Tally.counter_id.startswith("tally#"), consistent_read=True))


def _stored_response_rollups(now) -> tuple[int, Counter, Counter]:
    """Raw shard sums of the response-time rollups (leads.domain.response_time), read consistently: the leads
    waiting; per hour the dashboard reads, those waiting that arrived then; per (week, bucket), the responses."""
    waiting = response_time.waiting_total(Tally.scan(Tally.counter_id.startswith("tally#status#"), consistent_read=True))
    items = list(ResponseTally.scan(ResponseTally.counter_id.startswith("tally#response#")
                                    | ResponseTally.counter_id.startswith("tally#waiting#"), consistent_read=True))
    hours = Counter(response_time.waiting_by_hour(items, response_time.hours_read(now)))
    mondays = {response_time.period_mondays(item.counter_id) for item in items if "#response#" in item.counter_id}
    weeks = [monday for period in mondays for monday in period]
    responses = Counter({(monday, bucket): count for monday, counts in response_time.histograms(items, weeks).items()
                         for bucket, count in enumerate(counts) if count})
    return waiting, hours, responses


@dataclass
class _ResponseCount:
    """What the leads say the response-time rollups should hold, counted lead by lead during the audit's Scan."""

    hours: list  # the UTC hours the dashboard reads now
    waiting: int = 0
    per_hour: Counter = None
    responses: Counter = None

    def __post_init__(self):
        self.per_hour, self.responses = Counter(dict.fromkeys(self.hours, 0)), Counter()

    def add(self, lead: Lead) -> None:
        if response_time.is_waiting(lead):
            self.waiting += 1
            if (hour := response_time.hour_of(lead.created_at)) in self.per_hour:
                self.per_hour[hour] += 1
        if lead.first_response_at is not None:
            self.responses[(response_time.week_of(lead.first_response_at),
                            response_time.bucket_of(response_time.response_seconds(lead)))] += 1


def _response_drift(counted: _ResponseCount, now, repair: bool) -> list[Drift]:
    """Compare the response-time rollups with the leads: the leads waiting, the hours the dashboard reads, every
    week's histogram (older hours are never read again and expire: not checked). Repairs go to shard 0."""
    stored_waiting, stored_hours, stored_responses = _stored_response_rollups(now)
    drift = [Drift("waiting", stored_waiting, counted.waiting)] if stored_waiting != counted.waiting else []
    drift += [Drift(f"waiting:{hour:%Y-%m-%dT%H}", stored_hours[hour], counted.per_hour[hour])
              for hour in counted.hours if stored_hours[hour] != counted.per_hour[hour]]
    drift += [Drift(f"response:{monday.isoformat()}:{bucket:02d}", stored_responses[(monday, bucket)],
                    counted.responses[(monday, bucket)])
              for monday, bucket in sorted(set(counted.responses) | set(stored_responses))
              if stored_responses[(monday, bucket)] != counted.responses[(monday, bucket)]]
    if repair:
        for item in drift:
            delta = item.actual - item.stored
            kind, _, value = item.counter_id.partition(":")
            if kind == "waiting" and not value:
                Tally(tallies.status_shard_key(0)).update(actions=tallies.status_shard_actions([Tally.n_waiting.add(delta)]))
            elif kind == "waiting":
                response_time.repair_hour(datetime.strptime(value, "%Y-%m-%dT%H").replace(tzinfo=UTC), delta)
            else:
                monday, _, bucket = value.partition(":")
                response_time.repair_response(date.fromisoformat(monday), int(bucket), delta)
    return drift


def audit(*, repair: bool = False) -> tuple[int, list[Drift]]:
    """Scan the leads (consistently), sum the tally shards, and list (or fix) every difference.

    Checks every status, and every day that has leads or a tally. A repair adds the difference to shard
    0, so the sums come right without touching the other shards; run it while nobody is submitting or
    editing, or a change made meanwhile is counted twice or not at all. Leads DynamoDB's TTL removed
    (retention) are repaired here too when no stream handler took them off the tallies (containers);
    leads expired but not yet removed are still leads, and still counted, on both sides. A repair first gives
    every status shard the tally-index key (backfill_tally_keys), so the inbox's Query reads the sums checked here.
    """
    if repair:
        backfill_tally_keys()
    statuses: Counter[str] = Counter({status: 0 for status in STATUSES})
    days: Counter[date] = Counter()
    scanned = 0
    now = utcnow()
    counted = _ResponseCount(hours=response_time.hours_read(now))
    for lead in Lead.scan(attributes_to_get=["status", "created_at", "first_response_at"], consistent_read=True):
        scanned += 1
        counted.add(lead)
        statuses[lead.status] += 1
        days[lead.created_at.date()] += 1
    stored_statuses, stored_days = _stored_tallies()
    drift = [Drift(f"status:{status}", stored_statuses[status], statuses[status])
             for status in STATUSES if stored_statuses[status] != statuses[status]]
    drift += [Drift(f"day:{day.isoformat()}", stored_days[day], days[day])
              for day in sorted(set(days) | set(stored_days)) if stored_days[day] != days[day]]
    if repair:
        for item in drift:
            kind, _, value = item.counter_id.partition(":")
            delta = item.actual - item.stored
            if kind == "status":
                Tally(tallies.status_shard_key(0)).update(
                    actions=tallies.status_shard_actions([getattr(Tally, tallies.status_attribute(value)).add(delta)]))
            else:
                day = date.fromisoformat(value)
                Tally(tallies.month_shard_key(tallies.month_of(day), 0)).update(
                    actions=[getattr(Tally, tallies.day_attribute(day)).add(delta)])
    return scanned, drift + _response_drift(counted, now, repair)


def backfill_index_keys() -> tuple[int, int]:
    """Give every lead the derived index keys it lacks (or has stale); return (leads scanned, leads written).

    For leads stored before an index existed (owner-index, owner-status-index, email-prefix-index): DynamoDB
    indexes skip items without their key, so such leads would be missing from those listings. A Scan
    (offline, never in a request); each write sets only the derived keys, on condition that the lead still
    has the version read, and without bumping it. An edit meanwhile writes every key itself, so a refused
    write is already right. Safe to run again, and while people work: a second run writes nothing.
    """
    scanned = written = 0
    for lead in Lead.scan(consistent_read=True, attributes_to_get=[
            "lead_id", "email", "status", "owner", "due_at", "version", *Lead.DERIVED_KEYS]):
        scanned += 1
        stored = {key: getattr(lead, key) for key in Lead.DERIVED_KEYS}
        lead.refresh_index_keys()
        wanted = {key: getattr(lead, key) for key in Lead.DERIVED_KEYS}
        if stored == wanted:
            continue
        keys = LeadIndexKeys(lead.lead_id)
        try:
            with conditional(keys):
                # A key a lead has no value for (due_owner without a follow-up) is removed, never NULL.
                keys.update(actions=[getattr(LeadIndexKeys, key).set(value) if value is not None
                                     else getattr(LeadIndexKeys, key).remove() for key, value in wanted.items()],
                            condition=LeadIndexKeys.version == lead.version)
        except Refused:
            continue  # edited (or deleted) meanwhile: the edit wrote the keys
        written += 1
    return scanned, written


def backfill_tally_keys() -> int:
    """Give the status shards written before the tally-index its key (tally_kind); return how many were given it.

    Until then the inbox's counts (one Query on that index) leave those shards out. Settings only ever add
    shards, so the configured count covers every shard ever written. Safe to run again and while people work:
    each write is conditioned on the shard existing without the key, and sets nothing else.
    """
    written = 0
    for key in tallies.status_keys():
        try:
            with conditional(Tally(key)):
                Tally(key).update(actions=[Tally.tally_kind.set(tallies.STATUS_TALLY)],
                                  condition=Tally.counter_id.exists() & Tally.tally_kind.does_not_exist())
        except Refused:
            continue  # never written, or already keyed (by a change since, or an earlier run)
        written += 1
    return written


def demo_leads(count: int, *, seed: int = 1, days: int = 90, owners: tuple[str, ...] = ()):
    """Yield `count` plausible leads spread over the last `days` days (deterministic for a seed).

    With `owners`, lead n is owned by each of them in turn and then by nobody (so the owner listings have
    leads too); the random choices stay the same as without.
    """
    rng = random.Random(seed)
    turns = [*owners, None]
    now = utcnow()
    for n in range(count):
        first, last, company = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(COMPANIES)
        domain = f"{company.lower()}.example" if company else rng.choice(["mail.example", "post.example"])
        created = now - timedelta(seconds=rng.randrange(days * 86400))
        lead = Lead(
            lead_id=f"{rng.getrandbits(128):032x}",
            created_at=created,
            updated_at=created,
            name=f"{first} {last}",
            email=f"{first}.{last}{n}@{domain}".lower(),
            company=company or None,
            subject=rng.choice(SUBJECTS),
            message=f"Hello, this is demo lead number {n}. " * rng.randint(1, 8),
            status=rng.choices(STATUSES, weights=[50, 20, 12, 8, 10])[0],
            source="demo",
            owner=turns[n % len(turns)],
            version=1,
        )
        if lead.status != "new":
            # Answered after minutes to days (median about 3 h), never later than now. Drawn from a
            # generator of its own, so the leads themselves stay what they were for a seed.
            answer = random.Random(lead.lead_id).lognormvariate(math.log(3 * 3600), 1.6)
            lead.first_response_at = min(now, created + timedelta(seconds=answer))
        lead.refresh_index_keys()
        yield lead


def seed(leads, *, on_batch=lambda done: None, batch_size: int = 500) -> int:
    """Store leads with their history by BatchWriteItem, then add them to the counters; return how many."""
    totals: Counter = Counter()  # statuses (and "waiting"), days, ("hour", …) and ("response", …) rollups
    written = 0
    pending = []
    for lead in leads:
        pending.append(lead)
        if len(pending) == batch_size:
            written += _write_batch(pending, totals)
            on_batch(written)
            pending = []
    if pending:
        written += _write_batch(pending, totals)
        on_batch(written)
    # BatchWriteItem cannot ADD: one atomic UpdateItem adds every status, then one per month of days, then
    # one per response-time rollup item (leads.domain.response_time).
    statuses = {status: amount for status, amount in totals.items() if isinstance(status, str)}
    if statuses:
        Tally(tallies.status_shard_key(0)).update(actions=tallies.status_shard_actions(
            [getattr(Tally, tallies.status_attribute(s)).add(n) for s, n in statuses.items()]))
    by_month: dict[str, list] = {}
    for day, amount in totals.items():
        if isinstance(day, date):
            by_month.setdefault(tallies.month_of(day), []).append(
                getattr(Tally, tallies.day_attribute(day)).add(amount))
    for month, actions in by_month.items():
        Tally(tallies.month_shard_key(month, 0)).update(actions=actions)
    for key, amount in totals.items():
        if isinstance(key, tuple) and key[0] == "hour":
            response_time.repair_hour(key[1], amount)
        elif isinstance(key, tuple):
            response_time.repair_response(key[1], key[2], amount)
    return written


def _write_batch(leads: list[Lead], totals: Counter) -> int:
    """Write leads and their "created" events (PynamoDB splits them into 25-item requests); count them in totals."""
    now = utcnow()
    with Lead.batch_write() as lead_batch, HistoryEvent.batch_write() as history_batch:
        for lead in leads:
            lead_batch.save(lead)
            history_batch.save(history_event(lead_id=lead.lead_id, actor="seed_demo", action="created",
                                             changes={}, at=lead.created_at, version=1))
            totals[lead.status] += 1
            totals[lead.created_at.date()] += 1
            if response_time.is_waiting(lead):
                totals["waiting"] += 1
                if response_time.hour_tracked(lead.created_at, now):
                    totals[("hour", response_time.hour_of(lead.created_at))] += 1
            elif lead.first_response_at is not None:
                totals[("response", response_time.week_of(lead.first_response_at),
                        response_time.bucket_of(response_time.response_seconds(lead)))] += 1
    return len(leads)


def carry_legacy_notes(*, progress=None) -> dict[str, int]:
    """Carry every lead's old ``notes`` into its timeline (a Scan, so here in a command's code); safe to repeat."""
    counts = {"leads": 0, "carried": 0, "already": 0}
    try:
        for lead in Lead.scan(Lead.notes.exists(), attributes_to_get=["lead_id", "notes"]):
            if not (lead.notes or "").strip():
                continue
            counts["leads"] += 1
            counts["carried" if timeline.legacy_note_migrate(lead_id=lead.lead_id) else "already"] += 1
            if progress:
                progress(counts)
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    return counts
