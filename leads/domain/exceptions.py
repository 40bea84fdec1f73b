"""Domain errors raised by services, selectors, sign-in and sessions; views map them to HTTP."""

from django.contrib.sessions.backends.base import UpdateError

# Raised by storage itself (leads.storage.transactions), which may not import this module; one class,
# so `except StorageUnavailable` here catches what storage raises.
from leads.storage.errors import StorageUnavailable


class LeadsError(Exception):
    """Base class for every domain error."""


class LeadNotFound(LeadsError):
    """No lead has that id (or it was deleted)."""


class LeadConflict(LeadsError):
    """Someone else saved the lead since it was loaded."""

    def __init__(self, current=None):
        super().__init__("The lead was changed by someone else.")
        self.current = current


class RateLimited(LeadsError):
    """The client has used up its allowance for this window."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many requests; retry in {retry_after} s.")
        self.retry_after = retry_after


class StaffExists(LeadsError):
    """A staff account with that email already exists."""


class StaffNotFound(LeadsError):
    """No staff account has that email (or it was removed meanwhile)."""


class InvalidPreference(LeadsError):
    """A time zone or language that leads.domain.preferences does not offer."""


class InvitationInvalid(LeadsError):
    """An invitation link that was tampered with, expired, used, withdrawn or replaced (never saying which)."""


class ResetLinkInvalid(LeadsError):
    """A password-reset link that was tampered with, has expired, or was made before the account's password
    changed or its owner last signed in (a used link included; never saying which)."""


class InvalidCredentials(LeadsError):
    """Wrong email or password (deliberately not saying which)."""


class LoginThrottled(LeadsError):
    """Too many recent failures for this account or this client."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed sign-ins; retry in {retry_after} s.")
        self.retry_after = retry_after


class AccessChanged(LeadsError, UpdateError):
    """The staff member's role, password or `active` changed since this session's sign-in read them.

    An UpdateError too, so Django's session middleware treats it as the session write it refused.
    """


class InvalidCode(LeadsError):
    """A two-factor code (from the app, or a recovery code) that does not match."""


class CodeUsed(InvalidCode):
    """A right code from the app whose time step was already used: a replay, or the same code twice."""


class TwoFactorRequired(LeadsError):
    """LEADS_REQUIRE_2FA requires two-factor sign-in for this account; it cannot be turned off."""


class TwoFactorAlreadyOn(LeadsError):
    """Two-factor sign-in was turned on for this account meanwhile (another tab, another device)."""


class BadCursor(LeadsError, ValueError):
    """The cursor was tampered with, expired, or belongs to another listing."""


__all__ = [
    "AccessChanged", "BadCursor", "CodeUsed", "InvalidCode", "InvalidCredentials", "LeadConflict", "LeadNotFound",
    "LeadsError", "LoginThrottled", "RateLimited", "ResetLinkInvalid", "StaffExists", "StaffNotFound",
    "StorageUnavailable", "TwoFactorAlreadyOn", "TwoFactorRequired",
]


class WebhookFailureNotFound(LeadsError):
    """No dead-lettered webhook has that id (it was resent, or expired)."""
