"""Password reset: "Forgot your password?" emails a one-time link; no table, nothing stored but rate windows.

A service module (the writes of a reset, and the reads that serve them). The link is
``/admin/password-reset/<uid>/<token>/``: `uid` is the account's email in URL-safe base64, and `token`
comes from Django's PasswordResetTokenGenerator, a timestamp and a keyed hash of the account's email,
password hash and last sign-in. So a link stops working, with nothing to store or delete, once it has
been used (the password hash changed), after any other password change, once its owner signs in
(``last_login`` changed: they remembered it) and PASSWORD_RESET_TIMEOUT seconds after it was made.

Asking for a link answers the same whatever the address: the throttle counts every request, the
account is read in every case, and a message is built in every case; it is sent only to an active
account.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from pynamodb.exceptions import PynamoDBException

from leads.domain import ratelimit, selectors, services
from leads.domain.emails import normalise_email
from leads.domain.exceptions import RateLimited, ResetLinkInvalid, StaffNotFound, StorageUnavailable
from leads.storage.models import Staff, utcnow
from leads.storage.transactions import Refused, conditional

logger = logging.getLogger(__name__)


class ResetTokens(PasswordResetTokenGenerator):
    """Django's generator with a salt of its own, so no other token made the same way opens a reset."""

    key_salt = "leads.domain.password_reset"


tokens = ResetTokens()


@dataclass(frozen=True)
class _TokenSubject:
    """What the token generator reads of a "user", made from a Staff item (there is no ORM user here)."""

    pk: str
    email: str
    password: str
    last_login: datetime | None

    @staticmethod
    def get_email_field_name() -> str:
        return "email"


def _subject(staff: Staff) -> _TokenSubject:
    return _TokenSubject(pk=staff.email, email=staff.email, password=staff.password, last_login=staff.last_login)


# A stand-in account for addresses with no active account: the message is made for it all the same.
_NOBODY = _TokenSubject(pk="nobody@invalid", email="nobody@invalid", password="!", last_login=None)


def uid_for(email: str) -> str:
    """The link's first part: the address in URL-safe base64."""
    return urlsafe_base64_encode(force_bytes(email))


def _email_from_uid(uid: str) -> str | None:
    if not isinstance(uid, str) or len(uid) > 400:  # 254 characters of address are at most 340 of base64
        return None
    try:
        return urlsafe_base64_decode(uid).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _windows(email: str, client: str, now: datetime) -> list[ratelimit.Window]:
    """Per client (someone trying many addresses) and per address (someone flooding one inbox)."""
    period = settings.LEADS_PASSWORD_RESET_WINDOW
    return [
        ratelimit.current_window(scope="reset-client", client=client, period=period, now=now,
                                 limit=settings.LEADS_PASSWORD_RESET_MAX_PER_CLIENT),
        ratelimit.current_window(scope="reset-address", client=ratelimit.client_fingerprint(email), period=period,
                                 now=now, limit=settings.LEADS_PASSWORD_RESET_MAX_PER_ADDRESS),
    ]


def reset_request(*, email: str, client: str, link: Callable[[str, str], str],
                  now: datetime | None = None) -> EmailMessage | None:
    """Count a request for a reset link to `email` and return the email to send, or None.

    `link(uid, token)` makes the absolute URL. None when there is no active account with this address;
    the caller answers the same either way. Raises RateLimited when this client or this address has
    asked too often in the window (counted whether or not the account exists), StorageUnavailable when
    DynamoDB did not answer.
    """
    now = now or utcnow()
    email = normalise_email(email)
    services.attempt_reserve(windows=_windows(email, client, now), now=now, throttled=RateLimited)
    try:
        staff = selectors.staff_get(email=email)
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    found = staff is not None and staff.active
    subject = _subject(staff) if found else _NOBODY
    # Built in every case, so that an address without an account costs the same work as one with.
    message = _message(subject.email, link(uid_for(subject.email), tokens.make_token(subject)))
    return message if found else None


def _message(to: str, url: str) -> EmailMessage:
    minutes = max(1, settings.PASSWORD_RESET_TIMEOUT // 60)
    return EmailMessage(
        subject="Reset your Leads password",
        body=render_to_string("backoffice/email/password_reset.txt", {"link": url, "minutes": minutes}),
        to=[to],
    )


def send_reset_email(message: EmailMessage) -> bool:
    """Send a reset email; False (logged without the address) if the mail server refused it."""
    try:
        message.send(fail_silently=False)
    except Exception:
        logger.exception("Could not send a password-reset email")
        return False
    return True


def staff_for_link(uid: str, token: str) -> Staff:
    """The active account this link resets; ResetLinkInvalid if tampered with, expired, used or outdated."""
    email = _email_from_uid(uid)
    if not email or not isinstance(token, str) or len(token) > 100:
        raise ResetLinkInvalid()
    try:
        staff = selectors.staff_get(email=email)
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    if staff is None or not staff.active or not tokens.check_token(_subject(staff), token):
        raise ResetLinkInvalid()
    return staff


def reset_password(*, uid: str, token: str, password: str) -> Staff:
    """Set a new password through a reset link, once; every session of the account ends.

    As any password change (services.staff_update), it bumps `access`, so sign-ins in flight fail and
    every session is ended. The write is on condition that the password is still the one the token was
    checked against: of two submissions of one link, one wins, the other gets ResetLinkInvalid. A
    resend of a reset that landed while its answer was lost (botocore's retry, or the person sending
    the form again) finds the link spent, and is finished instead: same new password, sessions not yet
    ended (see _landed).
    """
    try:
        staff = staff_for_link(uid, token)
    except ResetLinkInvalid:
        staff = _landed(uid, password)
        if staff is None:
            raise
    else:
        try:
            with conditional(staff):
                staff.update(
                    actions=[Staff.password.set(make_password(password)), Staff.sessions_stale.set(True),
                             Staff.access.add(1)],
                    condition=Staff.email.exists() & (Staff.password == staff.password) & (Staff.active == True),  # noqa: E712
                )
        except Refused:
            staff = _landed(uid, password)
            if staff is None:
                raise ResetLinkInvalid() from None
        except PynamoDBException as error:
            raise StorageUnavailable(str(error)) from error
    try:
        services.staff_finish_access_change(staff=staff)
    except StaffNotFound:
        pass  # removed meanwhile: there is nothing left to sign out of
    except (PynamoDBException, StorageUnavailable):
        # The password is changed and `access` bumped (no session can be written any more); the account
        # stays marked `sessions_stale`, and its next sign-in (leads.accounts.auth.login) ends them first.
        logger.warning("Could not end every session after a password reset; the next sign-in will", exc_info=True)
    return staff


def _landed(uid: str, password: str) -> Staff | None:
    """The account, if a reset to exactly `password` landed and its sessions are still to be ended; else None.

    Only someone who knows the account's current password gets this far, and all it does is end the
    account's sessions, which signing in would do too (leads.accounts.auth.login).
    """
    email = _email_from_uid(uid)
    if not email:
        return None
    try:
        staff = selectors.staff_get(email=email)
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error
    if staff is None or not staff.active or not staff.sessions_stale or not check_password(password, staff.password):
        return None
    return staff
