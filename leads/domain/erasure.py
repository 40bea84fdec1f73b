"""Writes for one person's data: record an export, erase everything stored for an address.

An erasure is safe to cut short and run again, and keeps every count exact:

1. It starts by writing its audit record "started" (PrivacyRequest) and pointing the address's keyed hash
   at it (ErasedSubject), in one transaction; a later run for the same address finds that pointer and
   finishes the same record instead of starting another.
2. For each lead of the address (email-index, page by page): its history (all but the last few events
   in transactions of their own), then ONE transaction deleting the lead — on condition of the version
   just read, so an edit meanwhile makes it read again — with its last history events, its delivery
   marker and any trash copy, subtracting it from its status and day tallies exactly as lead_delete does
   (no "deleted" event, nothing put in the trash). The lead goes last: the email index is how a retry
   finds what is left, and because its deletion and the subtraction commit together, on the lead's
   condition, a retry can never subtract twice.
3. For each trashed lead of the address (the trash's email-index): its history, then the trash item with
   its marker, on condition it is still there.
4. The record is set "finished" with the pointer.

Every deletion adds to the record's counts in its own transaction, on condition that what it deletes is
still there, so the counts are exact however many runs it takes. The record never holds the address,
only its keyed hash (leads.domain.subjects.subject_hash). Index queries are eventually consistent: a
lead submitted a moment before the erasure may show up only for a later run.
"""

import logging
import secrets
from datetime import datetime

from pynamodb.exceptions import PynamoDBException

from leads.domain import subjects, tallies
from leads.domain.emails import normalise_email
from leads.domain.exceptions import LeadConflict, StorageUnavailable
from leads.domain.notifications import delivery_marker_key
from leads.domain.subjects import history_of, index_pages, leads_of, markers_of, subject_hash
from leads.storage.models import (
    ERASED_SUBJECTS, PRIVACY_LOG, DeliveryMarker, ErasedSubject, HistoryEvent, Lead, PrivacyRequest, TrashedLead,
    utcnow,
)
from leads.storage.transactions import Refused, commit

logger = logging.getLogger(__name__)

# Items per transaction: moto's limit (DynamoDB's is 100). A lead's own transaction has up to 7 other items
# (lead, trash copy, marker, two tally shards, a response-time rollup (leads.domain.response_time: its
# wait's hour or its week's histogram, never both), the record), so its last history events ride along.
TRANSACTION_ITEMS = 25
HISTORY_WITH_LEAD = TRANSACTION_ITEMS - 7
HISTORY_CHUNK = TRANSACTION_ITEMS - 1
# Fresh reads after someone else's write got in between (an edit of the lead, a restore) before giving up.
ATTEMPTS = 5


def new_request_id(now: datetime) -> str:
    """A privacy request's id: sorts by time, and safe in a URL."""
    return f"{now:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"


def _storage_errors(error: PynamoDBException) -> StorageUnavailable:
    return StorageUnavailable(str(error))


def subject_export_record(*, email: str, actor: str, counts: dict[str, int]) -> PrivacyRequest:
    """Record that `actor` exported the address's data (counts of each kind): never the address itself."""
    now = utcnow()
    request = PrivacyRequest(
        log=PRIVACY_LOG, request_id=new_request_id(now), kind="export", subject=subject_hash(email), actor=actor,
        started_at=now, state="finished", finished_at=now, finished_by=actor, runs=1, **counts,
    )
    try:
        request.save(condition=PrivacyRequest.request_id.does_not_exist())
    except PynamoDBException as error:
        raise _storage_errors(error) from error
    return request


# --- Erasure --------------------------------------------------------------------------------------

def _start(subject: str, actor: str) -> PrivacyRequest:
    """The erasure record to work on: the address's unfinished one, or a new one written "started"."""
    for _ in range(ATTEMPTS):
        try:
            pointer = ErasedSubject.get(ERASED_SUBJECTS, subject, consistent_read=True)
        except ErasedSubject.DoesNotExist:
            pointer = None
        if pointer is not None and pointer.state == "started":
            request = PrivacyRequest.get(PRIVACY_LOG, pointer.request_id, consistent_read=True)
            request.update(actions=[PrivacyRequest.runs.add(1)])
            return request
        now = utcnow()
        request = PrivacyRequest(log=PRIVACY_LOG, request_id=new_request_id(now), kind="erasure", subject=subject,
                                 actor=actor, started_at=now, state="started", runs=1)
        mark = ErasedSubject(ERASED_SUBJECTS, subject)

        def fill(tx):
            tx.save(request, condition=PrivacyRequest.request_id.does_not_exist())
            # Only if no other erasure of the address is under way (one that started meanwhile is joined).
            tx.update(mark, actions=[ErasedSubject.request_id.set(request.request_id),
                                     ErasedSubject.state.set("started"), ErasedSubject.erasures.add(1)],
                      condition=ErasedSubject.subject.does_not_exist() | (ErasedSubject.state == "finished"))

        try:
            commit(fill)
        except Refused:
            continue
        return request
    raise StorageUnavailable("Could not start the erasure")


def _counted(request: PrivacyRequest, **counts: int) -> list:
    return [getattr(PrivacyRequest, kind).add(n) for kind, n in counts.items() if n]


