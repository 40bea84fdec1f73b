"""Writes. Each change commits with everything derived from it in one DynamoDB transaction."""

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from . import counters, ratelimit
from .dynamodb import transaction
from .exceptions import RateLimited, StorageUnavailable
from .models import HistoryEvent, Lead, utcnow
from .notifications import notify_new_lead

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """The outcome of a contact-form post: the lead id, and whether this post stored it."""

    lead_id: str
    created: bool


def history_event(*, lead_id: str, actor: str, action: str, changes: dict, at: datetime) -> HistoryEvent:
    """Build a timeline entry; its id sorts by time and never collides."""
    return HistoryEvent(
        lead_id=lead_id,
        event_id=f"{HistoryEvent.at.serialize(at)}#{secrets.token_hex(4)}",
        at=at,
        actor=actor,
        action=action,
        changes=json.dumps(changes, ensure_ascii=False),
    )


def _failed_items(error: TransactWriteError) -> list[int]:
    """Indexes of the transaction items whose condition failed."""
    return [
        index
        for index, reason in enumerate(error.cancellation_reasons or [])
        if reason is not None and reason.code == "ConditionalCheckFailed"
    ]


def lead_submit(
    *,
    lead_id: str,
    name: str,
    email: str,
    subject: str,
    message: str,
    company: str = "",
    source: str = "form",
    client: str | None = None,
    now: datetime | None = None,
) -> Submission:
    """Store a new lead exactly once per lead id, counting it and rate-limiting the client.

    A repeat of an id already stored (double click, browser retry) stores nothing and reports
    ``created=False``. Raises RateLimited when the client is over its allowance, and
    StorageUnavailable when DynamoDB cannot take the write; in both cases nothing is written.
    """
    now = now or utcnow()
    lead = Lead(
        lead_id=lead_id,
        created_at=now,
        updated_at=now,
        name=name,
        email=email,
        company=company or None,
        subject=subject,
        message=message,
        status="new",
        source=source,
    )
    lead.refresh_index_keys()
    window = None
    if client is not None and not settings.LEADS_RATELIMIT_DISABLED:
        window = ratelimit.current_window(
            scope="contact",
            client=client,
            limit=settings.LEADS_RATELIMIT_COUNT,
            period=settings.LEADS_RATELIMIT_WINDOW,
            now=now,
        )
    try:
        with transaction() as tx:
            # Item 0: the lead itself, only if this id was never stored.
            tx.save(lead, condition=Lead.lead_id.does_not_exist())
            tx.save(history_event(lead_id=lead_id, actor="visitor", action="created", changes={}, at=now))
            counters.add_in(tx, counters.status_key("new"), 1)
            counters.add_in(tx, counters.day_key(now.date()), 1)
            if window:
                ratelimit.hit_in(tx, window)
    except TransactWriteError as error:
        failed = _failed_items(error)
        if 0 in failed:
            return Submission(lead_id=lead_id, created=False)
        if failed and window:
            raise RateLimited(window.seconds_left(now)) from error
        raise StorageUnavailable(str(error)) from error
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    notify_new_lead(lead)
    return Submission(lead_id=lead_id, created=True)
