"""Writes. Each change commits with everything derived from it in one DynamoDB transaction."""

import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from pynamodb.exceptions import PynamoDBException

from leads.domain import preferences, ratelimit, response_time, retention, selectors, tallies, webhooks
from leads.domain.emails import normalise_email
from leads.domain.exceptions import (
    InvalidPreference, LeadConflict, LeadNotFound, LoginThrottled, RateLimited, StaffExists, StaffNotFound, StorageUnavailable,
)
from leads.storage.models import DeliveryMarker, HistoryEvent, Lead, Staff, StaffSession, TrashedLead, utcnow
from leads.storage.models import WebhookFailure
from leads.storage.transactions import Refused, commit, conditional
from leads.domain.notifications import delivery_marker_key, notify_new_lead
from leads.domain.selectors import lead_get, leads_get_many

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """The outcome of a contact-form post: the lead id, and whether this post stored it."""

    lead_id: str
    created: bool


def _history_value(value):
    """A changed value JSON cannot hold as it is: a time (a follow-up date), as the UTC string the tables hold."""
    if isinstance(value, datetime):
        return Lead.due_at.serialize(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def history_event(
    *, lead_id: str, actor: str, action: str, changes: dict, at: datetime, version: int | None = None,
    expires_at: datetime | None = None,
) -> HistoryEvent:
    """Build a timeline entry; its id sorts by time and never collides. `expires_at`: the lead's (retention)."""
    return HistoryEvent(
        lead_id=lead_id,
        event_id=f"{HistoryEvent.at.serialize(at)}#{secrets.token_hex(4)}",
        at=at,
        actor=actor,
        action=action,
        changes=json.dumps(changes, ensure_ascii=False, default=_history_value),
        version=version,
        expires_at=expires_at,
    )


def lead_submit(
    *,
    lead_id: str,
    name: str,
    email: str,
    subject: str,
    message: str,
    company: str = "",
    source: str = "form",
    client: str | None = None,
    consent_text: str | None = None,
    consent_version: str | None = None,
    now: datetime | None = None,
) -> Submission:
    """Store a new lead exactly once per lead id, counting it and rate-limiting the client.

    ``consent_text`` and ``consent_version``, given when the visitor ticked the consent box, are stored
    with the lead and the time they agreed (the submission's). A repeat of an id already stored (double
    click, browser retry) stores nothing and reports ``created=False``. Raises RateLimited when the
    client is over its allowance, and StorageUnavailable when DynamoDB cannot take the write; in both
    cases nothing is written.
    """
    now = now or utcnow()
    agreed = consent_text is not None
    lead = Lead(
        lead_id=lead_id,
        created_at=now,
        updated_at=now,
        name=name,
        email=email,
        company=company or None,
        subject=subject,
        message=message,
        status="new",
        source=source,
        consent_text=consent_text if agreed else None,
        consent_version=consent_version if agreed else None,
        consent_at=now if agreed else None,
    )
    lead.refresh_index_keys()
    # Retention: the lead and its first event expire together (a new lead has no older history to carry).
    expires = lead.expires_at = lead.history_expires_at = retention.expiry(now)
    window = None
    if client is not None and not settings.LEADS_RATELIMIT_DISABLED:
        window = ratelimit.current_window(
            scope="contact",
            client=client,
            limit=settings.LEADS_RATELIMIT_COUNT,
            period=settings.LEADS_RATELIMIT_WINDOW,
            now=now,
        )
    def fill(tx):
        # The lead itself, only if this id was never stored.
        tx.save(lead, condition=Lead.lead_id.does_not_exist())
        tx.save(history_event(lead_id=lead_id, actor="visitor", action="created", changes={}, at=now, version=1,
                              expires_at=expires))
        tallies.count_lead_in(tx, lead, 1)
        if window:
            ratelimit.hit_in(tx, window)

    try:
        commit(fill)
    except Refused as refused:
        if refused.by(lead):
            return Submission(lead_id=lead_id, created=False)
        if window:
            raise RateLimited(window.seconds_left(now)) from refused
        raise StorageUnavailable("A submission was refused by a condition it does not have") from refused
    if settings.LEADS_NOTIFY_VIA == "request":
        notify_new_lead(lead)  # on Lambda the table's stream triggers it instead (leads.management.stream_handler)
        _webhooks_after_commit(webhooks.lead_created(lead))
    return Submission(lead_id=lead_id, created=True)


# --- New-lead emails sent from the leads table's stream (leads.management.stream_handler) ---------

def delivery_mark(*, lead_id: str, expires_at: datetime) -> None:
    """Record that this lead's new-lead email was sent; a marker a concurrent delivery wrote is just as good."""
    marker = DeliveryMarker(delivery_marker_key(lead_id), expires_at=expires_at)
    try:
        with conditional(marker):
            marker.save(condition=DeliveryMarker.counter_id.does_not_exist())
    except Refused:
        pass


# --- Daily follow-up digests (leads.management.digests) -------------------------------------------

def digest_claim(*, key: str, expires_at: datetime) -> bool:
    """Claim one owner's digest for one day (a marker written on condition it is new); False if already claimed."""
    marker = DeliveryMarker(key, expires_at=expires_at)
    try:
        with conditional(marker):
            marker.save(condition=DeliveryMarker.counter_id.does_not_exist())
    except Refused:
        return False
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error
    return True


def digest_release(*, key: str) -> None:
    """Give a claimed digest back (its email could not be sent), so the next run sends it."""
    try:
        DeliveryMarker(key).delete()
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error


# --- Throttling of sign-in (leads.accounts.auth) and password-reset requests ----------------------

def attempt_reserve(*, windows: list[ratelimit.Window], now: datetime,
                    throttled: type[LoginThrottled | RateLimited] = LoginThrottled) -> None:
    """Count one attempt against every window, all or none; `throttled(seconds left)` if one is full.

    Raises StorageUnavailable when DynamoDB did not take it.
    """
    def fill(tx):
        for window in windows:
            ratelimit.hit_in(tx, window)

    try:
        commit(fill)
    except Refused as refused:
        raise throttled(max(window.seconds_left(now) for window in windows)) from refused


def attempt_refund(*, windows: list[ratelimit.Window]) -> None:
    """Hand back an attempt reserved by attempt_reserve; StorageUnavailable if DynamoDB did not take it."""
    def fill(tx):
        for window in windows:
            ratelimit.unhit_in(tx, window)

    commit(fill)


# --- Staff edits ---------------------------------------------------------------------------------

# Follow-ups (leads.domain.followups) are set with due_at and due_all_day through lead_update too.
EDITABLE_FIELDS = ("status", "notes", "owner", "due_at", "due_all_day")
TRASH_DAYS = 30


def _wrap_storage_errors(error: PynamoDBException) -> StorageUnavailable:
    return StorageUnavailable(str(error))


def _conflict_or_gone(lead_id: str) -> LeadConflict | LeadNotFound:
    """Why a lead's guarded write failed: someone else saved it (a conflict), or deleted it (not found).

    A version condition fails alike for both; one consistent read, on this rare path only, tells them
    apart, so a deletion meanwhile is a 404 and never a misleading "changed by someone else".
    """
    try:
        Lead.get(lead_id, consistent_read=True, attributes_to_get=["lead_id"])
    except Lead.DoesNotExist:
        return LeadNotFound(lead_id)
    except PynamoDBException as error:
        return _wrap_storage_errors(error)
    return LeadConflict()


def _carry_history(lead: Lead, until: datetime) -> bool:
    """Make every history event of the lead expire no earlier than `until`; False if none could be earlier.

    Called BEFORE the write that gives the lead (or its trash copy) that expiry, and that write records
    ``history_expires_at = until`` in its own version-guarded transaction: so no event ever expires before
    its lead, not even for a moment, and the record costs no write of its own (nor a version bump, which
    would make a concurrent editor's save a conflict). A failure half way leaves some events later than
    the lead — harmless: they go at their own expiry, or with the lead (stream handler) — and the record
    where it was, so the next write on the lead carries the rest. The retention expiry moves at most once
    a day (leads.domain.retention.expiry), so this runs at most once a day per lead: one Query by lead id
    (paged) and one UpdateItem per event not already kept long enough, never lowering one.
    """
    if not retention.carry_needed(lead.history_expires_at, until):
        return False
    events = HistoryEvent.query(lead.lead_id, consistent_read=True, attributes_to_get=["lead_id", "event_id", "expires_at"])
    try:
        for event in events:
            if event.expires_at is not None and event.expires_at >= until:
                continue
            try:
                with conditional(event):
                    # Never recreates an event its own TTL removed meanwhile, never lowers one kept longer.
                    event.update(actions=[HistoryEvent.expires_at.set(until)], condition=(
                        HistoryEvent.event_id.exists()
                        & (HistoryEvent.expires_at.does_not_exist() | (HistoryEvent.expires_at < until))))
            except Refused:
                pass
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error
    return True


def _retention_actions(lead: Lead, now: datetime, actions: list) -> datetime | None:
    """Activity at `now`: move the lead's expiry (and its history's) onto `lead` and `actions`; the expiry or None.

    Carries the history forward first (_carry_history). Nothing at all when retention is off.
    """
    expires = retention.expiry(now)
    if expires is None:
        return None
    if _carry_history(lead, expires):
        lead.history_expires_at = expires
        actions.append(Lead.history_expires_at.set(expires))
    lead.expires_at = expires
    actions.append(Lead.expires_at.set(expires))
    return expires


def _assign(lead: Lead, name: str):
    """Store the lead's value of one attribute; a cleared value is removed, never stored as NULL."""
    # DynamoDB refuses a NULL where an index key is (due_at, due_owner); an absent attribute reads as None.
    value = getattr(lead, name)
    return getattr(Lead, name).set(value) if value is not None else getattr(Lead, name).remove()


def derived_key_actions(lead: Lead) -> list:
    """Every derived index key of a lead after refresh_index_keys, changed or not."""
    # Written with every edit and status change: a lead stored before a key existed gains it then.
    return [_assign(lead, key) for key in Lead.DERIVED_KEYS]


def _apply_update(loaded: Lead, changes: dict[str, tuple], *, actor: str, now: datetime, also=None) -> Lead:
    """Commit changes to a loaded lead, guarded by its version; return the updated copy.

    `also(tx)` adds more writes to the same transaction (a note posted with the edit, leads.domain.timeline).
    `loaded` is left as it was, so a page shown after a failure shows what is stored, not what was
    attempted. Raises LeadConflict if the lead moved on, StorageUnavailable if DynamoDB did not answer.
    """
    lead = Lead.from_raw_data(loaded.serialize())
    old_status = lead.status
    for name, (_, after) in changes.items():
        setattr(lead, name, after)
    lead.updated_at = now
    lead.refresh_index_keys()

    actions = [_assign(lead, name) for name in changes] + [Lead.updated_at.set(now)] + derived_key_actions(lead)
    expires = _retention_actions(lead, now, actions)
    condition = Lead.lead_id.exists()
    # Leaving "new" for the first time answers the lead: recorded once, in this transaction.
    first = response_time.first_response(lead=loaded, at=now) if "status" in changes else None
    if first:
        lead.first_response_at = now
        actions += first.actions
        condition &= first.condition

    def fill(tx):
        # The version condition is added by PynamoDB: another save in between cancels everything.
        # A copy per attempt: PynamoDB appends the version increment to the list it is given, and the
        # commit loop's next attempt would otherwise carry it twice (a ValidationException).
        tx.update(lead, actions=list(actions), condition=condition)
        tx.save(history_event(lead_id=lead.lead_id, actor=actor, action="changed", at=now,
                              changes={k: list(v) for k, v in changes.items()}, version=lead.version + 1,
                              expires_at=expires))
        if first:
            first.add_in(tx, statuses={old_status: -1, lead.status: 1})
        elif "status" in changes:
            tallies.add_in(tx, statuses={old_status: -1, lead.status: 1})
        if also:
            also(tx)

    try:
        commit(fill)
    except Refused as refused:
        raise _conflict_or_gone(lead.lead_id) from refused
    if "status" in changes:
        _webhooks_after_commit(webhooks.status_changed(lead, previous_status=old_status, version=loaded.version + 1))
    return lead


def _changes(lead: Lead, wanted: dict) -> dict[str, tuple]:
    """{field: (before, after)} for the editable fields whose value really changes."""
    changes = {}
    for name in EDITABLE_FIELDS:
        if name not in wanted:
            continue
        before, after = getattr(lead, name), wanted[name] or None  # blank notes/owner are stored as absent
        if before != after:
            changes[name] = (before, after)
    return changes


def lead_update(
    *, lead_id: str, expected_version: int, actor: str, current: Lead | None = None, also=None, **wanted
) -> tuple[Lead, dict]:
    """Save status / notes / owner / follow-up (due_at, due_all_day) if nobody else saved since `expected_version`.

    `current` is the lead as the caller just read it (saves a GetItem); the version condition on the
    write catches anything that happened since. `also(tx)` adds writes to its transaction, if there is one. Returns the lead and the changes made ({} when nothing
    differed). Raises LeadNotFound, or LeadConflict carrying the current lead when someone else saved
    in between — nothing is written then.
    """
    now = utcnow()
    try:
        lead = current or lead_get(lead_id=lead_id)
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error
    if lead.version != expected_version:
        if not _changes(lead, wanted):
            return lead, {}  # already as wanted: the resend of an edit that landed while its answer was lost
        raise LeadConflict(current=lead)
    changes = _changes(lead, wanted)
    if not changes:
        return lead, {}
    try:
        return _apply_update(lead, changes, actor=actor, now=now, also=also), changes
    except LeadConflict:
        raise LeadConflict(current=lead_get(lead_id=lead_id)) from None


def lead_delete(*, lead_id: str, actor: str, expected_version: int | None = None) -> Lead:
    """Move a lead to the trash (restorable for 30 days), with its history entry and counters."""
    now = utcnow()
    try:
        lead = lead_get(lead_id=lead_id)
    except LeadNotFound:
        # In the trash by this person already: the resend of their delete that landed while its answer
        # was lost. Someone else's delete meanwhile stays a 404.
        try:
            trashed = TrashedLead.get(lead_id, consistent_read=True)
        except TrashedLead.DoesNotExist:
            raise LeadNotFound(lead_id) from None
        if trashed.deleted_by != actor:
            raise LeadNotFound(lead_id) from None
        return Lead.from_raw_data(json.loads(trashed.item))
    if expected_version is not None and lead.version != expected_version:
        raise LeadConflict(current=lead)
    # Deletion is activity: retention may keep the trash copy for less than TRASH_DAYS, and the history
    # (which a restore brings back with the lead) is carried forward to outlive the copy.
    trash_expires = retention.trash_expiry(now, trash_days=TRASH_DAYS)
    event_expires = trash_expires if retention.enabled() else None
    if event_expires:
        _carry_history(lead, event_expires)
    trashed = TrashedLead(
        lead_id=lead.lead_id,
        deleted_at=now,
        deleted_by=actor,
        name=lead.name,
        email=lead.email,
        subject=lead.subject,
        status=lead.status,
        item=json.dumps(lead.serialize()),
        expires_at=trash_expires,
    )
    def fill(tx):
        tx.delete(lead)  # PynamoDB adds the version condition
        tx.save(trashed)
        tx.save(history_event(lead_id=lead.lead_id, actor=actor, action="deleted", at=now, changes={},
                              expires_at=event_expires))
        tallies.count_lead_in(tx, lead, -1)

    try:
        commit(fill)
    except Refused as refused:
        raise _conflict_or_gone(lead.lead_id) from refused
    return lead


def lead_restore(*, lead_id: str, actor: str) -> Lead:
    """Bring a lead back from the trash exactly as it was; LeadNotFound if it is not (or no longer) there."""
    now = utcnow()
    try:
        trashed = TrashedLead.get(lead_id, consistent_read=True)
    except TrashedLead.DoesNotExist:
        # Among the leads again: the resend of a restore that landed while its answer was lost.
        return lead_get(lead_id=lead_id)
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error
    if trashed.expires_at <= now:
        raise LeadNotFound(lead_id)
    item = json.loads(trashed.item)
    item.pop("version", None)  # stored afresh: PynamoDB writes version 1, on condition the item is new
    lead = Lead.from_raw_data(item)
    lead.updated_at = now
    lead.refresh_index_keys()  # a copy trashed before a key existed comes back with it
    expires = _retention_actions(lead, now, [])  # a restore is activity: the expiry starts afresh
    def fill(tx):
        tx.save(lead, condition=Lead.lead_id.does_not_exist())
        tx.delete(trashed, condition=TrashedLead.lead_id.exists())
        tx.save(history_event(lead_id=lead_id, actor=actor, action="restored", at=now, changes={}, version=1,
                              expires_at=expires))
        tallies.count_lead_in(tx, lead, 1)

    try:
        commit(fill)
    except Refused as refused:
        raise LeadNotFound(lead_id) from refused  # restored (or purged) by someone else meanwhile
    return lead


@dataclass
class BulkResult:
    """What a bulk action did, lead by lead."""

    done: list[str]
    conflicts: list[str]
    missing: list[str]


def lead_bulk_set_status(*, lead_ids: list[str], status: str, actor: str) -> BulkResult:
    """Set one status on many leads; each lead commits in its own transaction with its counters."""
    now = utcnow()
    result = BulkResult([], [], [])
    try:
        leads = leads_get_many(lead_ids=lead_ids)
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error
    found = {lead.lead_id for lead in leads}
    result.missing = [lead_id for lead_id in lead_ids if lead_id not in found]
    with webhooks.request_budget():  # one time budget for the webhooks of every lead changed here
        _bulk_set_status(leads, status=status, actor=actor, now=now, result=result)
    return result


def _bulk_set_status(leads: list[Lead], *, status: str, actor: str, now: datetime, result: BulkResult) -> None:
    for lead in leads:
        changes = _changes(lead, {"status": status})
        if not changes:
            continue  # already so: nothing to write, nothing to report
        try:
            _apply_update(lead, changes, actor=actor, now=now)
            result.done.append(lead.lead_id)
        except LeadNotFound:
            result.missing.append(lead.lead_id)
        except LeadConflict:
            result.conflicts.append(lead.lead_id)


def lead_bulk_delete(*, lead_ids: list[str], actor: str) -> BulkResult:
    """Move many leads to the trash, each in its own transaction."""
    result = BulkResult([], [], [])
    for lead_id in dict.fromkeys(lead_ids):
        try:
            lead_delete(lead_id=lead_id, actor=actor)
            result.done.append(lead_id)
        except LeadNotFound:
            result.missing.append(lead_id)
        except LeadConflict:
            result.conflicts.append(lead_id)
    return result


# --- Staff accounts ------------------------------------------------------------------------------


def staff_create(*, email: str, password: str, role: str = "sales", name: str = "") -> Staff:
    """Create a staff account; StaffExists if the email is taken."""
    staff = Staff(email=normalise_email(email), name=name, role=role, password=make_password(password),
                  active=True, created_at=utcnow())
    try:
        with conditional(staff):
            staff.save(condition=Staff.email.does_not_exist())
    except Refused as refused:
        if _is_this_account(staff, password):
            return staff  # botocore resent a put that had landed while its answer was lost
        raise StaffExists() from refused
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error
    return staff


def _is_this_account(staff: Staff, password: str) -> bool:
    """True if the stored account is exactly the one being created (same role, name and password)."""
    try:
        stored = Staff.get(staff.email, consistent_read=True)
    except Staff.DoesNotExist:
        return False
    return (stored.role, stored.name) == (staff.role, staff.name) and check_password(password, stored.password)


def staff_update(*, email: str, role: str | None = None, active: bool | None = None,
                 password: str | None = None, name: str | None = None) -> Staff:
    """Change a staff account; a new role, password or deactivation signs them out everywhere.

    Raises StaffNotFound if there is no such account, or it was removed before the write landed.
    """
    try:
        staff = Staff.get(email, consistent_read=True)
    except Staff.DoesNotExist:
        raise StaffNotFound() from None
    access = []  # changes to who may do what: the person must sign in again
    if role is not None and role != staff.role:
        access.append(Staff.role.set(role))
    if active is not None and active != staff.active:
        access.append(Staff.active.set(active))
    if password:
        access.append(Staff.password.set(make_password(password)))
    actions = access + ([Staff.name.set(name)] if name is not None and name != staff.name else [])
    if access:
        # The new stamp cancels any sign-in still in flight (see leads.accounts.sessions); the update returns
        # the account as written, with every session key recorded before it, to end below.
        actions += [Staff.sessions_stale.set(True), Staff.access.add(1)]
    try:
        with conditional(staff):
            if actions:
                staff.update(actions=actions, condition=Staff.email.exists())
    except Refused:
        raise StaffNotFound() from None
    staff_finish_access_change(staff=staff)
    return staff


def staff_set_preferences(*, email: str, time_zone: str, language: str) -> Staff:
    """Store a staff member's time zone and language (see leads.domain.preferences); no change of access.

    Raises InvalidPreference for a zone or language not offered, StaffNotFound if there is no such account.
    """
    if not preferences.is_time_zone(time_zone) or not preferences.is_language(language):
        raise InvalidPreference()
    staff = Staff(normalise_email(email))
    try:
        with conditional(staff):
            # Conditional, so that a removed account never comes back as a stub holding only these.
            staff.update(actions=[Staff.time_zone.set(time_zone), Staff.language.set(language)],
                         condition=Staff.email.exists())
    except Refused:
        raise StaffNotFound() from None
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error
    return staff


def staff_finish_access_change(*, staff: Staff) -> None:
    """End every session of an account whose access changed (`sessions_stale` set), then clear the flag.

    `staff` is the account as the write that bumped `access` returned it, with every session key
    recorded before it. Raises StaffNotFound if the account was removed meanwhile.
    """
    if not staff.sessions_stale:
        return
    try:
        with conditional(staff):
            ended = staff_end_sessions(email=staff.email, keys=staff.session_keys or set())
            # Conditional, so that clearing the flag never brings a removed account back as a stub.
            done = [Staff.sessions_stale.set(False)] + ([Staff.session_keys.delete(ended)] if ended else [])
            staff.update(actions=done, condition=Staff.email.exists())
    except Refused:
        raise StaffNotFound() from None


# An account's recorded session keys are pruned at sign-in once there are more than this many.
SESSION_KEYS_KEPT = 20


def staff_forget_ended_sessions(*, staff: Staff) -> int:
    """Drop from the account's record the keys of sessions that ended by themselves; return how many.

    Each signed-in session records its key on the account (leads.accounts.sessions); sign-out and changes of
    access drop keys, but sessions that simply expire would pile up toward DynamoDB's 400 KB item
    limit. Run at sign-in, past SESSION_KEYS_KEPT keys: one BatchGetItem per 100 keys.
    """
    keys = list(staff.session_keys or ())
    if len(keys) <= SESSION_KEYS_KEPT:
        return 0
    now = utcnow()
    alive = {item.session_key for item in StaffSession.batch_get(keys) if item.expires_at > now}
    ended = set(keys) - alive
    if ended:
        Staff(staff.email).update(actions=[Staff.session_keys.delete(ended)], condition=Staff.email.exists())
    return len(ended)


def staff_end_sessions(*, email: str, keys: set[str] = frozenset(), keep: str | None = None) -> set[str]:
    """Delete every session of this staff member but `keep` (if given); return the keys ended.

    `keys` are those the account recorded (read consistently with the change that ends them); the
    staff-index Query adds sessions written before keys were recorded, though it may lag by a moment.
    """
    keys = (set(keys) | {item.session_key for item in StaffSession.by_staff.query(email)}) - {keep}
    with StaffSession.batch_write() as batch:
        for key in keys:
            batch.delete(StaffSession(key))
    return keys


# --- Retention (LEADS_RETENTION_DAYS, leads.domain.retention) --------------------------------------

def _kept_until_label(expires_at: datetime | None) -> str | None:
    return expires_at.strftime("%Y-%m-%d %H:%M UTC") if expires_at else None


def lead_retention_extend(*, lead_id: str, actor: str) -> tuple[Lead, bool]:
    """Keep a lead LEADS_RETENTION_DAYS from now ("Keep for another N days"): its expiry, its history's, and an event.

    Returns the lead and whether anything changed: nothing is written when the lead already expires no
    sooner (it saw activity today). The write is guarded by the lead's version like any edit, so a
    concurrent save is never overwritten: LeadConflict (nothing written); LeadNotFound if it was
    deleted; StorageUnavailable when DynamoDB did not answer. Only with retention on.
    """
    now = utcnow()
    expires = retention.expiry(now)
    if expires is None:
        raise ValueError("Retention is off (LEADS_RETENTION_DAYS)")
    try:
        loaded = lead_get(lead_id=lead_id)
    except PynamoDBException as error:
        raise _wrap_storage_errors(error) from error
    if loaded.expires_at is not None and loaded.expires_at >= expires:
        return loaded, False
    lead = Lead.from_raw_data(loaded.serialize())
    lead.updated_at = now
    actions = [Lead.updated_at.set(now)]
    _retention_actions(lead, now, actions)
    changes = {"kept until": [_kept_until_label(loaded.expires_at), _kept_until_label(expires)]}

    def fill(tx):
        tx.update(lead, actions=list(actions), condition=Lead.lead_id.exists())  # and the version condition
        tx.save(history_event(lead_id=lead_id, actor=actor, action="extended retention", at=now, changes=changes,
                              version=lead.version + 1, expires_at=expires))

    try:
        commit(fill)
    except Refused as refused:
        raise _conflict_or_gone(lead_id) from refused
    return lead, True


def lead_expired(*, lead: Lead) -> bool:
    """Take a lead DynamoDB's TTL removed off the tallies, exactly once; True if this call did it.

    `lead` is the removed item (the stream record's old image). Like a staff delete (lead_delete), the
    removal takes one off the lead's status and off the day it was created, here in one transaction with
    an ``expired#<lead_id>#<expiry>`` marker written on condition it is new: a record the stream delivers
    again finds the marker and changes nothing. Raises StorageUnavailable when DynamoDB did not take it.
    """
    marker = DeliveryMarker(
        retention.expired_marker_key(lead.lead_id, lead.expires_at),
        expires_at=utcnow() + timedelta(days=retention.EXPIRED_MARKER_DAYS),
    )

    def fill(tx):
        tx.save(marker, condition=DeliveryMarker.counter_id.does_not_exist())
        tallies.count_lead_in(tx, lead, -1)

    try:
        commit(fill)
    except Refused as refused:
        if refused.by(marker):
            return False
        raise StorageUnavailable("An expiry was refused by a condition it does not have") from refused
    return True


def lead_history_purge(*, lead_id: str) -> int:
    """Delete whatever history of a lead TTL removed is still there; return how many events.

    Events expire with their lead, or later (never sooner: _carry_history); those kept a little longer
    go now, with it. One Query by lead id (keys only, paged) and BatchWriteItem; safe to repeat.
    """
    keys = [(event.lead_id, event.event_id)
            for event in HistoryEvent.query(lead_id, attributes_to_get=["lead_id", "event_id"])]
    with HistoryEvent.batch_write() as batch:
        for hash_key, range_key in keys:
            batch.delete(HistoryEvent(hash_key, range_key))
    return len(keys)


# --- Webhooks (leads.domain.webhooks): delivery markers and dead letters ---------------------------

# How long a delivery marker and a dead letter are kept (never longer than their lead: retention). The
# stream redelivers for 24 hours at most; two weeks leave admins time to see and resend a failure.
WEBHOOK_KEEP = timedelta(days=14)


class WebhooksDeferred(Exception):
    """The stream handler's time ran out before a webhook was tried: Lambda retries the record."""


def _webhook_expiry(event: webhooks.Event, now: datetime) -> datetime:
    return retention.capped(now + WEBHOOK_KEEP, event.lead_expires_at)


def webhook_mark_delivered(*, event: webhooks.Event, webhook: str) -> None:
    """Record that this webhook got this event; a marker a concurrent delivery wrote is just as good."""
    marker = DeliveryMarker(selectors.webhook_marker_key(event_id=event.event_id, webhook=webhook),
                            expires_at=_webhook_expiry(event, utcnow()))
    try:
        with conditional(marker):
            marker.save(condition=DeliveryMarker.counter_id.does_not_exist())
    except Refused:
        pass


def webhook_dead_letter(*, event: webhooks.Event, webhook: str, outcome: webhooks.Outcome) -> WebhookFailure:
    """Keep a delivery that failed after its last try for the admin page (no personal data in it)."""
    now = utcnow()
    failure = WebhookFailure(
        failure_id=f"{HistoryEvent.at.serialize(event.occurred_at)}#{event.event_id}#{webhook}",
        webhook=webhook, event=event.type, event_key=event.event_id, lead=event.lead_id,
        occurred_at=event.occurred_at, status=event.status, previous_status=event.previous_status,
        attempts=outcome.attempts, error=outcome.error[:100], failed_at=now, expires_at=_webhook_expiry(event, now))
    failure.save()  # the same event failing again (a redelivery) overwrites its own dead letter
    return failure


def webhooks_deliver(*, event: webhooks.Event, deadline: float, attempts: int, pause: float,
                     defer_untried: bool = False) -> dict[str, webhooks.Outcome]:
    """Send the event to every configured webhook that has not had it, once each; dead-letter the failures.

    Each delivery leaves a marker, so a redelivered stream record or a second call POSTs nothing twice
    (a crash between the POST and the marker can still repeat one: receivers dedupe by event id). With
    `defer_untried`, a webhook the deadline left no try for raises WebhooksDeferred instead of being
    dead-lettered (the stream retries the record). A failing receiver never raises; DynamoDB errors do.
    """
    targets = webhooks.targets()
    if not targets:
        return {}
    done = selectors.webhooks_delivered(event_id=event.event_id, webhooks=[target.name for target in targets])
    outcomes = {}
    for target in targets:
        if target.name in done:
            continue
        outcome = webhooks.send(target, event, attempts=attempts, pause=pause, deadline=deadline)
        if outcome.delivered:
            webhook_mark_delivered(event=event, webhook=target.name)
        elif defer_untried and outcome.attempts == 0:
            raise WebhooksDeferred(target.name)
        else:
            # The webhook's name and the reason only: URLs can be credentials, bodies personal data.
            logger.warning("Webhook %s failed for event %s after %d tries: %s",
                           target.name, event.event_id, outcome.attempts, outcome.error)
            webhook_dead_letter(event=event, webhook=target.name, outcome=outcome)
        outcomes[target.name] = outcome
    return outcomes


def _webhooks_after_commit(event: webhooks.Event) -> None:
    """Send an event right after its change committed (LEADS_NOTIFY_VIA=request) within the request's budget.

    Never raises: the change is stored, and a webhook (or DynamoDB failing to record one) must not turn
    the page into an error.
    """
    if settings.LEADS_NOTIFY_VIA != "request" or not settings.LEADS_WEBHOOKS:
        return
    try:
        with webhooks.request_budget() as deadline:
            webhooks_deliver(event=event, deadline=deadline,
                             attempts=webhooks.REQUEST_ATTEMPTS, pause=webhooks.REQUEST_PAUSE)
    except Exception:
        logger.exception("Could not deliver or record the webhooks of event %s", event.event_id)


def webhook_retry(*, failure_id: str) -> str:
    """Resend one dead-lettered webhook once: "delivered", "failed" (kept, counted), or "dropped".

    "dropped": its lead or its webhook is gone, so there is nothing to send and the failure is removed.
    Raises WebhookFailureNotFound if it no longer exists.
    """
    failure = selectors.webhook_failure_get(failure_id=failure_id)
    target = next((t for t in webhooks.targets() if t.name == failure.webhook), None)
    try:
        lead = lead_get(lead_id=failure.lead)
    except LeadNotFound:
        lead = None
    if target is None or lead is None:
        failure.delete()
        return "dropped"
    # The same event (id, time, statuses) with what the lead says now: dead letters keep no names.
    event = webhooks.Event(
        event_id=failure.event_key, type=failure.event, lead_id=lead.lead_id, occurred_at=failure.occurred_at,
        status=failure.status, previous_status=failure.previous_status, created_at=lead.created_at,
        name=lead.name, company=lead.company, subject=lead.subject, lead_expires_at=lead.expires_at)
    if target.name in selectors.webhooks_delivered(event_id=event.event_id, webhooks=[target.name]):
        failure.delete()
        return "delivered"
    outcome = webhooks.send(target, event, attempts=1, pause=0,
                            deadline=time.monotonic() + settings.LEADS_WEBHOOK_TIMEOUT + 1)
    if outcome.delivered:
        webhook_mark_delivered(event=event, webhook=target.name)
        failure.delete()
        return "delivered"
    try:
        with conditional(failure):
            # Never recreates one that another admin's "Try again" delivered (and deleted) meanwhile.
            failure.update(actions=[WebhookFailure.attempts.add(outcome.attempts),
                                    WebhookFailure.error.set(outcome.error[:100]), WebhookFailure.failed_at.set(utcnow())],
                           condition=WebhookFailure.failure_id.exists())
    except Refused:
        pass
    return "failed"