def _delete_history(events: list[HistoryEvent], request: PrivacyRequest) -> None:
    """Delete these history events and count them, in one transaction; Refused if one was gone already."""
    def fill(tx):
        for event in events:
            tx.delete(event, condition=HistoryEvent.event_id.exists())
        tx.update(request, actions=_counted(request, history=len(events)))

    commit(fill)


def _history_leaving(lead_id: str, request: PrivacyRequest, keep: int) -> list[HistoryEvent]:
    """Delete the lead's oldest history events until at most `keep` are left; return those left."""
    events = history_of(lead_id, keys_only=True)
    while len(events) > keep:
        chunk, events = events[:HISTORY_CHUNK], events[HISTORY_CHUNK:]
        _delete_history(chunk, request)
    return events


def _marker_delete(tx, lead_id: str, marked: bool) -> None:
    marker = DeliveryMarker(delivery_marker_key(lead_id))
    # Seen: deleted on condition it is still there, so it is counted exactly once. Not seen: deleted anyway,
    # in case the stream handler wrote it since (a marker holds nothing but the lead id).
    tx.delete(marker, condition=DeliveryMarker.counter_id.exists() if marked else None)


def _erase_lead(lead: Lead, marked: bool, request: PrivacyRequest) -> bool:
    """Erase one lead and what hangs off it; False if it was gone (deleted or erased by someone else meanwhile)."""
    for _ in range(ATTEMPTS):
        try:
            history = _history_leaving(lead.lead_id, request, HISTORY_WITH_LEAD)

            def fill(tx):
                tx.delete(lead)  # PynamoDB adds the condition on the version just read
                tx.delete(TrashedLead(lead.lead_id))  # a trash copy beside a live lead: only after a lost race
                _marker_delete(tx, lead.lead_id, marked)
                for event in history:
                    tx.delete(event, condition=HistoryEvent.event_id.exists())
                tallies.count_lead_in(tx, lead, -1)
                tx.update(request, actions=_counted(request, leads=1, history=len(history), markers=int(marked)))

            commit(fill)
            return True
        except Refused:
            pass
        # Someone else's write got in between: read the lead (and its marker) afresh.
        try:
            lead = Lead.get(lead.lead_id, consistent_read=True)
        except Lead.DoesNotExist:
            return False
        marked = lead.lead_id in markers_of([lead.lead_id])
    raise LeadConflict()


def _erase_trashed(lead_id: str, marked: bool, request: PrivacyRequest) -> None:
    """Erase one trashed lead: its history, then the trash item with its marker."""
    for _ in range(ATTEMPTS):
        try:
            history = _history_leaving(lead_id, request, HISTORY_WITH_LEAD)

            def fill(tx):
                tx.delete(TrashedLead(lead_id), condition=TrashedLead.lead_id.exists())
                _marker_delete(tx, lead_id, marked)
                for event in history:
                    tx.delete(event, condition=HistoryEvent.event_id.exists())
                tx.update(request, actions=_counted(request, trash=1, history=len(history), markers=int(marked)))

            commit(fill)
            return
        except Refused:
            pass
        try:
            # Restored meanwhile: a lead again, erased as one.
            if _erase_lead(Lead.get(lead_id, consistent_read=True), lead_id in markers_of([lead_id]), request):
                return
        except Lead.DoesNotExist:
            pass
        if not TrashedLead.count(lead_id, consistent_read=True):
            return  # gone by itself (TTL) or erased by a concurrent run: its history is ours to finish
        marked = lead_id in markers_of([lead_id])
    raise LeadConflict()


def _finish(request: PrivacyRequest, actor: str) -> PrivacyRequest:
    now = utcnow()
    mark = ErasedSubject(ERASED_SUBJECTS, request.subject)

    def fill(tx):
        tx.update(request, actions=[PrivacyRequest.state.set("finished"), PrivacyRequest.finished_at.set(now),
                                    PrivacyRequest.finished_by.set(actor)])
        tx.update(mark, actions=[ErasedSubject.state.set("finished")],
                  condition=ErasedSubject.request_id == request.request_id)

    try:
        commit(fill)
    except Refused:
        pass  # a concurrent run of the same erasure finished it, and another may have started since
    return PrivacyRequest.get(PRIVACY_LOG, request.request_id, consistent_read=True)


def subject_erase(*, email: str, actor: str, page_size: int | None = None) -> PrivacyRequest:
    """Erase everything stored for this address; return the finished audit record (who, when, counts).

    Idempotent, and safe to run again after a failure half way (it finishes the same record). Raises
    StorageUnavailable when DynamoDB fails (run it again), LeadConflict when a lead of the address kept
    changing under it (run it again).
    """
    email, page_size = normalise_email(email), page_size or subjects.PAGE_SIZE
    try:
        request = _start(subject_hash(email), actor)
        for lead, marker in leads_of(email, page_size=page_size):
            _erase_lead(lead, marker is not None, request)
        for page in index_pages(TrashedLead.email_index, email, page_size=page_size):
            ids = [item.lead_id for item in page]
            markers = markers_of(ids)
            for lead_id in ids:
                _erase_trashed(lead_id, lead_id in markers, request)
        finished = _finish(request, actor)
    except PynamoDBException as error:
        raise _storage_errors(error) from error
    logger.info("Erasure %s finished: %d leads, %d history events, %d trashed leads, %d markers",
                finished.request_id, finished.leads, finished.history, finished.trash, finished.markers)
    return finished
