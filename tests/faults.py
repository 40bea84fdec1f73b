"""Fault injection through botocore's own event hooks: DynamoDB answers with an error, or not at all."""
import json
from contextlib import contextmanager

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from leads.storage import dynamodb, internals
from leads.storage.models import ALL_MODELS


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def botocore_clients():
    """Every botocore client the app's models and transactions use."""
    clients = [internals.botocore_client(model) for model in ALL_MODELS]
    return clients + [dynamodb.shared_connection().client]


@contextmanager
def hooked(clients, handlers: dict, *, first: bool = False):
    """Register botocore event handlers ({event: handler}) on these clients for the block, then remove them."""
    clients = list({id(client): client for client in clients}.values())
    for client in clients:
        for event, handler in handlers.items():
            register = client.meta.events.register_first if first else client.meta.events.register
            register(event, handler, unique_id=f"leads-test-{id(handler)}")
    try:
        yield
    finally:
        for client in clients:
            for event, handler in handlers.items():
                client.meta.events.unregister(event, unique_id=f"leads-test-{id(handler)}")


class FaultLog:
    """How many calls were answered with the fault (and how many matching ones were let through first)."""

    def __init__(self):
        self.injected = 0
        self.passed = 0


def cancelled_body(request, reason: str) -> dict:
    """A TransactionCanceledException as DynamoDB sends it: "None" for every item but the last, which gets reason."""
    items = len(json.loads(request.body or b"{}").get("TransactItems", [])) or 1
    reasons = [{"Code": "None"}] * (items - 1) + [{"Code": reason, "Message": f"injected {reason}"}]
    codes = ", ".join(r["Code"] for r in reasons)
    return {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        "CancellationReasons": reasons,
    }


@contextmanager
def dynamodb_fault(*, operations=None, code="ProvisionedThroughputExceededException", status=400, timeout=False,
                   cancel=None, skip=0, times=None):
    """Fail every matching call (all operations when None) until the block ends.

    The request is diverted before moto sees it, so nothing is applied: exactly what a throttled
    or failed DynamoDB call does. botocore's retry logic runs as in production.
    `cancel="TransactionConflict"` (or "ThrottlingError"...) answers a TransactWriteItems with a
    TransactionCanceledException whose CancellationReasons blame that code on one item and "None" on
    the others: a transaction cancelled half way. `skip=n` lets the first n matching calls through,
    to fail the second write of a request; `times=n` fails only n calls, then lets the rest through.
    """
    log = FaultLog()

    def inject(request, **kwargs):
        operation = kwargs["event_name"].rpartition(".")[2]
        if operations is not None and operation not in operations:
            return None
        if log.passed < skip or (times is not None and log.injected >= times):
            log.passed += 1
            return None
        log.injected += 1
        if timeout:
            raise ReadTimeoutError(endpoint_url=request.url)
        request.url = "http://fault-injected.invalid/"  # so moto's stubber leaves it alone
        error = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected fault"}
        if cancel:
            error = cancelled_body(request, cancel)
        body = json.dumps(error)
        headers = {"x-amzn-ErrorType": error["__type"].rpartition("#")[2], "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, _Body(body.encode()))

    with hooked(botocore_clients(), {"before-send.dynamodb": inject}, first=True):
        yield log


# --- One call at a time --------------------------------------------------------------------------

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


def _tables(params: dict) -> tuple[str, ...]:
    """The tables one call touches, by base name (the test prefix stripped), in request order."""
    names = {model.Meta.table_name: model.base_table_name for model in ALL_MODELS}
    found = []
    if "TableName" in params:
        found.append(params["TableName"])
    found += list(params.get("RequestItems", {}))
    for item in params.get("TransactItems", []):
        found += [action["TableName"] for action in item.values() if isinstance(action, dict) and "TableName" in action]
    return tuple(dict.fromkeys(names.get(table, table) for table in found))


class CallLog:
    """The DynamoDB calls a block made, in order: one entry per API call, not per HTTP attempt.

    `calls` holds (operation, tables) pairs; `injected` counts HTTP attempts answered with a fault,
    `landed` the attempts that reached the store while their answer was lost.
    """

    def __init__(self):
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.injected = 0
        self.landed = 0

    @property
    def current(self) -> int:
        return len(self.calls) - 1


class TransactionTokens:
    """AWS's ClientRequestToken idempotency for TransactWriteItems, modelled for moto, which ignores the token.

    DynamoDB (and DynamoDB Local 3.3.1) answers a repeat of a successful transaction's token with
    success and applies nothing, for 10 minutes; the same token with other parameters gets
    IdempotentParameterMismatchException. botocore resends the token when it retries a timeout.
    """

    def __init__(self):
        self.committed: dict[str, bytes] = {}
        self.replayed = 0

    def answer(self, request, event_name):
        """moto's answer to a transaction, or the remembered success for a token already committed."""
        from moto.core.models import botocore_stubber

        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        token = json.loads(body or b"{}").get("ClientRequestToken")
        if token in self.committed:
            self.replayed += 1
            if self.committed[token] != body:
                return _error_response(request, "IdempotentParameterMismatchException")
            return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Body(b"{}"))
        response = botocore_stubber(event_name=event_name, request=request)
        if token and response is not None and response.status_code == 200:
            self.committed[token] = body
        return response


