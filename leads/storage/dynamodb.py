"""Binds PynamoDB models to Django settings, and hands out the one connection every table and transaction uses."""

import os
from functools import lru_cache

from django.conf import settings
from pynamodb.connection import Connection

from leads.storage import call_count, internals

# Any key works against the embedded store or DynamoDB Local; botocore only insists on having one.
LOCAL_CREDENTIALS = ("local", "local")


def _credentials():
    """Return explicit credentials for local endpoints; None lets botocore find real ones."""
    if settings.DYNAMODB_HOST is None:
        return (None, None)
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        return (None, None)
    return LOCAL_CREDENTIALS


# The connection options every model's Meta carries too (a model's own connection reads them there).
META_OPTIONS = ("host", "region", "connect_timeout_seconds", "read_timeout_seconds", "max_retry_attempts",
                "aws_access_key_id", "aws_secret_access_key")


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
    from leads.storage.models import ALL_MODELS, SHARING_MODELS

    options = connection_options()
    models = ALL_MODELS + SHARING_MODELS
    for model in models:
        internals.bind(
            model,
            table_name=settings.DYNAMODB_TABLE_PREFIX + model.base_table_name,
            **{name: options[name] for name in META_OPTIONS},
        )
    shared_connection.cache_clear()
    shared = shared_connection()
    for model in models:
        # One botocore client for every table: each client costs ~130 ms of service-model loading,
        # which a Lambda cold start would otherwise pay once per table.
        internals.share_connection(model, shared)


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
