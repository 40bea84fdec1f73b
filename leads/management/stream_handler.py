"""The leads table's DynamoDB Stream on Lambda: email sales about each new lead (LEADS_NOTIFY_VIA=stream),
POST each new lead and status change to LEADS_WEBHOOKS (leads.domain.webhooks), and take each lead
DynamoDB's TTL removes (LEADS_RETENTION_DAYS) off the tallies.

Zappa routes the stream's batches here (the "events" entry, with the stream's ARN, that `manage.py
deploy` gives Zappa; it creates the trigger too). Delivery is at least once: Lambda retries a batch
from the first record reported as failed, so each sent email leaves
a DeliveryMarker (``notified#<lead_id>`` in the counters table, expiring after 14 days, far beyond the
stream's 24 hours, or with the lead if that is sooner) and a lead with a marker is skipped. If the
function dies between sending and writing the marker, the retry sends that email again: a rare
duplicate rather than a lost lead.

A TTL removal is a REMOVE record whose ``userIdentity`` is the DynamoDB service itself; its old image
(the stream is NEW_AND_OLD_IMAGES) says which status and day lose one. The subtraction commits with an
``expired#…`` marker written on condition it is new (services.lead_expired), so a redelivered record
subtracts nothing; then any history the lead left behind is deleted. A REMOVE made by the app (a staff
delete, an erasure) already adjusted the tallies in its own transaction and is ignored here.
"""

import logging
import os
import time
from datetime import timedelta

from pynamodb.exceptions import PynamoDBException

from leads.domain import retention, selectors, services, webhooks
from leads.domain.notifications import send_new_lead_email
from leads.storage.models import Lead, utcnow

logger = logging.getLogger(__name__)

MARKER_TTL = timedelta(days=14)
# Never start an email the function's timeout could cut off: leave it, and the rest, for the retry.
SPARE_MILLISECONDS = 5000


def _setup_django() -> None:
    """Set Django up if nobody has (Zappa's handler normally has, for django_settings apps)."""
    from django.apps import apps

    if not apps.ready:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings")
        django.setup()


def _notify(record: dict) -> None:
    """Email sales about the lead in an INSERT record, once; raise if the email could not be sent."""
    lead = Lead.from_raw_data(record["dynamodb"]["NewImage"])
    if lead.updated_at != lead.created_at:
        return  # a lead restored from the trash is an INSERT too, but not a new lead
    if selectors.delivery_marked(lead_id=lead.lead_id) or not send_new_lead_email(lead):
        return
    try:
        # Never kept longer than the lead itself (retention).
        services.delivery_mark(lead_id=lead.lead_id, expires_at=retention.capped(utcnow() + MARKER_TTL, lead.expires_at))
    except PynamoDBException:
        # Sent: reporting a failure would only make the retry send it again.
        logger.exception("Sent the new-lead email for lead %s but could not record it", lead.lead_id)


def _send_webhooks(record: dict, context) -> None:
    """POST a new lead or a status change to LEADS_WEBHOOKS, once per webhook (DeliveryMarker ``webhook#…``).

    Tries and pauses stop short of the function's timeout; a webhook left with no try at all raises
    WebhooksDeferred (the record comes again), one that failed every try is dead-lettered (admin page).
    """
    if not webhooks.targets() or not _on_leads_table(record):
        return
    event = webhooks.from_stream(record)
    if event is None:
        return
    remaining = getattr(context, "get_remaining_time_in_millis", lambda: 60_000)()
    deadline = time.monotonic() + (remaining - SPARE_MILLISECONDS) / 1000
    services.webhooks_deliver(event=event, deadline=deadline, attempts=webhooks.STREAM_ATTEMPTS,
                              pause=webhooks.STREAM_PAUSE, defer_untried=True)


def _is_status_change(record: dict) -> bool:
    """A MODIFY of this deployment's leads table (the webhooks tell which ones change the status)."""
    return record.get("eventName") == "MODIFY" and _on_leads_table(record)


def _expire(record: dict) -> None:
    """Take a lead removed by TTL off the tallies (once), then delete the history it left; raise on failure."""
    image = record["dynamodb"].get("OldImage")
    if not image:
        # A stream still on NEW_IMAGE: retrying cannot help. The audit (leads_audit --repair) puts it right.
        logger.error("A lead removed by TTL came without its old image: the leads stream must be "
                     "NEW_AND_OLD_IMAGES; run leads_audit --repair (record %s)", record["dynamodb"].get("SequenceNumber"))
        return
    lead = Lead.from_raw_data(image)
    services.lead_expired(lead=lead)
    services.lead_history_purge(lead_id=lead.lead_id)


def _on_leads_table(record: dict) -> bool:
    table = record.get("eventSourceARN", "").partition(":table/")[2].split("/")[0]
    return table == Lead.Meta.table_name


def _is_new_lead(record: dict) -> bool:
    """An INSERT into this deployment's leads table."""
    return record.get("eventName") == "INSERT" and _on_leads_table(record)


# How DynamoDB Streams names the TTL process as the one that removed an item (a user's delete has no
# userIdentity at all).
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def _is_ttl_removal(record: dict) -> bool:
    """A REMOVE from this deployment's leads table made by DynamoDB's TTL, not by the app."""
    identity = record.get("userIdentity") or {}
    return (record.get("eventName") == "REMOVE" and _on_leads_table(record)
            and all(identity.get(name) == value for name, value in TTL_IDENTITY.items()))


def _failures(records: list[dict]) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]} for record in records]}


def handle(event: dict, context=None) -> dict:
    """Email each new lead and uncount each lead TTL removed; on a failure, report it and every record after it."""
    _setup_django()
    from django.conf import settings

    records = event.get("Records", [])
    for index, record in enumerate(records):
        if _is_new_lead(record):
            work, needs, failed = _notify, settings.EMAIL_TIMEOUT * 1000, "send the new-lead email"
        elif _is_ttl_removal(record):
            work, needs, failed = _expire, settings.DYNAMODB_READ_TIMEOUT * 1000, "uncount the lead removed by TTL"
        elif _is_status_change(record) and settings.LEADS_WEBHOOKS:
            work, needs, failed = (lambda _record: None), 0, "send the webhooks"
        else:
            continue
        remaining = getattr(context, "get_remaining_time_in_millis", lambda: float("inf"))()
        if remaining < needs + SPARE_MILLISECONDS:
            logger.warning("Out of time: %d stream records left for the retry", len(records) - index)
            return _failures(records[index:])
        try:
            work(record)
            _send_webhooks(record, context)
        except services.WebhooksDeferred:
            logger.warning("Out of time for the webhooks: %d stream records left for the retry", len(records) - index)
            return _failures(records[index:])
        except Exception:
            # Lambda retries from the first failure (the lowest sequence number reported), so the
            # records after it are reported too: they will come again, and in order.
            logger.exception("Could not %s for stream record %s", failed, record["dynamodb"].get("SequenceNumber"))
            return _failures(records[index:])
    return {"batchItemFailures": []}
