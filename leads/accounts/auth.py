"""Staff sign-in: password check, throttling of repeated failures, and who is signed in."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.contrib.auth.hashers import check_password, make_password
from django.http import HttpRequest
from pynamodb.exceptions import PynamoDBException

from leads.accounts import clients
from leads.accounts.sessions import STAFF_ACCESS_KEY, STAFF_EMAIL_KEY
from leads.domain import ratelimit, selectors, services
from leads.domain.emails import normalise_email
from leads.domain.exceptions import InvalidCredentials, StorageUnavailable
from leads.storage.models import Staff, StaffIdentity, utcnow

logger = logging.getLogger(__name__)

STAFF_ROLE_KEY = "staff_role"
STAFF_NAME_KEY = "staff_name"
STAFF_TWO_FACTOR_KEY = "staff_2fa"  # True once this session's sign-in (or enrolment) used a two-factor code
# The staff member's preferences (leads.domain.preferences), copied from the account at sign-in and
# on each change, so that no page reads the account for them: an IANA zone name, a language code.
STAFF_TZ_KEY = "staff_tz"
STAFF_LANG_KEY = "staff_lang"


@dataclass(frozen=True)
class CurrentStaff(StaffIdentity):
    """The signed-in staff member, as recorded in their session (no extra read per request)."""

    email: str
    role: str
    name: str
    two_factor: bool = False  # this session proved a second factor (LEADS_REQUIRE_2FA asks for it)


def current_staff(request: HttpRequest) -> CurrentStaff | None:
    """Who is signed in on this request, or None."""
    session = request.session
    email = session.get(STAFF_EMAIL_KEY)
    if not email:
        return None
    return CurrentStaff(email=email, role=session.get(STAFF_ROLE_KEY, "sales"), name=session.get(STAFF_NAME_KEY, ""),
                        two_factor=bool(session.get(STAFF_TWO_FACTOR_KEY)))


DEVICE_COOKIE = "leads_device"
_DEVICE_SALT = "leads.accounts.auth.device"


def device_token(email: str) -> str:
    """A signed token saying "this browser signed in to this account before" (the email only as a keyed hash)."""
    return signing.dumps(ratelimit.client_fingerprint(normalise_email(email)), salt=_DEVICE_SALT, compress=False)


def is_known_device(token: str | None, email: str) -> bool:
    """True if token was issued to a browser that signed in to this account within the cookie's lifetime."""
    if not token:
        return False
    try:
        account = signing.loads(token, salt=_DEVICE_SALT, max_age=settings.LEADS_LOGIN_DEVICE_COOKIE_AGE)
    except signing.BadSignature:
        return False
    return account == ratelimit.client_fingerprint(normalise_email(email))


def _failure_windows(email: str, client: str, now: datetime, *, known_device: bool) -> list[ratelimit.Window]:
    """The allowances one attempt draws on.

    Guessing is throttled where the guesser is: per account and client together, and per client. A
    wrong password from elsewhere therefore never locks the owner out. Only a guesser spread over
    many addresses meets the account's own ceiling, set high; a browser that signed in to this account
    before is exempt from it, so even then the owner gets in.
    """
    period = settings.LEADS_LOGIN_LOCKOUT_SECONDS
    account = ratelimit.client_fingerprint(email)
    windows = [
        ratelimit.current_window(
            scope="login-pair", client=ratelimit.client_fingerprint(f"{account}|{client}"), period=period,
            now=now, limit=settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT,
        ),
        ratelimit.current_window(
            scope="login-client", client=client, period=period, now=now,
            limit=settings.LEADS_LOGIN_MAX_FAILURES_PER_CLIENT,
        ),
    ]
    if not known_device:
        windows.append(ratelimit.current_window(
            scope="login-account", client=account, period=period, now=now,
            limit=settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT,
        ))
    return windows


def authenticate(*, email: str, password: str, client: str, device: str | None = None,
                 now: datetime | None = None) -> Staff:
    """Return the active staff member with these credentials.

    Every attempt first reserves one of each allowed failure it draws on (see _failure_windows) with
    one conditional, atomic transaction, so even a burst of parallel guesses gets at most that many
    password checks per window; a successful sign-in hands its reservation back. `device` is the
    browser's device cookie, if any. Raises LoginThrottled when an allowance is used up,
    InvalidCredentials on any mismatch (never saying which part).
    """
    now = now or utcnow()
    email = normalise_email(email)
    windows = reserve_attempt(email=email, client=client, device=device, now=now)
    try:
        staff = selectors.staff_get(email=email)
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    if staff is None:
        make_password(password)  # the same cost as a real check: timing must not reveal who exists
    elif check_password(password, staff.password) and staff.active:
        refund_attempt(windows)
        return staff
    raise InvalidCredentials()


def reserve_attempt(*, email: str, client: str, device: str | None, now: datetime) -> list[ratelimit.Window]:
    """Count one guess at this account (a password, or a two-factor code) before checking it; return its windows.

    Raises LoginThrottled when an allowance is used up. Hand the windows to refund_attempt when the
    guess turns out right.
    """
    windows = _failure_windows(email, client, now, known_device=is_known_device(device, email))
    services.attempt_reserve(windows=windows, now=now)
    return windows


def refund_attempt(windows: list[ratelimit.Window]) -> None:
    """Hand a successful sign-in's reservation back; if DynamoDB fails here, sign in all the same."""
    try:
        services.attempt_refund(windows=windows)
    except StorageUnavailable:
        # The password was right: an unreturned reservation costs one attempt of the allowance at
        # worst, while refusing the sign-in would lock honest people out during an outage.
        logger.warning("Could not refund a sign-in attempt", exc_info=True)


def login(request: HttpRequest, staff: Staff, *, two_factor: bool = False) -> None:
    """Start a fresh session for staff (a new key, so a planted session id is useless).

    `two_factor`: the sign-in checked a code after the password (leads.accounts.two_factor).
    """
    # Filled before the new key is made, so making it writes the whole session in this one call, inside
    # the view's error handling; the middleware then has nothing left to save that could fail alone.
    request.session[STAFF_EMAIL_KEY] = staff.email
    request.session[STAFF_ROLE_KEY] = staff.role
    request.session[STAFF_NAME_KEY] = staff.name or ""
    request.session[STAFF_TWO_FACTOR_KEY] = two_factor
    remember_preferences(request, time_zone=staff.time_zone, language=staff.language)
    # The session is written only while the account still holds this stamp: AccessChanged otherwise.
    request.session[STAFF_ACCESS_KEY] = int(staff.access or 0)
    if staff.sessions_stale:
        # A change of access (a reset, a new role) whose ending of the account's sessions did not all
        # land: end them now, before this one starts, or not sign in at all.
        services.staff_finish_access_change(staff=staff)
    # What "Where you're signed in" will show for this session: summaries only, never the User-Agent or IP.
    request.session.client = clients.describe(request)
    request.session.cycle_key()
    try:
        services.staff_forget_ended_sessions(staff=staff)
    except PynamoDBException:
        # Signed in all the same: the keys are pruned at a later sign-in.
        logger.warning("Could not prune an account's ended session keys", exc_info=True)


def remember_preferences(request: HttpRequest, *, time_zone: str | None, language: str | None) -> None:
    """Put the account's time zone and language in the session (the site's defaults where it has none)."""
    request.session[STAFF_TZ_KEY] = time_zone or settings.TIME_ZONE
    request.session[STAFF_LANG_KEY] = language or ""


def logout(request: HttpRequest) -> None:
    """Delete the session item and its cookie."""
    request.session.flush()
