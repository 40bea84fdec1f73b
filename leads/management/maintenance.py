"""Offline maintenance: recompute counters from the leads (a Scan, never in a request), seed demo data."""

import random
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import timedelta

from leads import counters
from leads.models import STATUSES, Counter, HistoryEvent, Lead, utcnow
from leads.services import history_event

FIRST_NAMES = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Mei", "Jonas", "Amara", "Ravi", "Sofia", "Omar", "Ingrid"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Johnson", "Okafor", "Tanaka", "Weber", "Diallo", "Patel", "Rossi"]
COMPANIES = ["Acme", "Northwind", "Contoso", "Fabrikam", "Tailspin", "Globex", "Initech", "Umbrella", "Hooli", ""]
SUBJECTS = ["Pricing for our team", "Demo request", "Integration question", "Partnership", "Data residency",
            "Invoice question", "Upgrade plan", "Security review"]


@dataclass
class Drift:
    """One counter whose stored value differs from what the leads say."""

    counter_id: str
    stored: int
    actual: int


def audit(*, repair: bool = False) -> tuple[int, list[Drift]]:
    """Scan the leads, recompute status and daily counters, and list (or fix) every difference."""
    actual: Tally[str] = Tally()
    scanned = 0
    for lead in Lead.scan(attributes_to_get=["status", "created_at"]):
        scanned += 1
        actual[counters.status_key(lead.status)] += 1
        actual[counters.day_key(lead.created_at.date())] += 1
    for status in STATUSES:
        actual.setdefault(counters.status_key(status), 0)
    stored = {
        c.counter_id: int(c.tally)
        for c in Counter.scan(Counter.counter_id.startswith("status#") | Counter.counter_id.startswith("day#"))
    }
    drift = [
        Drift(key, stored.get(key, 0), actual.get(key, 0))
        for key in sorted(set(actual) | set(stored))
        if stored.get(key, 0) != actual.get(key, 0)
    ]
    if repair:
        with Counter.batch_write() as batch:
            for item in drift:
                batch.save(Counter(item.counter_id, tally=item.actual))
    return scanned, drift


def demo_leads(count: int, *, seed: int = 1, days: int = 90):
    """Yield `count` plausible leads spread over the last `days` days (deterministic for a seed)."""
    rng = random.Random(seed)
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
            version=1,
        )
        lead.refresh_index_keys()
        yield lead


def seed(leads, *, on_batch=lambda done: None, batch_size: int = 500) -> int:
    """Store leads with their history by BatchWriteItem, then add them to the counters; return how many."""
    totals: Tally[str] = Tally()
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
    # BatchWriteItem cannot ADD, so counters get one atomic UpdateItem each (a few hundred at most).
    for counter_id, amount in totals.items():
        Counter(counter_id).update(actions=[Counter.tally.add(amount)])
    return written


def _write_batch(leads: list[Lead], totals: Tally[str]) -> int:
    """Write leads and their "created" events (PynamoDB splits them into 25-item requests)."""
    with Lead.batch_write() as lead_batch, HistoryEvent.batch_write() as history_batch:
        for lead in leads:
            lead_batch.save(lead)
            history_batch.save(history_event(lead_id=lead.lead_id, actor="seed_demo", action="created",
                                             changes={}, at=lead.created_at, version=1))
            totals[counters.status_key(lead.status)] += 1
            totals[counters.day_key(lead.created_at.date())] += 1
    return len(leads)
