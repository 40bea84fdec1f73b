"""Commit writes and say what DynamoDB answered: done, Refused (naming the items whose condition failed), or unavailable.

DynamoDB documents that a cancelled transaction's CancellationReasons align one-to-one with the
TransactItems of the request that was sent. PynamoDB builds that list itself (grouping items by kind),
so the request is captured as botocore sends it, keyed by the attempt's ClientRequestToken, and a
failed condition is matched to its item by table and key, never by position.
"""

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError
from django.conf import settings
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from leads.storage import internals
from leads.storage.dynamodb import shared_connection
from leads.storage.errors import StorageUnavailable

logger = logging.getLogger(__name__)

# Cancellations that say "try again", not "no": a concurrent transaction on the same item (two writes
# that met on one tally shard, or on one lead) or throttling of one item.
RETRYABLE_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
CONDITION_FAILED = "ConditionalCheckFailed"

# An item as the request named it: its table, and its key (or, for a Put, its whole item) in DynamoDB JSON.
Named = tuple[str, dict]


class Refused(Exception):
    """A write refused by a condition; `by(item)` tells whether it was that item's condition."""

    def __init__(self, failed: list[Named]):
        # Counts only: keys can be email addresses, which never go into messages or logs.
        super().__init__(f"Refused by the condition on {len(failed)} item(s).")
        self.failed = failed

    def by(self, item: Model) -> bool:
        """True if `item`'s condition (same table, same key) is one of those that failed."""
        table, key = item.Meta.table_name, item_key(item)
        return any(name == table and all(attributes.get(k) == v for k, v in key.items())
                   for name, attributes in self.failed)


def item_key(item: Model) -> dict:
    """The item's key in DynamoDB JSON, as a request names it."""
    attributes = item.serialize(null_check=False)
    names = [internals.hash_key_attribute(type(item)).attr_name]
    range_key = internals.range_key_attribute(type(item))
    if range_key is not None:
        names.append(range_key.attr_name)
    return {name: attributes[name] for name in names}


# TransactItems of requests in flight, by ClientRequestToken: tokens are unique per attempt, so
# concurrent commits on other threads never see each other's.
_sent: dict[str, list[dict]] = {}
_sent_lock = threading.Lock()


def _remember(params: dict, **_) -> None:
    """botocore hook: keep the TransactItems of a request about to be built, under its token."""
    token = params.get("ClientRequestToken")
    if token:
        with _sent_lock:
            _sent[token] = params.get("TransactItems", [])


def _watch(connection) -> None:
    """Capture every TransactWriteItems request sent through this connection's client (idempotent)."""
    connection.client.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems", _remember, unique_id="leads-transaction-items"
    )


def _named(transact_item: dict) -> Named:
    """The table and key (or whole item, for a Put) one TransactItem names."""
    (kind, action), = ((k, v) for k, v in transact_item.items())
    return action["TableName"], action["Item"] if kind == "Put" else action["Key"]


def _refused_items(error: TransactWriteError, sent: list[dict]) -> list[Named]:
    """The items of the sent request whose condition failed, matched by position in that very request."""
    reasons = error.cancellation_reasons or []
    if reasons and len(reasons) != len(sent):
        raise StorageUnavailable("Cancellation reasons do not match the request sent") from error
    return [_named(item) for item, reason in zip(sent, reasons) if reason is not None and reason.code == CONDITION_FAILED]


def commit(fill: Callable[[TransactWrite], None], *, attempts: int | None = None) -> None:
    """Commit the writes `fill` adds to one transaction: all of them, or none.

    botocore retries throttling, 5xx and timeouts by itself, resending the same ClientRequestToken so a
    retry of a write that did land is a no-op. It never retries a cancelled transaction, so a
    cancellation whose every reason is retryable is run again here, with a fresh token, a fresh `fill`
    (tallies pick a fresh shard) and capped, jittered backoff. Raises Refused when a condition failed
    (an answer, never retried), StorageUnavailable for anything else that kept the writes out.
    """
    attempts = attempts or settings.DYNAMODB_TRANSACTION_ATTEMPTS
    connection = shared_connection()
    _watch(connection)
    for attempt in range(1, attempts + 1):
        token = uuid.uuid4().hex
        try:
            with TransactWrite(connection=connection, client_request_token=token) as tx:
                fill(tx)
            return
        except TransactWriteError as error:
            codes = {reason.code for reason in error.cancellation_reasons or [] if reason is not None}
            if CONDITION_FAILED in codes:
                raise Refused(_refused_items(error, _sent.get(token, []))) from error
            if attempt == attempts or not codes or not codes <= RETRYABLE_CANCELLATIONS:
                raise StorageUnavailable(str(error)) from error
        except PynamoDBException as error:
            raise StorageUnavailable(str(error)) from error
        finally:
            with _sent_lock:
                _sent.pop(token, None)
        # Full jitter, capped: conflicts last one transaction (tens of ms), not seconds.
        time.sleep(random.uniform(0, min(0.4, 0.025 * 2**attempt)))


def _condition_failed(error: PynamoDBException) -> bool:
    """True when a single write was refused by its condition (and not by a timeout or an outage)."""
    cause = error.cause
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@contextmanager
def conditional(item: Model) -> Iterator[None]:
    """Around one single-item write of `item`: a failed condition raises Refused naming it; other errors pass as they are."""
    try:
        yield
    except PynamoDBException as error:
        if _condition_failed(error):
            raise Refused([(item.Meta.table_name, item_key(item))]) from error
        raise
