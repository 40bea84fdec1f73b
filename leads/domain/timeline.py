"""A lead's timeline: notes, each its own entry with author and time, and the one-time tokens of the staff forms.

A note is an event in the lead's history (HistoryEvent, action ``note``, ``text``), beside the changes and
the emailed replies (leads.domain.replies): the lead page reads the whole timeline with one Query, and one
person's export and erasure (leads.domain.subjects, erasure) take notes with the rest of the history.

A note never touches the lead item: adding one bumps no version, so it never turns a colleague's edit of
the status into a conflict. Its transaction is the entry, a ConditionCheck that the lead still exists, and
a ``posted#<form id>`` marker (written on condition it is new), so the resend of one submitted form stores
nothing twice. The edit form's ``notes`` field (the public contract) still works: a non-empty value that
differs from the lead's old ``notes`` becomes a note, in the edit's own transaction when it changes anything.
"""

import hashlib
import json
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from pynamodb.exceptions import PynamoDBException

from leads.domain import retention, selectors, services
from leads.domain.exceptions import LeadNotFound, StorageUnavailable
from leads.storage.models import DeliveryMarker, HistoryEvent, Lead, utcnow
from leads.storage.transactions import Refused, commit

# DynamoDB's items hold 400 KB at most; 4 bytes a character in UTF-8 keeps either far below that (and a
# transaction's 4 MB), with the entry's other attributes.
NOTE_MAX_LENGTH = 10_000
REPLY_MAX_LENGTH = 20_000
SUBJECT_MAX_LENGTH = 200

_signer = signing.TimestampSigner(salt="leads.domain.timeline.form")
# Legacy notes carried over by `manage.py migrate_notes` end their event id with this (and a hash).
LEGACY_SUFFIX = "#notes-"


# --- One-time form tokens ------------------------------------------------------------------------

def new_form_token() -> str:
    """A signed, timestamped id for a freshly rendered note or reply form."""
    return _signer.sign(uuid.uuid4().hex)


def form_id_from_token(token: str) -> str:
    """The form id a token stands for; raises signing.BadSignature (SignatureExpired when too old)."""
    if not isinstance(token, str) or len(token) > 200:
        raise signing.BadSignature("Not a form token")
    return _signer.unsign(token, max_age=settings.LEADS_FORM_MAX_AGE)


def posted_marker(form_id: str, now: datetime) -> DeliveryMarker:
    """The marker saying this form was stored; it outlives every token that could still name it."""
    return DeliveryMarker(f"posted#{form_id}", expires_at=now + timedelta(seconds=settings.LEADS_FORM_MAX_AGE, days=1))


def posted(form_id: str) -> bool:
    """True if the form with this id was stored already (its marker exists; one consistent GetItem)."""
    try:
        DeliveryMarker.get(f"posted#{form_id}", consistent_read=True)
    except DeliveryMarker.DoesNotExist:
        return False
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    return True


def new_marker_in(tx, marker: DeliveryMarker) -> None:
    """Write the marker on condition it is new: a second store of the same form is Refused by it."""
    tx.save(marker, condition=DeliveryMarker.counter_id.does_not_exist())


def event_id_at(at: datetime) -> str:
    """A timeline event id: sorts by time, never collides."""
    return f"{HistoryEvent.at.serialize(at)}#{secrets.token_hex(4)}"


def entry_expiry(now: datetime) -> datetime | None:
    """An entry's TTL (retention on): the latest any lead's expiry can be today, so never before its lead's."""
    return retention.expiry(now)


# --- Notes ---------------------------------------------------------------------------------------

def note_entry(*, lead_id: str, actor: str, text: str, at: datetime, event_id: str | None = None) -> HistoryEvent:
    """Build a note's timeline entry."""
    return HistoryEvent(lead_id=lead_id, event_id=event_id or event_id_at(at), at=at, actor=actor, action="note",
                        changes="{}", text=text, expires_at=entry_expiry(at))


def note_add(*, lead_id: str, actor: str, text: str, form_id: str, now: datetime | None = None) -> bool:
    """Add a note to a lead's timeline, once per form; True if this call stored it, False if the form was stored before.

    Raises LeadNotFound if the lead is not (or no longer) there, StorageUnavailable when DynamoDB did not take it.
    """
    now = now or utcnow()
    entry = note_entry(lead_id=lead_id, actor=actor, text=text, at=now)
    marker = posted_marker(form_id, now)

    def fill(tx):
        tx.condition_check(Lead, lead_id, condition=Lead.lead_id.exists())
        tx.save(entry, condition=HistoryEvent.event_id.does_not_exist())
        new_marker_in(tx, marker)

    try:
        commit(fill)
    except Refused as refused:
        if refused.by(marker):
            return False
        raise LeadNotFound(lead_id) from refused
    return True


