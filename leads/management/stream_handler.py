"""The leads table's DynamoDB Stream on Lambda: email sales about each new lead (LEADS_NOTIFY_VIA=stream).

Zappa routes the stream's batches here (the "events" entry, with the stream's ARN, that `manage.py
deploy` gives Zappa; it creates the trigger too). Delivery is at least once: Lambda retries a batch
from the first record reported as failed, so each sent email leaves
a DeliveryMarker (``notified#<lead_id>`` in the counters table, expiring after 14 days, far beyond the
stream's 24 hours) and a lead with a marker is skipped. If the function dies between sending and
writing the marker, the retry sends that email again: a rare duplicate rather than a lost lead.
"""

import logging
import os
from datetime import timedelta

from pynamodb.exceptions import PynamoDBException

from leads.domain import selectors, services
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
        services.delivery_mark(lead_id=lead.lead_id, expires_at=utcnow() + MARKER_TTL)
    except PynamoDBException:
        # Sent: reporting a failure would only make the retry send it again.
        logger.exception("Sent the new-lead email for lead %s but could not record it", lead.lead_id)


def _is_new_lead(record: dict) -> bool:
    """An INSERT into this deployment's leads table."""
    table = record.get("eventSourceARN", "").partition(":table/")[2].split("/")[0]
    return record.get("eventName") == "INSERT" and table == Lead.Meta.table_name


def _failures(records: list[dict]) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]} for record in records]}


def handle(event: dict, context=None) -> dict:
    """Email each new lead in a stream batch; on a failure, report it and every record after it."""
    _setup_django()
    from django.conf import settings

    records = event.get("Records", [])
    for index, record in enumerate(records):
        if not _is_new_lead(record):
            continue
        remaining = getattr(context, "get_remaining_time_in_millis", lambda: float("inf"))()
        if remaining < settings.EMAIL_TIMEOUT * 1000 + SPARE_MILLISECONDS:
            logger.warning("Out of time: %d stream records left for the retry", len(records) - index)
            return _failures(records[index:])
        try:
            _notify(record)
        except Exception:
            # Lambda retries from the first failure (the lowest sequence number reported), so the
            # records after it are reported too: they will come again, and in order.
            logger.exception("Could not send the new-lead email for stream record %s",
                             record["dynamodb"].get("SequenceNumber"))
            return _failures(records[index:])
    return {"batchItemFailures": []}
