"""Fault injection through botocore's own event hooks: DynamoDB answers with an error, or not at all."""
import json
from contextlib import contextmanager

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from leads import dynamodb
from leads.models import ALL_MODELS


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def botocore_clients():
    """Every botocore client the app's models and transactions use."""
    clients = [model._get_connection().connection.client for model in ALL_MODELS]
    return clients + [dynamodb.shared_connection().client]


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

    clients = botocore_clients()
    for client in clients:
        client.meta.events.register_first("before-send.dynamodb", inject, unique_id="leads-fault")
    try:
        yield log
    finally:
        for client in clients:
            client.meta.events.unregister("before-send.dynamodb", unique_id="leads-fault")