def edit_form_id(lead_id: str, version: int, text: str) -> str:
    """The edit form carries no token: the same text posted again on the same version is the same note."""
    return hashlib.sha256(f"edit\n{lead_id}\n{version}\n{text}".encode()).hexdigest()[:32]


def lead_edit(*, lead_id: str, expected_version: int, actor: str, current: Lead | None = None,
              status: str, owner: str | None, notes: str | None) -> tuple[Lead, dict, bool]:
    """The edit form: save status and owner (services.lead_update), and make a changed `notes` value a note.

    Returns the lead, the changes made and whether a note was added. The note commits in the edit's
    transaction when the edit changes anything, on its own otherwise (a note is never a conflict).
    Raises what lead_update raises; nothing is written then.
    """
    current = current or selectors.lead_get(lead_id=lead_id)
    text = (notes or "").strip()
    if not text or text == (current.notes or "").strip():
        lead, changes = services.lead_update(lead_id=lead_id, expected_version=expected_version, actor=actor,
                                             current=current, status=status, owner=owner)
        return lead, changes, False
    now = utcnow()
    form_id = edit_form_id(lead_id, expected_version, text)
    entry = note_entry(lead_id=lead_id, actor=actor, text=text, at=now)
    marker = posted_marker(form_id, now)

    def also(tx):
        tx.save(entry, condition=HistoryEvent.event_id.does_not_exist())
        new_marker_in(tx, marker)

    lead, changes = services.lead_update(lead_id=lead_id, expected_version=expected_version, actor=actor,
                                         current=current, also=also, status=status, owner=owner)
    if changes:
        return lead, changes, True
    return lead, changes, note_add(lead_id=lead_id, actor=actor, text=text, form_id=form_id, now=now)


def legacy_notes(lead: Lead, entries) -> str | None:
    """The lead's old ``notes`` text while `manage.py migrate_notes` has not carried it into the timeline yet."""
    text = (lead.notes or "").strip()
    if not text:
        return None
    suffix = LEGACY_SUFFIX + _legacy_hash(lead.lead_id, text)
    return None if any(entry.event_id.endswith(suffix) for entry in entries) else text


# --- Carrying the old notes field over (manage.py migrate_notes) ---------------------------------

def _legacy_hash(lead_id: str, text: str) -> str:
    return hashlib.sha256(f"{lead_id}\n{text}".encode()).hexdigest()[:12]


def _legacy_author(lead: Lead, text: str) -> tuple[str, datetime]:
    """Who last set these notes and when, from the lead's history; else nobody known, at the lead's creation.

    History events never change, so the same notes always give the same answer (and the same entry id).
    """
    found = ("", lead.created_at)
    for event in HistoryEvent.query(lead.lead_id, consistent_read=True):
        if event.action == "changed" and (json.loads(event.changes).get("notes") or [None, None])[1] == lead.notes:
            found = (event.actor, event.at)
    return found


def legacy_note_migrate(*, lead_id: str, attempts: int = 5) -> bool:
    """Carry one lead's old ``notes`` field into its timeline; True if this call wrote the entry.

    The entry's id is made from the lead, the text and the history (deterministic), and written on condition
    it is new, so running again writes nothing. A ConditionCheck that the lead still holds exactly the text
    read makes a concurrent edit of the old field (an old server during a deploy) read again. The field
    itself is left as it was: an edit form still open from before compares against it.
    """
    for _ in range(attempts):
        try:
            lead = Lead.get(lead_id, consistent_read=True)
        except Lead.DoesNotExist:
            return False
        text = (lead.notes or "").strip()
        if not text:
            return False
        actor, at = _legacy_author(lead, lead.notes)
        event_id = f"{HistoryEvent.at.serialize(at)}{LEGACY_SUFFIX}{_legacy_hash(lead_id, text)}"
        entry = note_entry(lead_id=lead_id, actor=actor, text=text, at=at, event_id=event_id)
        # Never before the lead's own expiry or its history's (retention on); `at` may be long past.
        entry.expires_at = max(filter(None, [lead.history_expires_at, lead.expires_at, entry_expiry(utcnow())]),
                               default=None)

        def fill(tx):
            tx.condition_check(Lead, lead_id, condition=Lead.notes == lead.notes)
            tx.save(entry, condition=HistoryEvent.event_id.does_not_exist())

        try:
            commit(fill)
        except Refused as refused:
            if refused.by(entry):
                return False  # carried over before
            continue  # the lead changed meanwhile: read it again
        return True
    raise StorageUnavailable("The lead kept changing while its notes were carried over")
