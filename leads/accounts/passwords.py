"""Password rules: the one check every new password passes, wherever it is set.

``validate_new_password(password, staff_like)`` runs Django's AUTH_PASSWORD_VALIDATORS (leadsite/settings.py:
length, common passwords, similarity to the account's email and name, all digits) and raises Django's
ValidationError with every message. Every place that sets a password calls it: accepting an invitation
(backoffice forms), changing one's own password, resetting a forgotten one, and ``manage.py createstaff``.

`staff_like` is anything with ``email`` and ``name`` attributes: a stored Staff, the signed-in
CurrentStaff, a pending Invitation. Django's similarity validator was written for ORM users (it reads
``user._meta`` for a field's label); there is no ORM here (DATABASES = {}), so the check gets a small
stand-in holding just those two attributes and their labels.
"""

from dataclasses import dataclass
from types import SimpleNamespace

from django.contrib.auth import password_validation
from django.core.exceptions import FieldDoesNotExist

# How the similarity validator names each attribute in its message ("… too similar to the email address.").
_LABELS = {"email": "email address", "name": "name"}


class _Fields:
    """The part of a model's _meta the similarity validator reads: a field's verbose name."""

    def get_field(self, name: str) -> SimpleNamespace:
        if name not in _LABELS:
            raise FieldDoesNotExist(name)
        return SimpleNamespace(verbose_name=_LABELS[name])


@dataclass(frozen=True)
class PasswordOwner:
    """Whose password it is, as the validators see it: an email and a name, nothing else."""

    email: str
    name: str = ""
    _meta = _Fields()


def owner_of(staff_like) -> PasswordOwner:
    """The PasswordOwner for anything with email and name attributes (either may be missing or None)."""
    return PasswordOwner(email=getattr(staff_like, "email", "") or "", name=getattr(staff_like, "name", "") or "")


def validate_new_password(password: str, staff_like=None) -> None:
    """Raise ValidationError (all the validators' messages) unless `password` may be set for `staff_like`."""
    password_validation.validate_password(password, user=owner_of(staff_like) if staff_like is not None else None)


def help_texts() -> list[str]:
    """What the rules are, for forms to show beside a new-password field."""
    return password_validation.password_validators_help_texts()
