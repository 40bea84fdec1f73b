"""One-time form tokens: each rendered contact form carries the id its lead will be stored under."""

import uuid

from django.conf import settings
from django.core import signing

_signer = signing.TimestampSigner(salt="leads.contact-form")
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c2a8e-4f7b-4d5e-9a51-0c3b8e2d7f10")


def new_token() -> str:
    """Sign a fresh lead id for a newly rendered form."""
    return _signer.sign(uuid.uuid4().hex)


def lead_id_from_token(token: str) -> str:
    """Return the lead id a token stands for; raise BadSignature or SignatureExpired."""
    return _signer.unsign(token, max_age=settings.LEADS_FORM_MAX_AGE)


def lead_id_from_idempotency_key(key: str, *, origin: str) -> str:
    """Derive a stable lead id from a JSON client's Idempotency-Key header, scoped to its origin."""
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{origin}\n{key}").hex


def new_lead_id() -> str:
    """A lead id for a submission that brought no token or key."""
    return uuid.uuid4().hex