def _deliver(client, request, event_name, tokens: TransactionTokens | None):
    """Send a request for real from inside a before-send hook: to moto when a mock is active, else over HTTP."""
    from moto.core.models import botocore_stubber

    if not botocore_stubber.enabled:
        return client._endpoint.http_session.send(request)
    if tokens is not None and event_name.endswith(".TransactWriteItems"):
        return tokens.answer(request, event_name)
    return botocore_stubber(event_name=event_name, request=request)


def _error_response(request, code: str, status: int = 400, body: dict | None = None) -> AWSResponse:
    error = body or {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected fault"}
    headers = {"x-amzn-ErrorType": error["__type"].rpartition("#")[2], "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(request.url, status, headers, _Body(json.dumps(error).encode()))


@contextmanager
def dynamodb_calls(*, fail: int | None = None, code="ThrottlingException", status=400, timeout=False,
                   cancel=None, lost=None, tokens: TransactionTokens | None = None):
    """Record every DynamoDB call the block makes; with `fail=k`, fault call #k (0-based) alone.

    The fault holds for every HTTP attempt botocore makes for that call, so its retries fail too (a
    fault botocore's retry hides is no test of the app), while every other call reaches the store. A
    call the app makes again (the commit loop's next attempt) is a new call and goes through.
    `lost="first"` or `lost="all"` makes the fault an ambiguous outcome instead: the request reaches the
    store and is applied, then its answer is lost (ReadTimeoutError) — for the first attempt only, so
    botocore's retry resends it, or for every attempt, so the app gives up and the person resends.
    `tokens` answers transactions through the model of AWS's token idempotency (moto lacks it).
    """
    log = CallLog()
    clients = list({id(c): c for c in botocore_clients()}.values())

    def count(event_name, params, **_):
        # params is botocore's request dict here: the API parameters are its JSON body.
        log.calls.append((event_name.rpartition(".")[2], _tables(json.loads(params.get("body") or b"{}"))))

    def answer(request, event_name):
        # emit() runs every before-send hook whatever the first answered: moto's must not apply it again.
        response = _deliver(clients[0], request, event_name, tokens)
        request.url = "http://answered-by-the-test.invalid/"
        return response

    def inject(request, event_name, **_):
        if fail is None or log.current != fail:
            return answer(request, event_name) if tokens is not None and event_name.endswith(".TransactWriteItems") else None
        if lost:
            if lost == "first" and log.landed:
                return answer(request, event_name)
            answer(request, event_name)
            log.landed += 1
            raise ReadTimeoutError(endpoint_url=request.url)
        log.injected += 1
        if timeout:
            raise ReadTimeoutError(endpoint_url=request.url)
        request.url = "http://fault-injected.invalid/"  # so moto's stubber leaves it alone
        return _error_response(request, code, status, cancelled_body(request, cancel) if cancel else None)

    with hooked(clients, {"before-call.dynamodb": count, "before-send.dynamodb": inject}, first=True):
        yield log
