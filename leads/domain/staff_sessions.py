"""One person's sessions, as "Where you're signed in" lists them, and ending them.

A service module (the writes that end sessions, and the reads that serve them). A listing is one Query
on the sessions table's staff-index (keys only) and one BatchGetItem for what the page shows of each:
when it started, its last activity, a browser summary and a location hint (leads.accounts.sessions
writes them; never a User-Agent or an IP address). Pages name a session by a keyed hash of its key,
never the key itself: a session key is as good as a signed-in cookie.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.crypto import constant_time_compare, salted_hmac
from pynamodb.exceptions import PynamoDBException

from leads.domain import services
from leads.domain.exceptions import StaffNotFound, StorageUnavailable
from leads.storage.models import Staff, StaffSession, utcnow
from leads.storage.transactions import Refused, commit, conditional


@dataclass(frozen=True)
class SessionRow:
    """One session as the page shows it; `ref` names it in forms."""

    ref: str
    started_at: datetime | None
    last_seen_at: datetime | None
    browser: str
    location: str
    current: bool


def session_ref(key: str) -> str:
    """A session's name in pages and forms: a keyed hash of its key, which proves nothing to anyone."""
    return salted_hmac("leads.domain.staff_sessions.ref", key).hexdigest()[:24]


def _keys(email: str) -> set[str]:
    """The keys of this person's sessions, by the staff-index (it may lag a moment behind a sign-in)."""
    return {item.session_key for item in StaffSession.by_staff.query(email)}


def sessions_of(*, email: str, current_key: str | None = None, now: datetime | None = None) -> list[SessionRow]:
    """This person's live sessions: the current one first (if given, and theirs), then by last activity.

    `current_key` is the key of the session asking, if it is theirs: it is listed even before the
    index has caught up with it.
    """
    now = now or utcnow()
    try:
        keys = _keys(email) | ({current_key} if current_key else set())
        # Consistent, so that a session written a moment ago (this one, at sign-in) is there.
        items = list(StaffSession.batch_get(sorted(keys), consistent_read=True)) if keys else []
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    rows = [
        SessionRow(
            ref=session_ref(item.session_key), started_at=item.started_at, last_seen_at=item.last_seen_at,
            browser=item.browser or "Unknown browser", location=item.location or "Unknown",
            current=item.session_key == current_key,
        )
        for item in items
        if item.staff_email == email and item.expires_at > now
    ]
    rows.sort(key=lambda row: row.last_seen_at or row.started_at or now.min.replace(tzinfo=now.tzinfo), reverse=True)
    rows.sort(key=lambda row: not row.current)  # stable: the current one first, the rest as they were
    return rows


def end_session(*, email: str, ref: str, keep: str | None = None) -> bool:
    """End the session of this person that `ref` names (never `keep`); False if there is none, or it had ended.

    One transaction: the session item, on condition it is this person's, and its key on their account.
    """
    try:
        key = next((key for key in _keys(email) if key != keep and constant_time_compare(session_ref(key), ref)), None)
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    if key is None:
        return False

    def fill(tx):
        tx.delete(StaffSession(key), condition=StaffSession.staff_email == email)
        tx.update(Staff(email), actions=[Staff.session_keys.delete({key})], condition=Staff.email.exists())

    try:
        commit(fill)
    except Refused:
        return False  # ended meanwhile (signed out, expired, or the account removed)
    return True


def end_other_sessions(*, email: str, keep: str) -> int:
    """End every session of this person but `keep` (the one asking); return how many were ended.

    Every key the account recorded (read consistently) and every key the index knows: no session
    written before this moment survives. A sign-in landing at the same moment may; it is a new session.
    """
    try:
        recorded = Staff.get(email, consistent_read=True).session_keys or set()
        keys = services.staff_end_sessions(email=email, keys=recorded, keep=keep)
        if not keys:
            return 0
        Staff(email).update(actions=[Staff.session_keys.delete(keys)], condition=Staff.email.exists())
    except Staff.DoesNotExist:
        return 0
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    return len(keys)


def end_all_sessions(*, email: str) -> None:
    """Sign this person out everywhere (an admin's "End all sessions").

    As a change of role or password does (services.staff_update): `access` is bumped, so a sign-in in
    flight fails too, then every session is ended. Raises StaffNotFound if there is no such account.
    """
    staff = Staff(email)
    try:
        with conditional(staff):
            staff.update(actions=[Staff.sessions_stale.set(True), Staff.access.add(1)], condition=Staff.email.exists())
    except Refused:
        raise StaffNotFound() from None
    services.staff_finish_access_change(staff=staff)
