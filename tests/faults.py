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
    """How many calls were answered with the fault."""

    def __init__(self):
        self.injected = 0


@contextmanager
def dynamodb_fault(*, operations=None, code="ProvisionedThroughputExceededException", status=400, timeout=False):
    """Fail every matching call (all operations when None) until the block ends.

    The request is diverted before moto sees it, so nothing is applied: exactly what a throttled
    or failed DynamoDB call does. botocore's retry logic runs as in production.
    """
    log = FaultLog()

    def inject(request, **kwargs):
        operation = kwargs["event_name"].rpartition(".")[2]
        if operations is not None and operation not in operations:
            return None
        log.injected += 1
        if timeout:
            raise ReadTimeoutError(endpoint_url=request.url)
        request.url = "http://fault-injected.invalid/"  # so moto's stubber leaves it alone
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected fault"})
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, _Body(body.encode()))

    clients = botocore_clients()
    for client in clients:
        client.meta.events.register_first("before-send.dynamodb", inject, unique_id="leads-fault")
    try:
        yield log
    finally:
        for client in clients:
            client.meta.events.unregister("before-send.dynamodb", unique_id="leads-fault")
