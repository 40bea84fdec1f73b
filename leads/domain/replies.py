"""Replying to a visitor from the lead page: the email, its place in the timeline, and ``new`` → ``contacted``.

Record first, then send. A reply is stored as a timeline entry (HistoryEvent, action ``reply``) with its
subject and text, delivery ``sending``, together with the form's ``posted#<form id>`` marker and a
ConditionCheck that the lead is still at the version the page showed (someone else's change meanwhile is
a conflict: nothing stored, nothing sent, the text kept in the form). Only then is the email sent,
through Django's email backend. After it went out, ONE transaction records it: the entry becomes
``sent``, and the lead is updated (the version guard of any edit) — ``new`` becomes ``contacted`` with its
history event and tallies when LEADS_REPLY_MARKS_CONTACTED is on, retention counts it as activity.
If the email could not be sent, the entry becomes ``failed`` and keeps the text for a Retry.

Never twice: a resend of the same form finds its marker and sends nothing; a retry first claims the
entry (``failed`` → ``sending``, conditional), so two clicks send once. An entry left ``sending`` (the
process died between the send and the record) is shown as not confirmed, never sent again by itself.
Nothing here logs or raises with the text, the subject or an address.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from pynamodb.exceptions import PynamoDBException

from leads.domain import response_time, selectors, services, tallies, timeline
from leads.domain.exceptions import LeadConflict, LeadNotFound, StorageUnavailable
from leads.storage.models import HistoryEvent, Lead, utcnow
from leads.storage.transactions import Refused, commit, conditional

logger = logging.getLogger(__name__)

SENDING, SENT, FAILED = "sending", "sent", "failed"
# Outcomes of reply_send / reply_retry.
DUPLICATE = "duplicate"  # this form was stored before: nothing sent again
UNRECORDED = "unrecorded"  # sent, but DynamoDB did not take the record: the entry shows "not confirmed"
BUSY = "busy"  # a retry of an entry that is no longer failed (sent, or being sent by another click)
# Fresh reads of the lead when someone else's edit gets between reading it and recording a sent reply.
RECORD_ATTEMPTS = 3


def default_subject(lead: Lead) -> str:
    """The reply's prefilled subject: "Re: <the lead's subject>" (once), cut to the subject's limit."""
    subject = " ".join(lead.subject.split())
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return subject[:timeline.SUBJECT_MAX_LENGTH]


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Sender:
    """The staff member a reply is from: their name shows, the site's address sends, replies go to them."""

    email: str
    name: str


