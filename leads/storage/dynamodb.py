"""Binds PynamoDB models to Django settings, and hands out the connection transactions use."""

import os
import random
import time
import uuid
from collections.abc import Callable
from functools import lru_cache

from botocore.exceptions import ClientError
from django.conf import settings
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from leads.storage import call_count

# Any key works against the embedded store or DynamoDB Local; botocore only insists on having one.
LOCAL_CREDENTIALS = ("local", "local")


def _credentials():
    """Return explicit credentials for local endpoints; None lets botocore find real ones."""
    if settings.DYNAMODB_HOST is None:
        return (None, None)
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        return (None, None)
    return LOCAL_CREDENTIALS


def connection_options() -> dict:
    """Keyword arguments shared by every PynamoDB connection the app opens."""
    key, secret = _credentials()
    return {
        "host": settings.DYNAMODB_HOST,
        "region": settings.AWS_REGION,
        "connect_timeout_seconds": settings.DYNAMODB_CONNECT_TIMEOUT,
        "read_timeout_seconds": settings.DYNAMODB_READ_TIMEOUT,
        "max_retry_attempts": settings.DYNAMODB_MAX_RETRIES,
        # Explicit botocore retries: exponential backoff with jitter on throttling, 5xx and timeouts.
        "retry_configuration": {
            "mode": settings.DYNAMODB_RETRY_MODE,
            "total_max_attempts": 1 + settings.DYNAMODB_MAX_RETRIES,
        },
        "aws_access_key_id": key,
        "aws_secret_access_key": secret,
    }


def configure() -> None:
    """Set table name, endpoint, region, timeouts and retries on every model from settings."""
    from leads.storage.models import ALL_MODELS

    options = connection_options()
    for model in ALL_MODELS:
        meta = model.Meta
        meta.table_name = settings.DYNAMODB_TABLE_PREFIX + model.base_table_name
        meta.host = options["host"]
        meta.region = options["region"]
        meta.connect_timeout_seconds = options["connect_timeout_seconds"]
        meta.read_timeout_seconds = options["read_timeout_seconds"]
        meta.max_retry_attempts = options["max_retry_attempts"]
        meta.aws_access_key_id = options["aws_access_key_id"]
        meta.aws_secret_access_key = options["aws_secret_access_key"]
        model._connection = None
    shared_connection.cache_clear()
    shared = shared_connection()
    for model in ALL_MODELS:
        # One botocore client for every table: each client costs ~130 ms of service-model loading,
        # which a Lambda cold start would otherwise pay once per table.
        table = model._get_connection()
        shared.add_meta_table(table.get_meta_table())
        table.connection = shared


class CountedConnection(Connection):
    """A PynamoDB connection whose botocore client, made on first use, counts calls per request.

    Made lazily, the client never exists in a pre-forking parent (gunicorn's preload_app), so no two
    workers can ever share a socket.
    """

    _counted_client = None

    @property
    def client(self):
        client = super().client
        if client is not self._counted_client:
            call_count.install(client)
            self._counted_client = client
        return client


@lru_cache(maxsize=1)
def shared_connection() -> Connection:
    """One connection (and botocore client) for every table and for multi-table transactions."""
    return CountedConnection(**connection_options())


# Cancellations that say "try again", not "no": a concurrent transaction on the same item (two writes
# that met on one tally shard, or on one lead) or throttling of one item.
RETRYABLE_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


def commit(fill: Callable[[TransactWrite], None], *, attempts: int | None = None) -> None:
    """Commit the writes `fill` adds to one transaction: all of them, or none.

    botocore retries throttling, 5xx and timeouts by itself, resending the same ClientRequestToken so a
    retry of a write that did land is a no-op. It never retries a cancelled transaction, so a
    cancellation whose every reason is retryable is run again here, with jittered backoff. A failed
    condition is an answer, never retried. Raises TransactWriteError when it gives up.
    """
    attempts = attempts or settings.DYNAMODB_TRANSACTION_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            with TransactWrite(connection=shared_connection(), client_request_token=uuid.uuid4().hex) as tx:
                fill(tx)
            return
        except TransactWriteError as error:
            codes = {reason.code for reason in error.cancellation_reasons if reason is not None}
            if attempt == attempts or not codes or not codes <= RETRYABLE_CANCELLATIONS:
                raise
            # Full jitter, capped: conflicts last one transaction (tens of ms), not seconds.
            time.sleep(random.uniform(0, min(0.4, 0.025 * 2**attempt)))


def condition_failed(error: PynamoDBException) -> bool:
    """True when a write was refused by its condition (and not by a timeout or an outage)."""
    cause = error.cause
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
