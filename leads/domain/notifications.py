"""Emails sales staff about new leads, through Django's email framework."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from leads.storage.models import Lead

logger = logging.getLogger(__name__)


def delivery_marker_key(lead_id: str) -> str:
    """Key of the DeliveryMarker saying this lead's new-lead email was sent."""
    return f"notified#{lead_id}"


def _one_line(text: str) -> str:
    """Collapse a value for use in a header: no newline can smuggle in another header."""
    return " ".join(text.split())


def send_new_lead_email(lead: Lead) -> bool:
    """Send the new-lead email to LEADS_NOTIFY_EMAILS; False if nobody is configured. Raises on failure."""
    recipients = settings.LEADS_NOTIFY_EMAILS
    if not recipients:
        return False
    EmailMessage(
        subject=_one_line(f"New lead: {lead.subject}")[:200],
        body=render_to_string("leads/email/new_lead.txt", {"lead": lead}),
        to=recipients,
        reply_to=[lead.email],
    ).send(fail_silently=False)
    return True


def notify_new_lead(lead: Lead) -> bool:
    """Send the email right after the lead was stored; log and swallow failures, the lead is safe."""
    try:
        return send_new_lead_email(lead)
    except Exception:
        # A broken mail server must never cost us the lead: it is stored, staff will see it.
        logger.exception("Could not send the new-lead email for lead %s", lead.lead_id)
        return False
