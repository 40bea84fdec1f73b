"""Records the DynamoDB calls made while serving one request, for the request log and the benchmarks."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings


@dataclass
class Call:
    """One call as sent (operation, tables without the prefix, index); items read, by table; items returned."""

    operation: str
    tables: list[str]
    index: str | None
    read: dict[str, int] = field(default_factory=dict)
    returned: int = 0
    capacity: float = 0.0  # the capacity units DynamoDB charged, table and indexes (ReturnConsumedCapacity=TOTAL)
    least: float = 0.0  # BatchGetItem: what AWS charges at least, half a unit (one consistent) a key asked for

    @property
    def writes(self) -> bool:
        """True for calls billed in write units."""
        return self.operation in WRITE_OPERATIONS


# The calls DynamoDB bills, and which of them in write units; PynamoDB asks every one for TOTAL capacity.
READ_OPERATIONS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


# Every open recording of this thread: a request's log line inside a benchmark's page, say, both see each call.
_recordings: ContextVar[tuple[list[Call], ...]] = ContextVar("dynamodb_calls", default=())


def _sent(params, model, **_) -> None:
    """botocore before-parameter-build hook: note the call against the current request, if any."""
    recordings = _recordings.get()
    if recordings:
        names = [params["TableName"]] if "TableName" in params else [*params.get("RequestItems", {})]
        names += [op["TableName"] for item in params.get("TransactItems", []) for op in item.values()]
        prefix = settings.DYNAMODB_TABLE_PREFIX
        call = Call(model.name, sorted({name.removeprefix(prefix) for name in names}), params.get("IndexName"))
        if model.name in READ_OPERATIONS or model.name in WRITE_OPERATIONS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")  # free; PynamoDB already asks, raw clients do not
        if model.name == "BatchGetItem":  # AWS reads each key as a GetItem: a key found or not costs a 4 KB read
            call.least = sum(len(asked["Keys"]) * (1.0 if asked.get("ConsistentRead") else 0.5)
                             for asked in params["RequestItems"].values())
        for calls in recordings:
            calls.append(call)


def _answered(parsed, model, **_) -> None:
    """botocore after-call hook: what DynamoDB read (and bills) for the last call, not only what it returned."""
    recordings = _recordings.get()
    if recordings and recordings[-1]:
        call = recordings[-1][-1]
        consumed = parsed.get("ConsumedCapacity", [])
        call.capacity = sum(entry.get("CapacityUnits", 0.0) for entry in
                            (consumed if isinstance(consumed, list) else [consumed]))
        if model.name in ("Query", "Scan", "GetItem"):
            call.read = {call.tables[0]: parsed.get("ScannedCount", int("Item" in parsed))}
            call.returned = parsed.get("Count", int("Item" in parsed))
        elif model.name == "BatchGetItem":
            prefix = settings.DYNAMODB_TABLE_PREFIX
            call.read = {name.removeprefix(prefix): len(items) for name, items in parsed.get("Responses", {}).items()}
            # AWS rounds each key of a batch up to a 4 KB read on its own, found or not (a unit, half one eventually
            # consistent); DynamoDB Local rounds the batch's total, so 32 small tally shards read as 0.5, not 16.
            call.capacity = max(call.capacity, call.least)


def billed_units(calls: list[Call]) -> tuple[float, float]:
    """The read and the write capacity units DynamoDB billed for these calls."""
    return (sum(call.capacity for call in calls if not call.writes),
            sum(call.capacity for call in calls if call.writes))


def install(client) -> None:
    """Record every call made through this botocore client."""
    client.meta.events.register("before-parameter-build.dynamodb", _sent, unique_id="leads-calls-sent")
    client.meta.events.register("after-call.dynamodb", _answered, unique_id="leads-calls-answered")


@contextmanager
def counting() -> Iterator[list[Call]]:
    """Collect every DynamoDB call made in this context (this request's thread)."""
    calls: list[Call] = []
    token = _recordings.set((*_recordings.get(), calls))
    try:
        yield calls
    finally:
        _recordings.reset(token)
