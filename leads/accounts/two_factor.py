"""The second step of signing in, and proving it is you before changing two-factor settings.

After a right password for an account with two-factor, the browser is only "half signed in": its
session holds a signed, expiring note naming the account and its `access` stamp, and none of the keys
a signed-in session has (leads.accounts.auth.current_staff sees nobody). The code page turns the note
into a full session. Codes draw on the same failure allowances as passwords (auth.reserve_attempt),
so a guesser gets no more tries at the code than at the password.
"""

import logging
import secrets
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password
from django.contrib.sessions.backends.base import UpdateError
from django.core import signing
from django.http import HttpRequest
from pynamodb.exceptions import PynamoDBException

from leads.accounts import auth
from leads.domain import selectors, two_factor
from leads.domain.exceptions import InvalidCode, InvalidCredentials, StorageUnavailable
from leads.storage.models import Staff, utcnow

logger = logging.getLogger(__name__)

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60  # from the right password to the code
_SALT = "leads.accounts.two_factor.pending"


class SignInExpired(Exception):
    """The half-signed-in note is missing, expired, forged, or its account changed since the password."""


@dataclass(frozen=True)
class Pending:
    """Who got the password right on this browser, where they were going, and this attempt's random id."""

    email: str
    access: int
    next_url: str
    attempt: str


def begin(request: HttpRequest, staff: Staff, *, next_url: str) -> None:
    """Half sign in: end any session this browser had, and keep a note that staff's password was right."""
    request.session.flush()
    request.session[PENDING_KEY] = signing.dumps(
        {"email": staff.email, "access": int(staff.access or 0), "next": next_url, "id": secrets.token_urlsafe(12)},
        salt=_SALT, compress=True,
    )
    # The session item itself expires with the note (DynamoDB's TTL removes it); finish() lifts this.
    request.session.set_expiry(PENDING_SECONDS)


def pending(request: HttpRequest) -> Pending | None:
    """The half-signed-in note, if this browser has a valid one."""
    token = request.session.get(PENDING_KEY)
    if not token:
        return None
    try:
        note = signing.loads(token, salt=_SALT, max_age=PENDING_SECONDS)
    except signing.BadSignature:  # expired notes too (SignatureExpired)
        return None
    return Pending(email=note["email"], access=note["access"], next_url=note["next"], attempt=note["id"])


def verify(request: HttpRequest, code: str, *, client: str) -> tuple[Staff, str]:
    """Check the code against the half-signed-in account; return it and which kind of code it was.

    Raises SignInExpired (start again with the password), LoginThrottled, InvalidCode (CodeUsed for a
    right code already used), StorageUnavailable.
    """
    note = pending(request)
    if note is None:
        raise SignInExpired()
    windows = auth.reserve_attempt(email=note.email, client=client, device=request.COOKIES.get(auth.DEVICE_COOKIE),
                                   now=utcnow())
    try:
        staff = selectors.staff_get(email=note.email)
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    if staff is None or not staff.active or int(staff.access or 0) != note.access or not two_factor.is_enabled(staff):
        auth.refund_attempt(windows)  # not a guess: the account changed (password, role, reset) meanwhile
        raise SignInExpired()
    try:
        # The attempt's id: if this very request was sent before and its answer lost, the code it had accepted counts.
        kind = two_factor.two_factor_verify(staff=staff, code=code, attempt=note.attempt)
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    auth.refund_attempt(windows)
    return staff, kind


def finish(request: HttpRequest, staff: Staff) -> None:
    """Turn the half-signed-in session into a full one (a new key), marked as signed in with a code.

    The half-signed-in session's item is deleted only once the new session is written, and if that
    delete fails the sign-in stands: the item ends by itself within PENDING_SECONDS, and only this
    browser ever held its key. (Left to cycle_key, a failed delete would answer 503 after the new
    session was made, leaving a session nobody holds.)
    """
    pending_key = request.session.session_key
    request.session.pop(PENDING_KEY, None)
    request.session.set_expiry(None)  # back to SESSION_COOKIE_AGE
    request.session._session_key = None  # as flush() does: cycle_key in login() then only creates
    auth.login(request, staff, two_factor=True)
    if pending_key:
        try:
            request.session.delete(pending_key)
        except PynamoDBException:
            logger.warning("Could not delete a half-signed-in session after its sign-in", exc_info=True)


def abandon(request: HttpRequest) -> None:
    """Forget the half-signed-in note (and the session that held it)."""
    request.session.flush()


def confirm(request: HttpRequest, answer: str, *, client: str) -> Staff:
    """Check that the signed-in person is at the keyboard: a current code from their app, or their password.

    Throttled like sign-in. Returns their account; raises InvalidCredentials (InvalidCode's CodeUsed is
    folded in: a used code proves nothing), LoginThrottled, StorageUnavailable.
    """
    email = request.staff.email
    windows = auth.reserve_attempt(email=email, client=client, device=request.COOKIES.get(auth.DEVICE_COOKIE),
                                   now=utcnow())
    try:
        staff = selectors.staff_get(email=email)
        if staff is None or not staff.active:
            raise InvalidCredentials()
        if two_factor.is_enabled(staff) and two_factor.looks_like_app_code(answer):
            two_factor.two_factor_verify(staff=staff, code=answer)
        elif not check_password(answer, staff.password):
            raise InvalidCredentials()
    except InvalidCode:
        raise InvalidCredentials() from None
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    auth.refund_attempt(windows)
    return staff


def mark_verified(request: HttpRequest) -> None:
    """Record that this session has proved a second factor (right after enrolling with a code).

    Saved here, inside the view's error handling: if the write fails, the session stays as it was
    (which matters only where LEADS_REQUIRE_2FA asks for the proof: signing in again with a code gives it).
    """
    request.session[auth.STAFF_TWO_FACTOR_KEY] = True
    try:
        request.session.save()
    except (PynamoDBException, StorageUnavailable, UpdateError):
        logger.warning("Could not mark a session as signed in with a code", exc_info=True)
        request.session[auth.STAFF_TWO_FACTOR_KEY] = False
        request.session.modified = False  # nothing left for the middleware to try again
