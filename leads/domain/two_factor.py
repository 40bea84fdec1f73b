"""Two-factor sign-in: TOTP codes (RFC 6238, through pyotp) and single-use recovery codes. A service: it writes.

What is stored on the Staff item, and why:
- ``totp_secret``: the shared secret, encrypted (Fernet) with a key derived from SECRET_KEY, so a copy
  of the table (a backup, an export, a console reader) holds no usable secret. SECRET_KEY_FALLBACKS
  still decrypt, so SECRET_KEY can be rotated as Django documents; a secret no key decrypts counts as
  no match, and an admin resets that person's two-factor.
- ``totp_last_step``: the 30-second time step of the last accepted code. A code is accepted only for a
  later step, with a conditional write, so a code (or any earlier one) never works twice, even when
  two requests race.
- ``recovery_codes``: HMAC-SHA256 of each unused code, keyed with SECRET_KEY and the account. The codes
  are random (about 50 bits each, from ``secrets``), not chosen by people, so a slow password hash
  would add no protection worth its cost (ten PBKDF2 checks per attempt) and could not be matched in a
  condition; a keyed hash can, so using one is a single conditional delete: it works once.
- ``totp_last_use``: which sign-in attempt (a random id from its half-signed-in session) had the last
  code accepted, so that when an answer is lost the same attempt sent again is let through, and only it.
"""

import base64
import hmac
import logging
import secrets
import time

import pyotp
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

from leads.domain import ratelimit
from leads.domain.exceptions import CodeUsed, InvalidCode, StaffNotFound, TwoFactorAlreadyOn, TwoFactorRequired
from leads.domain.services import staff_finish_access_change
from leads.storage.models import Staff
from leads.storage.transactions import Refused, conditional

logger = logging.getLogger(__name__)

STEP_SECONDS = 30  # RFC 6238's default, what every authenticator app uses
DIGITS = 6
DRIFT_STEPS = 1  # a code from the step before or after the server's is accepted too (clocks drift)
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read off paper and typed back
_RECOVERY_LENGTH = 10  # about 50 bits each


def _now() -> float:
    """Seconds since the epoch (tests move it)."""
    return time.time()


def is_required(role: str) -> bool:
    """True if LEADS_REQUIRE_2FA requires two-factor sign-in for someone with this role."""
    policy = settings.LEADS_REQUIRE_2FA
    return policy == "everyone" or (policy == "admins" and role == "admin")


def is_enabled(staff: Staff) -> bool:
    """True if this account signs in with a code after the password."""
    return bool(staff.totp_secret)


def recovery_codes_left(staff: Staff) -> int:
    return len(staff.recovery_codes or ())


def new_secret() -> str:
    """A fresh TOTP secret: 32 base32 characters (160 bits, RFC 4226's recommended length)."""
    return pyotp.random_base32()


def provisioning_uri(*, secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=settings.LEADS_2FA_ISSUER)


def normalise_code(text: str) -> str:
    """What people type, as compared: spaces and dashes dropped, lower case."""
    return "".join(text.split()).replace("-", "").lower()


