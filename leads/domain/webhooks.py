"""Webhooks: a new lead and each status change, POSTed to the URLs in LEADS_WEBHOOKS (README "Webhooks").

Two kinds. ``slack``: Slack-compatible incoming-webhook JSON, ``{"text": …}``, in the site's language.
``json``: the event as JSON, signed: ``X-Leads-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." +
body)>`` with ``X-Leads-Timestamp: <Unix seconds>``, so a receiver can check who sent it and refuse a
replay (a timestamp more than 5 minutes old, or an event id it has seen).

What leaves the app about a lead (personal data): its id, status (and the previous one), when it was
created, the visitor's name, their company and the subject line, and a link to the lead's staff page —
enough to tell who it is and to open it. Never the email address, the message, notes or who on staff made
the change; the staff page behind the link needs a sign-in.

This module builds events and requests and makes the HTTP calls, with no DynamoDB in it; delivery (the
markers that make it idempotent, the dead letters) is in leads.domain.services. The URLs come only from
settings: nothing a visitor or staff member types is ever a webhook's destination.
"""

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from leads.storage.models import STATUS_LABELS, Lead

CREATED = "lead.created"
STATUS_CHANGED = "lead.status_changed"
SIGNATURE_HEADER = "X-Leads-Signature"
TIMESTAMP_HEADER = "X-Leads-Timestamp"
USER_AGENT = "Leads-Webhooks/1"
# Tries per delivery and the pause before each retry: few and short while someone waits for the page;
# more on the stream (Lambda), which nobody waits for, still well inside the function's timeout.
REQUEST_ATTEMPTS, REQUEST_PAUSE = 2, 0.25
STREAM_ATTEMPTS, STREAM_PAUSE = 3, 0.5
# Statuses that a retry cannot change: a redirect (never followed) or the receiver refused the request itself.
_FINAL_STATUSES = range(300, 500)
_RETRYABLE_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class Target:
    """One entry of LEADS_WEBHOOKS."""

    kind: str  # "slack" or "json"
    name: str
    url: str
    secret: str | None = None


def targets() -> list[Target]:
    """The configured webhooks (settings.LEADS_WEBHOOKS, checked at start-up)."""
    return [Target(**hook) for hook in settings.LEADS_WEBHOOKS]


@dataclass(frozen=True)
class Event:
    """Something a webhook is told about. `event_id` is the same at every try and redelivery."""

    event_id: str
    type: str
    lead_id: str
    occurred_at: datetime
    status: str
    previous_status: str | None
    created_at: datetime
    name: str
    company: str | None
    subject: str
    # The lead's own expiry (retention): markers and dead letters never outlive it.
    lead_expires_at: datetime | None = None


def event_id(lead_id: str, version: int) -> str:
    """An event's id: the lead and its version after the change, so each change has exactly one."""
    return f"{lead_id}-v{version}"


def _event(lead: Lead, *, type: str, version: int, occurred_at: datetime, previous_status: str | None) -> Event:
    return Event(event_id=event_id(lead.lead_id, version), type=type, lead_id=lead.lead_id, occurred_at=occurred_at,
                 status=lead.status, previous_status=previous_status, created_at=lead.created_at, name=lead.name,
                 company=lead.company, subject=lead.subject, lead_expires_at=lead.expires_at)


def lead_created(lead: Lead) -> Event:
    """The event for a lead just stored (version 1)."""
    return _event(lead, type=CREATED, version=1, occurred_at=lead.created_at, previous_status=None)


def status_changed(lead: Lead, *, previous_status: str, version: int) -> Event:
    """The event for a status change; `lead` as saved, `version` its version after the save."""
    return _event(lead, type=STATUS_CHANGED, version=version, occurred_at=lead.updated_at,
                  previous_status=previous_status)


def from_stream(record: dict) -> Event | None:
    """The event a leads-table stream record stands for (a new lead, a status change), or None."""
    images = record.get("dynamodb", {})
    if record.get("eventName") == "INSERT":
        lead = Lead.from_raw_data(images["NewImage"])
        # A lead restored from the trash is an INSERT too, but not a new lead.
        return lead_created(lead) if lead.updated_at == lead.created_at else None
    if record.get("eventName") == "MODIFY" and images.get("OldImage") and images.get("NewImage"):
        old, new = Lead.from_raw_data(images["OldImage"]), Lead.from_raw_data(images["NewImage"])
        if old.status != new.status:
            return status_changed(new, previous_status=old.status, version=new.version)
    return None


def lead_link(lead_id: str) -> str | None:
    """The lead's staff page (LEADS_WEBHOOK_LEAD_URL), or None when no address is configured."""
    template = settings.LEADS_WEBHOOK_LEAD_URL
    return template.replace("{lead_id}", lead_id) if template else None


# --- What is sent ------------------------------------------------------------------------------------

def _iso(moment: datetime) -> str:
    return Lead.created_at.serialize(moment)


