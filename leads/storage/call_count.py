"""Counts the DynamoDB calls made while serving one request, for the request log (leads.web.request_log)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_calls: ContextVar[list[str] | None] = ContextVar("dynamodb_calls", default=None)


def _count(event_name: str, **_) -> None:
    """botocore before-call hook: note the operation against the current request, if any."""
    calls = _calls.get()
    if calls is not None:
        calls.append(event_name.rpartition(".")[2])


def install(client) -> None:
    """Count every call made through this botocore client."""
    client.meta.events.register("before-call.dynamodb", _count, unique_id="leads-count-calls")


@contextmanager
def counting() -> Iterator[list[str]]:
    """Collect the operations of every DynamoDB call made in this context (this request's thread)."""
    calls: list[str] = []
    token = _calls.set(calls)
    try:
        yield calls
    finally:
        _calls.reset(token)
