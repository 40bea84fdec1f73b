"""Signed, opaque page cursors over DynamoDB's LastEvaluatedKey."""

from django.core import signing
from django.utils.translation import gettext as _

from leads.domain.exceptions import BadCursor

_SALT = "leads.cursor"
MAX_AGE = 7 * 24 * 3600
NEXT, PREVIOUS = "n", "p"


def encode(key: dict, *, scope: str, direction: str) -> str:
    """Sign a position in one listing (scope = index and key value) for use in a URL."""
    return signing.dumps({"s": scope, "k": key, "d": direction}, salt=_SALT, compress=True)


def decode(cursor: str, *, scope: str, key_names: set[str]) -> tuple[dict, str]:
    """Return (exclusive start key, direction); raise BadCursor for anything not made by encode() here."""
    try:
        payload = signing.loads(cursor, salt=_SALT, max_age=MAX_AGE)
    except signing.SignatureExpired as error:
        raise BadCursor(_("This page link has expired.")) from error
    except signing.BadSignature as error:
        raise BadCursor(_("This page link is not valid.")) from error
    key, direction = payload.get("k"), payload.get("d")
    if payload.get("s") != scope:
        raise BadCursor(_("This page link belongs to a different filter or search."))
    valid_key = (
        isinstance(key, dict)
        and set(key) == key_names
        and all(isinstance(v, dict) and list(v) == ["S"] and isinstance(v["S"], str) for v in key.values())
    )
    if not valid_key or direction not in (NEXT, PREVIOUS):
        raise BadCursor(_("This page link is not valid."))
    return key, direction