def reply_message(*, lead: Lead, entry: HistoryEvent, sender: Sender) -> EmailMessage:
    """The email: from DEFAULT_FROM_EMAIL's address under the sender's name, Reply-To the sender."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    name = _one_line(sender.name)
    return EmailMessage(
        subject=_one_line(entry.subject or ""),
        body=entry.text,
        from_email=formataddr((name, address)) if name else settings.DEFAULT_FROM_EMAIL,
        to=[lead.email],
        reply_to=[sender.email],
    )


def reply_send(*, lead: Lead, expected_version: int, sender: Sender, subject: str, text: str, form_id: str,
               now: datetime | None = None) -> str:
    """Record the reply, send it, record that it went out; return SENT, FAILED, DUPLICATE or UNRECORDED.

    `lead` is the lead as the page's request just read it. Raises LeadConflict (with the current lead)
    when it moved on since `expected_version`, LeadNotFound when it is gone, StorageUnavailable when
    DynamoDB did not take the reply: in all three nothing was stored and nothing sent.
    """
    if lead.version != expected_version:
        if timeline.posted(form_id):
            return DUPLICATE  # the resend of a reply that went out (and moved the lead on) while its answer was lost
        raise LeadConflict(current=lead)
    now = now or utcnow()
    entry = HistoryEvent(lead_id=lead.lead_id, event_id=timeline.event_id_at(now), at=now, actor=sender.email,
                         action="reply", changes="{}", subject=subject, text=text, delivery=SENDING,
                         expires_at=timeline.entry_expiry(now))
    marker = timeline.posted_marker(form_id, now)

    def fill(tx):
        tx.condition_check(Lead, lead.lead_id, condition=Lead.version == expected_version)
        tx.save(entry, condition=HistoryEvent.event_id.does_not_exist())
        timeline.new_marker_in(tx, marker)

    try:
        commit(fill)
    except Refused as refused:
        if refused.by(marker):
            return DUPLICATE
        gone = services._conflict_or_gone(lead.lead_id)
        if isinstance(gone, LeadConflict):
            gone = LeadConflict(current=selectors.lead_get(lead_id=lead.lead_id))
        raise gone from refused
    return _deliver(lead, entry, sender)


def reply_retry(*, lead_id: str, event_id: str, sender_for: Callable[[str], Sender]) -> str:
    """Send a failed reply again (from its author, `sender_for(actor)`); SENT, FAILED, UNRECORDED or BUSY.

    Raises LeadNotFound when the lead or the reply is not there, StorageUnavailable when DynamoDB fails.
    """
    try:
        entry = HistoryEvent.get(lead_id, event_id, consistent_read=True)
    except HistoryEvent.DoesNotExist:
        raise LeadNotFound(lead_id) from None
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    if entry.action != "reply":
        raise LeadNotFound(lead_id)
    lead = selectors.lead_get(lead_id=lead_id)
    try:
        with conditional(entry):
            entry.update(actions=[HistoryEvent.delivery.set(SENDING)], condition=HistoryEvent.delivery == FAILED)
    except Refused:
        return BUSY
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    return _deliver(lead, entry, sender_for(entry.actor))


def _deliver(lead: Lead, entry: HistoryEvent, sender: Sender) -> str:
    """Send a reply claimed ``sending``; then record it sent (with the lead's change) or failed."""
    try:
        reply_message(lead=lead, entry=entry, sender=sender).send(fail_silently=False)
    except Exception as error:  # any backend's failure (SMTP, a file, an API): the text stays for a retry
        # The type only: SMTP errors carry the recipients' addresses.
        logger.warning("Could not send a reply on lead %s (%s)", lead.lead_id, type(error).__name__)
        try:
            with conditional(entry):
                entry.update(actions=[HistoryEvent.delivery.set(FAILED)], condition=HistoryEvent.delivery == SENDING)
        except (Refused, PynamoDBException):
            logger.warning("Could not record a failed reply on lead %s; it shows as not confirmed", lead.lead_id)
        return FAILED
    try:
        _record_sent(lead, entry)
    except StorageUnavailable:
        logger.warning("A reply on lead %s was sent, but could not be recorded as sent", lead.lead_id)
        return UNRECORDED
    return SENT


def sent_writes(*, lead: Lead | None, entry: HistoryEvent, now: datetime) -> list[Callable]:
    """The writes of the ONE transaction that records a sent reply, each a function of the transaction.

    The entry becomes ``sent``; the lead (when it still exists) is updated under its version guard:
    updated_at, retention (a reply is activity), and ``new`` → ``contacted`` with its history event and
    tallies when LEADS_REPLY_MARKS_CONTACTED is on, and the lead's first response (response times).
    """
    writes: list[Callable] = [
        lambda tx: tx.update(entry, actions=[HistoryEvent.delivery.set(SENT)], condition=HistoryEvent.delivery == SENDING),
    ]
    if lead is None:
        return writes  # deleted meanwhile: the reply is still recorded in the history the trash keeps
    updated = Lead.from_raw_data(lead.serialize())
    updated.updated_at = now
    lead_actions = [Lead.updated_at.set(now)]
    changes = {}
    if settings.LEADS_REPLY_MARKS_CONTACTED and lead.status == "new":
        updated.status = "contacted"
        updated.refresh_index_keys()
        lead_actions += [Lead.status.set(updated.status), *services.derived_key_actions(updated)]
        changes["status"] = [lead.status, updated.status]
    expires = services._retention_actions(updated, now, lead_actions)
    # The first reply answers the lead (its response time), whether or not the status moves.
    first, condition = response_time.first_response(lead=lead, at=now), Lead.lead_id.exists()
    if first:
        lead_actions += first.actions
        condition &= first.condition
    writes.append(lambda tx: tx.update(updated, actions=list(lead_actions), condition=condition))
    if changes:
        writes.append(lambda tx: tx.save(services.history_event(
            lead_id=lead.lead_id, actor=entry.actor, action="changed", changes=changes, at=now,
            version=lead.version + 1, expires_at=expires)))
    statuses = {"new": -1, "contacted": 1} if changes else {}
    if first:  # one transaction may touch a tally shard once: the status adds go with the rollups
        writes.append(lambda tx: first.add_in(tx, statuses=statuses))
    elif statuses:
        writes.append(lambda tx: tallies.add_in(tx, statuses=statuses))
    return writes


def _record_sent(lead: Lead, entry: HistoryEvent) -> None:
    """Commit sent_writes; an edit that got in between makes it read the lead again and decide afresh."""
    current: Lead | None = lead
    for _ in range(RECORD_ATTEMPTS):
        writes = sent_writes(lead=current, entry=entry, now=utcnow())
        try:
            commit(lambda tx: [write(tx) for write in writes])
            return
        except Refused as refused:
            if refused.by(entry):
                return  # recorded already (no longer "sending")
        try:
            current = selectors.lead_get(lead_id=lead.lead_id)
        except LeadNotFound:
            current = None
        except PynamoDBException as error:
            raise StorageUnavailable(str(error)) from error
    raise StorageUnavailable("The lead kept changing while a sent reply was recorded")
