"""One person's data, found by their email address: reads for the privacy page, its export and the erasure.

Everything stored for an address hangs off two index queries: the leads' ``email-index`` and the trash's
``email-index``. From each lead id follow its history (a Query on the history table) and its delivery
marker (``notified#<lead_id>``, a GetItem in a BatchGetItem). Every read is a Query on a key or index,
or a (Batch)GetItem — never a Scan — so finding one person costs the same whatever the size of the
tables: per page of index keys (PAGE_SIZE) one Query and two BatchGetItems (full items, since the
indexes project only a few columns; markers), and per lead one Query of its history.

Writes (recording an export, erasing) are leads.domain.erasure.
"""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.crypto import salted_hmac
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from leads.domain.emails import normalise_email
from leads.domain.notifications import delivery_marker_key
from leads.storage.models import (
    ERASED_SUBJECTS, PRIVACY_LOG, DeliveryMarker, ErasedSubject, HistoryEvent, Lead, PrivacyRequest, TrashedLead,
)

# Leads (or trashed leads) per page of the email indexes; BatchGetItem takes at most 100 keys at once.
PAGE_SIZE = 100
# The key of the keyed hash: fixed, so one address always gives the same hash (with the same SECRET_KEY).
SUBJECT_SALT = "leads.domain.subjects.subject"
EXPORT_FORMAT = "leads-subject-export/1"


def subject_hash(email: str) -> str:
    """HMAC-SHA256 of the normalised address, keyed with SECRET_KEY: the same address always gives the same
    hash, so an admin can check "was this address erased?", while the hash alone gives nobody the address
    (and a guessed address cannot be checked without the key). Rotating SECRET_KEY changes every hash."""
    return salted_hmac(SUBJECT_SALT, normalise_email(email), algorithm="sha256").hexdigest()


def index_pages(index: GlobalSecondaryIndex, hash_value: str, *, page_size: int) -> Iterator[list[Model]]:
    """Every item of one index partition, one Query page at a time, oldest first.

    Paged by LastEvaluatedKey, so items deleted between pages (an erasure in progress) never make it
    start again or skip anything.
    """
    start = None
    while True:
        results = index.query(hash_value, limit=page_size, page_size=page_size, last_evaluated_key=start)
        page = list(results)
        if page:
            yield page
        start = results.last_evaluated_key
        if start is None:
            return


def history_of(lead_id: str, *, keys_only: bool = False) -> list[HistoryEvent]:
    """Every history event of one lead, oldest first, read consistently (all pages)."""
    attributes = ["lead_id", "event_id"] if keys_only else None
    return list(HistoryEvent.query(lead_id, consistent_read=True, attributes_to_get=attributes))


def markers_of(lead_ids: list[str]) -> dict[str, DeliveryMarker]:
    """The delivery markers that exist for these leads, by lead id (one BatchGetItem per 100)."""
    keys = {delivery_marker_key(lead_id): lead_id for lead_id in lead_ids}
    if not keys:
        return {}
    return {keys[marker.counter_id]: marker for marker in DeliveryMarker.batch_get(list(keys), consistent_read=True)}


def leads_of(email: str, *, page_size: int) -> Iterator[tuple[Lead, DeliveryMarker | None]]:
    """Every lead stored for this (normalised) address with its delivery marker, read consistently a page at a time."""
    for page in index_pages(Lead.email_index, email, page_size=page_size):
        ids = [item.lead_id for item in page]
        leads = {lead.lead_id: lead for lead in Lead.batch_get(ids, consistent_read=True)}
        markers = markers_of(ids)
        for lead_id in ids:
            if lead_id in leads:  # gone between the index and the read: not stored any more
                yield leads[lead_id], markers.get(lead_id)


@dataclass
class SubjectLead:
    """One lead of the person, with everything derived from it."""

    lead: Lead
    history: list[HistoryEvent]
    marker: DeliveryMarker | None

    @property
    def fields(self) -> dict:
        """Every attribute stored for the lead, as plain values, by stored name."""
        return plain(self.lead)


@dataclass
class SubjectTrashed:
    """One deleted (still restorable) lead of the person, with its history and marker."""

    trashed: TrashedLead
    history: list[HistoryEvent]
    marker: DeliveryMarker | None

    @property
    def lead(self) -> dict:
        """The lead as it was when deleted, as plain values."""
        return plain_item(json.loads(self.trashed.item))

    @property
    def fields(self) -> dict:
        return self.lead