def looks_like_app_code(text: str) -> bool:
    """True for six digits (a code from the app); anything else is taken as a recovery code."""
    code = normalise_code(text)
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def _step(now: float) -> int:
    return int(now // STEP_SECONDS)


def matching_step(*, secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (within the drift window around `now`) whose code is `code`, or None."""
    code = normalise_code(code)
    if not looks_like_app_code(code):
        return None
    totp = pyotp.TOTP(secret)
    current = _step(_now() if now is None else now)
    matches = [step for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1)
               if hmac.compare_digest(totp.generate_otp(step), code)]  # every step compared: no early exit
    return matches[-1] if matches else None


# --- Keys derived from SECRET_KEY (and its fallbacks, so it can be rotated) -----------------------

def _keys() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def _box() -> MultiFernet:
    """Encrypts with SECRET_KEY's key, decrypts with it or any fallback's."""
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(
            salted_hmac("leads.domain.two_factor.secret", "totp", secret=key, algorithm="sha256").digest()))
        for key in _keys()
    ])


def _seal(secret: str) -> str:
    return _box().encrypt(secret.encode()).decode()


def _unseal(sealed: str) -> str | None:
    """The stored secret in clear, or None if no current or fallback key opens it."""
    try:
        return _box().decrypt(sealed.encode()).decode()
    except InvalidToken:
        logger.warning("A stored two-factor secret could not be decrypted (was SECRET_KEY changed without a fallback?)")
        return None


def _recovery_hashes(email: str, code: str) -> list[str]:
    """The stored form of a recovery code for this account, under each key (the first: SECRET_KEY's)."""
    return [salted_hmac("leads.domain.two_factor.recovery", f"{email}|{normalise_code(code)}",
                        secret=key, algorithm="sha256").hexdigest() for key in _keys()]


def _new_recovery_codes(email: str) -> tuple[list[str], set[str]]:
    """Ten fresh codes as shown (``abcde-fghjk``), and their stored hashes."""
    codes = []
    while len(codes) < RECOVERY_CODE_COUNT:
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        code = f"{raw[:5]}-{raw[5:]}"
        if code not in codes:
            codes.append(code)
    return codes, {_recovery_hashes(email, code)[0] for code in codes}


def _ref(email: str) -> str:
    """An account as the audit log names it: a keyed hash, never the address."""
    return ratelimit.client_fingerprint(email)[:16]


def _unchanged_access(access: int | None):
    return (Staff.access == access) if access else Staff.access.does_not_exist()


# --- Writes --------------------------------------------------------------------------------------

def two_factor_enable(*, email: str, secret: str, code: str, access: int | None, now: float | None = None) -> list[str]:
    """Turn two-factor on with `secret` once `code` proves the app has it; return the ten recovery codes.

    The code's step is recorded as used. Written only while the account is still active, still
    without two-factor and still holds `access` (the stamp of the session that enrolled). The same
    enrolment sent again (its answer lost: the same secret is stored already) gets the recovery codes
    again, new ones if need be, as they were never shown. Raises InvalidCode, TwoFactorAlreadyOn,
    StaffNotFound.
    """
    step = matching_step(secret=secret, code=code, now=now)
    if step is None:
        raise InvalidCode()
    codes, hashes = _new_recovery_codes(email)
    account = Staff(email)
    try:
        with conditional(account):
            account.update(
                actions=[Staff.totp_secret.set(_seal(secret)), Staff.totp_last_step.set(step),
                         Staff.recovery_codes.set(hashes), Staff.totp_last_use.remove()],
                condition=Staff.email.exists() & Staff.totp_secret.does_not_exist()
                & (Staff.active == True) & _unchanged_access(access),  # noqa: E712
            )
    except Refused:
        return _enable_again(email, secret, codes, hashes, access)
    logger.info("Two-factor sign-in turned on for account %s", _ref(email))
    return codes


def _enable_again(email: str, secret: str, codes: list[str], hashes: set[str], access: int | None) -> list[str]:
    """After a refused enrolment: this very enrolment landed before (a retry, a resend), or why not."""
    try:
        current = Staff.get(email, consistent_read=True)
    except Staff.DoesNotExist:
        raise StaffNotFound() from None
    if not current.active or current.access != access:
        raise StaffNotFound()  # deactivated, or its access changed: this session is over anyway
    if not current.totp_secret or _unseal(current.totp_secret) != secret:
        raise TwoFactorAlreadyOn()  # enrolled with another secret (another tab, another device)
    if current.recovery_codes == hashes:
        return codes  # botocore's retry of the write that had landed
    # The person sent the same enrolment again, its answer lost: its codes were never shown, so new ones.
    account = Staff(email)
    try:
        with conditional(account):
            account.update(actions=[Staff.recovery_codes.set(hashes)],
                           condition=Staff.totp_secret == current.totp_secret)
    except Refused:
        raise TwoFactorAlreadyOn() from None
    logger.info("Two-factor sign-in turned on for account %s (sent again)", _ref(email))
    return codes


def two_factor_verify(*, staff: Staff, code: str, now: float | None = None, attempt: str = "") -> str:
    """Accept `code` for this account, once: a code from the app, or a recovery code. Return which ("app"/"recovery").

    A code from the app is accepted only for a time step later than the last accepted one (a
    conditional write records it); a recovery code is deleted as it is accepted (a conditional
    delete). `attempt` names this sign-in attempt (random, kept by the browser's half-signed-in
    session): the very same attempt sent again after its answer was lost is accepted again, no other.
    Raises CodeUsed for a right code already used, InvalidCode for anything else.
    """
    if not staff.totp_secret:
        raise InvalidCode()
    if looks_like_app_code(code):
        _accept_app_code(staff, code, now, attempt)
        return "app"
    _use_recovery_code(staff, code, attempt)
    return "recovery"


def _accepted_by(attempt: str, what: str) -> str | None:
    """What totp_last_use holds once `attempt` had `what` accepted (None: nothing to recognise it by)."""
    return f"{attempt}:{what}" if attempt else None


def _accept_app_code(staff: Staff, code: str, now: float | None, attempt: str) -> None:
    secret = _unseal(staff.totp_secret)
    step = matching_step(secret=secret, code=code, now=now) if secret else None
    if step is None:
        raise InvalidCode()
    mine = _accepted_by(attempt, f"step:{step}")
    last_use = Staff.totp_last_use.set(mine) if mine else Staff.totp_last_use.remove()
    again = mine is not None and staff.totp_last_step == step and staff.totp_last_use == mine
    if staff.totp_last_step is not None and step <= staff.totp_last_step and not again:
        raise CodeUsed()
    later = Staff.totp_last_step.does_not_exist() | (Staff.totp_last_step < step)
    if mine:
        later = later | ((Staff.totp_last_step == step) & (Staff.totp_last_use == mine))
    account = Staff(staff.email)
    try:
        with conditional(account):
            account.update(
                actions=[Staff.totp_last_step.set(step), last_use],
                # The same secret as read (a reset and re-enrolment meanwhile would change it), and a later step.
                condition=(Staff.totp_secret == staff.totp_secret) & later,
            )
    except Refused:
        raise CodeUsed() from None  # another request accepted this step (or a later one) first
    staff.totp_last_step, staff.totp_last_use = step, mine


def _use_recovery_code(staff: Staff, code: str, attempt: str) -> None:
    stored = staff.recovery_codes or set()
    candidates = _recovery_hashes(staff.email, code)
    found = next((hashed for hashed in candidates if hashed in stored), None)
    if found is None and attempt:  # this attempt's own code, deleted by its first try whose answer was lost
        found = next((hashed for hashed in candidates if staff.totp_last_use == _accepted_by(attempt, hashed)), None)
    if found is None:
        raise InvalidCode()
    mine = _accepted_by(attempt, found)
    unused = Staff.recovery_codes.contains(found)
    if mine:
        unused = unused | (Staff.totp_last_use == mine)
    account = Staff(staff.email)
    try:
        with conditional(account):
            account.update(
                actions=[Staff.recovery_codes.delete({found}),
                         Staff.totp_last_use.set(mine) if mine else Staff.totp_last_use.remove()],
                condition=(Staff.totp_secret == staff.totp_secret) & unused,
            )
    except Refused:
        raise InvalidCode() from None  # used meanwhile by another request
    staff.recovery_codes, staff.totp_last_use = (stored - {found}) or None, mine
    logger.info("A recovery code was used for account %s", _ref(staff.email))


def two_factor_new_recovery_codes(*, email: str) -> list[str]:
    """Replace this account's recovery codes with ten new ones; return them. StaffNotFound if it has no two-factor."""
    codes, hashes = _new_recovery_codes(email)
    account = Staff(email)
    try:
        with conditional(account):
            account.update(actions=[Staff.recovery_codes.set(hashes)], condition=Staff.totp_secret.exists())
    except Refused:
        raise StaffNotFound() from None
    logger.info("New recovery codes made for account %s", _ref(email))
    return codes


def _off_actions() -> list:
    return [Staff.totp_secret.remove(), Staff.totp_last_step.remove(), Staff.recovery_codes.remove(),
            Staff.totp_last_use.remove()]


def two_factor_disable(*, email: str, role: str) -> None:
    """Turn two-factor off at the person's own request; TwoFactorRequired if LEADS_REQUIRE_2FA requires it."""
    if is_required(role):
        raise TwoFactorRequired()
    account = Staff(email)
    try:
        with conditional(account):
            account.update(actions=_off_actions(), condition=Staff.email.exists() & (Staff.role == role))
    except Refused:
        raise StaffNotFound() from None
    logger.info("Two-factor sign-in turned off for account %s by its owner", _ref(email))


def two_factor_reset(*, email: str, actor: str) -> Staff:
    """An admin turns someone's two-factor off (a lost phone) and signs them out everywhere.

    They sign in with the password alone next time, and enrol again (at once, if LEADS_REQUIRE_2FA
    requires it). Raises StaffNotFound.
    """
    account = Staff(email)
    try:
        with conditional(account):
            account.update(
                actions=_off_actions() + [Staff.sessions_stale.set(True), Staff.access.add(1)],
                condition=Staff.email.exists(),
            )
    except Refused:
        raise StaffNotFound() from None
    logger.info("Two-factor sign-in reset for account %s by admin %s; its sessions are ended", _ref(email), _ref(actor))
    staff_finish_access_change(staff=account)
    return account
