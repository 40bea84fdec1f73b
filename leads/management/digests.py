"""The daily follow-up digest: one email per active staff member listing their follow-ups overdue and due today.

Run by ``manage.py send_digests`` (a cron line in a container) or, on Lambda, by Zappa's scheduled event
calling ``handle`` (``events`` in zappa_settings.json). Each owner costs one Query on due-index (their
follow-ups due by the end of their today); the roster is one Query. Each digest is claimed first with a
marker written on condition it is new (``digest#<hash of the address>#<their local date>``, services.digest_claim),
so a second run the same day — or two runs at once — sends nothing more; a digest whose email fails is
given back (services.digest_release) for the next run to send.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _, ngettext

from leads.domain import followups, selectors, services
from leads.storage.models import Staff, utcnow

logger = logging.getLogger(__name__)


@dataclass
class DigestRun:
    """How many digests one run sent, skipped (nothing due, or sent already today) and failed to send."""

    sent: int = 0
    nothing_due: int = 0
    already_sent: int = 0
    failed: list[str] = field(default_factory=list)  # never addresses in logs: counted, and named only to the caller


def _zone(staff: Staff) -> str:
    return staff.time_zone or settings.TIME_ZONE


def _email(staff: Staff, digest: followups.Digest, *, site_url: str, day) -> EmailMultiAlternatives:
    """The digest email, in the staff member's language and zone."""
    def link(lead):
        return site_url + reverse("backoffice:lead_detail", args=[lead.lead_id])

    context = {
        "staff": staff, "day": day, "more": digest.more,
        "overdue": [(lead, link(lead)) for lead in digest.overdue],
        "today": [(lead, link(lead)) for lead in digest.today],
        "overdue_url": site_url + reverse("backoffice:followups_overdue"),
        "today_url": site_url + reverse("backoffice:followups_today"),
    }
    subject = _("Follow-ups for %(day)s: %(overdue)s, %(today)s") % {
        "day": day.isoformat(),
        "overdue": ngettext("%(n)d overdue", "%(n)d overdue", len(digest.overdue)) % {"n": len(digest.overdue)},
        "today": ngettext("%(n)d due today", "%(n)d due today", len(digest.today)) % {"n": len(digest.today)},
    }
    message = EmailMultiAlternatives(subject=subject, body=render_to_string("leads/email/digest.txt", context),
                                     to=[staff.email])
    message.attach_alternative(render_to_string("leads/email/digest.html", context), "text/html")
    return message


def send_digests(*, site_url: str | None = None, now: datetime | None = None) -> DigestRun:
    """Send today's digest to every active staff member with follow-ups due, at most once per person and day."""
    now = now or utcnow()
    site_url = (site_url if site_url is not None else settings.LEADS_SITE_URL).rstrip("/")
    run = DigestRun()
    for staff in selectors.staff_list():
        if not staff.active:
            continue
        zone = _zone(staff)
        day = followups.local_today(zone=zone, now=now)
        digest = followups.digest_for(owner=staff.email, zone=zone, now=now)
        if not digest:
            run.nothing_due += 1
            continue
        key = followups.digest_marker_key(owner=staff.email, day=day)
        if not services.digest_claim(key=key, expires_at=now + followups.DIGEST_MARKER_TTL):
            run.already_sent += 1
            continue
        try:
            with translation.override(staff.language or settings.LANGUAGE_CODE), timezone.override(zone):
                _email(staff, digest, site_url=site_url, day=day).send(fail_silently=False)
        except Exception as error:
            # The error's name only: an SMTP refusal's text names the recipient.
            logger.error("Could not send a follow-up digest (%s); it is left for the next run", type(error).__name__)
            services.digest_release(key=key)
            run.failed.append(staff.email)
            continue
        run.sent += 1
    logger.info("Follow-up digests: %d sent, %d with nothing due, %d sent already today, %d failed",
                run.sent, run.nothing_due, run.already_sent, len(run.failed))
    return run


def handle(event: dict, context=None) -> dict:
    """Zappa's scheduled event (zappa_settings.json `events`): send today's digests."""
    from leads.management.stream_handler import _setup_django

    _setup_django()
    if not settings.LEADS_SITE_URL.startswith(("http://", "https://")):
        raise RuntimeError("LEADS_SITE_URL must be set for the follow-up digests' links")
    run = send_digests()
    return {"sent": run.sent, "nothing_due": run.nothing_due, "already_sent": run.already_sent,
            "failed": len(run.failed)}
