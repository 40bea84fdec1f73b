"""Binds PynamoDB models to Django settings, and hands out the connection transactions use."""

import os
from functools import lru_cache

from django.conf import settings
from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from . import observability

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
    from .models import ALL_MODELS

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
            observability.install(client)
            self._counted_client = client
        return client


@lru_cache(maxsize=1)
def shared_connection() -> Connection:
    """One connection (and botocore client) for every table and for multi-table transactions."""
    return CountedConnection(**connection_options())


def transaction() -> TransactWrite:
    """Start a TransactWrite on the configured endpoint: all of its writes commit, or none."""
    return TransactWrite(connection=shared_connection())