def json_document(event: Event) -> dict:
    """The ``json`` kind's body: the event and the lead's few fields (module docstring: what leaves the app)."""
    return {
        "id": event.event_id,
        "type": event.type,
        "occurred_at": _iso(event.occurred_at),
        "lead": {
            "id": event.lead_id,
            "status": event.status,
            "previous_status": event.previous_status,
            "created_at": _iso(event.created_at),
            "name": event.name,
            "company": event.company,
            "subject": event.subject,
            "url": lead_link(event.lead_id),
        },
    }


def _slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup (<!channel>, <url|label>): a visitor's text must not ping or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(event: Event) -> str:
    """The ``slack`` kind's message, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        who = _slack_escape(" ".join(event.name.split()))
        if event.company:
            who = f"{who} ({_slack_escape(' '.join(event.company.split()))})"
        subject = _slack_escape(" ".join(event.subject.split()))
        if event.type == CREATED:
            text = _("New lead from %(who)s: %(subject)s") % {"who": who, "subject": subject}
        else:
            text = _("Lead from %(who)s moved from %(before)s to %(after)s: %(subject)s") % {
                "who": who, "subject": subject,
                "before": STATUS_LABELS.get(event.previous_status, event.previous_status),
                "after": STATUS_LABELS.get(event.status, event.status)}
        link = lead_link(event.lead_id)
        if link:
            text += f" <{link}|{_('Open the lead')}>"
        return text


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Leads-Signature`` value: ``v1=`` + hex HMAC-SHA256 over ``timestamp + "." + body``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def request_for(target: Target, event: Event, *, now: float | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one try; a ``json`` one is signed afresh at each try (its own timestamp)."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if target.kind == "slack":
        return json.dumps({"text": slack_text(event)}, ensure_ascii=False).encode(), headers
    body = json.dumps(json_document(event), ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time() if now is None else now)
    headers.update({"X-Leads-Event": event.type, "X-Leads-Event-Id": event.event_id,
                    TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(target.secret, timestamp, body)})
    return body, headers


# --- Sending -----------------------------------------------------------------------------------------

class DeliveryError(Exception):
    """One try failed; the message is a short reason for the admin page ("timeout", "HTTP 500"…)."""

    def __init__(self, reason: str, *, final: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.final = final  # a retry cannot help (the receiver refused the request itself)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure, never followed: the destination is the configured URL, and only that."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _reason(error: BaseException) -> str:
    """A short, data-free reason for a failed try."""
    cause = getattr(error, "reason", error)
    if isinstance(cause, (TimeoutError, socket.timeout)) or isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return "DNS failure"
    if isinstance(cause, ssl.SSLError | ssl.CertificateError):
        return "TLS error"
    if isinstance(error, http.client.HTTPException):
        return "bad response"
    return "connection error"


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> None:
    """POST once; return on a 2xx answer, raise DeliveryError otherwise. `timeout` bounds each socket wait."""
    request = urllib.request.Request(target.url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(1024)  # a little of the answer, so the receiver sees a clean close; never stored
    except urllib.error.HTTPError as error:
        error.close()
        final = error.code in _FINAL_STATUSES and error.code not in _RETRYABLE_STATUSES
        raise DeliveryError(f"HTTP {error.code}", final=final) from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise DeliveryError(_reason(error)) from None


@dataclass(frozen=True)
class Outcome:
    """How one webhook's delivery of one event went."""

    delivered: bool
    attempts: int
    error: str = ""


NOT_TRIED = "not tried: out of time"
# Below this many seconds left, a try is not started: it would be cut short anyway.
_MIN_TRY_SECONDS = 0.05


def send(target: Target, event: Event, *, attempts: int, pause: float, deadline: float, sleep=time.sleep) -> Outcome:
    """Try up to `attempts` times, doubling the pause between tries, never past `deadline` (time.monotonic)."""
    error = NOT_TRIED
    for attempt in range(attempts):
        if attempt:
            wait = pause * 2 ** (attempt - 1)
            if deadline - time.monotonic() < wait + _MIN_TRY_SECONDS:
                return Outcome(False, attempt, error)
            sleep(wait)
        left = deadline - time.monotonic()
        if left < _MIN_TRY_SECONDS:
            return Outcome(False, attempt, error)
        body, headers = request_for(target, event)
        try:
            post(target, body, headers, timeout=min(settings.LEADS_WEBHOOK_TIMEOUT, left))
        except DeliveryError as failure:
            error = failure.reason
            if failure.final:
                return Outcome(False, attempt + 1, error)
            continue
        return Outcome(True, attempt + 1)
    return Outcome(False, attempts, error)


# One time budget for all webhooks of one request (LEADS_WEBHOOK_REQUEST_BUDGET), shared by a bulk change.
_deadline: ContextVar[float | None] = ContextVar("webhook_deadline", default=None)


@contextmanager
def request_budget():
    """Yield the deadline (time.monotonic) all webhooks sent in this block share; nested blocks share the outer one."""
    current = _deadline.get()
    if current is not None:
        yield current
        return
    token = _deadline.set(time.monotonic() + settings.LEADS_WEBHOOK_REQUEST_BUDGET)
    try:
        yield _deadline.get()
    finally:
        _deadline.reset(token)
