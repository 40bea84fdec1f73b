"""Emails sales staff about new leads, through Django's email framework."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from .models import Lead

logger = logging.getLogger(__name__)


def _one_line(text: str) -> str:
    """Collapse a value for use in a header: no newlines can smuggle in extra headers."""
    return " ".join(text.split())


def notify_new_lead(lead: Lead) -> bool:
    """Send the new-lead email; log and swallow mail failures, since the lead is already safe."""
    recipients = settings.LEADS_NOTIFY_EMAILS
    if not recipients:
        return False
    message = EmailMessage(
        subject=_one_line(f"New lead: {lead.subject}")[:200],
        body=render_to_string("leads/email/new_lead.txt", {"lead": lead}),
        to=recipients,
        reply_to=[lead.email],
    )
    try:
        message.send(fail_silently=False)
    except Exception:
        # A broken mail server must never cost us the lead: it is stored, staff will see it.
        logger.exception("Could not send the new-lead email for lead %s", lead.lead_id)
        return False
    return True
