"""Reads. Every read is a GetItem, BatchGetItem or Query on a key or index — never a Scan."""

from pynamodb.exceptions import PynamoDBException

from .models import Lead

_PROBE_ID = "healthz-probe"


def storage_is_reachable() -> bool:
    """True when a GetItem on the lead table answers (a missing item is still an answer)."""
    try:
        Lead.get(_PROBE_ID)
    except Lead.DoesNotExist:
        return True
    except PynamoDBException:
        return False
    return True