@dataclass
class SubjectData:
    """Everything stored for one address."""

    email: str
    leads: list[SubjectLead] = field(default_factory=list)
    trashed: list[SubjectTrashed] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Items of each kind: leads, history events, trashed leads, delivery markers."""
        entries = [*self.leads, *self.trashed]
        return {
            "leads": len(self.leads),
            "history": sum(len(entry.history) for entry in entries),
            "trash": len(self.trashed),
            "markers": sum(entry.marker is not None for entry in entries),
        }

    @property
    def empty(self) -> bool:
        return not self.leads and not self.trashed


def subject_find(*, email: str, page_size: int | None = None) -> SubjectData:
    """Everything stored for this address (normalised as stored): leads, history, trashed leads, markers.

    Index queries are eventually consistent: a lead stored or deleted a moment ago may show a moment
    later. The items themselves are read consistently.
    """
    email, page_size = normalise_email(email), page_size or PAGE_SIZE
    data = SubjectData(email=email)
    for lead, marker in leads_of(email, page_size=page_size):
        data.leads.append(SubjectLead(lead, history_of(lead.lead_id), marker))
    for page in index_pages(TrashedLead.email_index, email, page_size=page_size):
        ids = [item.lead_id for item in page]
        trashed = {item.lead_id: item for item in TrashedLead.batch_get(ids, consistent_read=True)}
        markers = markers_of(ids)
        for lead_id in ids:
            if lead_id in trashed:
                data.trashed.append(SubjectTrashed(trashed[lead_id], history_of(lead_id), markers.get(lead_id)))
    return data


# --- The export document -------------------------------------------------------------------------

def _plain(value: dict):
    """One DynamoDB JSON value ({"S": ...}, {"N": ...}, ...) as plain JSON."""
    [(kind, raw)] = value.items()
    if kind == "N":
        number = Decimal(raw)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "NS":
        return sorted(_plain({"N": n}) for n in raw)
    if kind in ("SS", "BS"):
        return sorted(raw)
    if kind == "B":
        return raw if isinstance(raw, str) else base64.b64encode(raw).decode()
    if kind == "NULL":
        return None
    if kind == "L":
        return [_plain(v) for v in raw]
    if kind == "M":
        return plain_item(raw)
    return raw  # S, BOOL


def plain_item(item: dict) -> dict:
    """An item in DynamoDB JSON as plain JSON: every attribute stored, by its stored name."""
    return {name: _plain(value) for name, value in sorted(item.items())}


def plain(model: Model) -> dict:
    """Every attribute a model item holds, as plain JSON (absent attributes are not stored, so not shown)."""
    return plain_item(model.serialize())


def _trashed_document(entry: SubjectTrashed) -> dict:
    # The trash keeps the lead as DynamoDB JSON in one string attribute: shown decoded, as "lead".
    trashed = plain(entry.trashed)
    trashed.pop("item", None)
    return {"trashed": trashed, "lead": entry.lead, "history": [plain(e) for e in entry.history],
            "delivery_marker": plain(entry.marker) if entry.marker else None}


def subject_document(data: SubjectData, *, exported_at: datetime, exported_by: str, request_id: str) -> dict:
    """The subject access export: every attribute of every item stored for the address, and who exported it when."""
    return {
        "format": EXPORT_FORMAT,
        "email": data.email,
        "exported_at": Lead.created_at.serialize(exported_at),
        "exported_by": exported_by,
        "request_id": request_id,
        "counts": data.counts,
        "leads": [{"lead": plain(entry.lead), "history": [plain(e) for e in entry.history],
                   "delivery_marker": plain(entry.marker) if entry.marker else None} for entry in data.leads],
        "trashed_leads": [_trashed_document(entry) for entry in data.trashed],
    }


# --- The privacy log ------------------------------------------------------------------------------

def privacy_requests(*, limit: int = 20) -> list[PrivacyRequest]:
    """The latest exports and erasures, newest first (one Query)."""
    return list(PrivacyRequest.query(PRIVACY_LOG, scan_index_forward=False, limit=limit))


def privacy_request_get(*, request_id: str) -> PrivacyRequest | None:
    """One export or erasure by its id, read consistently; None if there is none."""
    try:
        return PrivacyRequest.get(PRIVACY_LOG, request_id, consistent_read=True)
    except PrivacyRequest.DoesNotExist:
        return None


def subject_erasure(*, email: str) -> PrivacyRequest | None:
    """The latest erasure of this address (finished or not), or None if it was never erased: two GetItems."""
    try:
        pointer = ErasedSubject.get(ERASED_SUBJECTS, subject_hash(email), consistent_read=True)
    except ErasedSubject.DoesNotExist:
        return None
    return privacy_request_get(request_id=pointer.request_id)
