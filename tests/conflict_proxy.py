"""A loopback HTTP proxy in front of DynamoDB Local that cancels conflicting transactions as AWS does."""
# DynamoDB Local and moto serialise concurrent transactions; real DynamoDB does not. This follows
# "Transaction conflict handling in DynamoDB" (DynamoDB Developer Guide, transaction-apis):
# - TransactWriteItems with an item that is part of another ongoing TransactWriteItems: cancelled,
#   TransactionCanceledException, CancellationReasons aligned with TransactItems (TransactionConflict
#   where the item is taken, None elsewhere).
# - PutItem, UpdateItem or DeleteItem on an item of an ongoing TransactWriteItems:
#   TransactionConflictException.
# - TransactGetItems with an item that is part of an ongoing TransactWriteItems, BatchWriteItem,
#   PutItem, UpdateItem or DeleteItem: TransactionCanceledException with TransactionConflict.
# - GetItem is never refused ("both operations can succeed"); BatchWriteItem is serialisable per item and
#   the docs list no conflict for it, so it passes; so does everything else.
# botocore retries neither TransactionConflictException nor TransactionCanceledException (standard mode's
# throttling list has only TransactionInProgressException; _retry.json's dynamodb section only
# ReplicatedWriteConflictException, TransactionInProgressException and crc32), so callers see each one.
# Each TransactWriteItems keeps its items in flight until `hold_seconds` after it started, since real
# transactions take tens of milliseconds and DynamoDB Local about one.
#
#     python -m tests.conflict_proxy --upstream http://127.0.0.1:8000 [--port P] [--hold-ms 20]
from __future__ import annotations

import argparse
import dataclasses
import http.client
import ipaddress
import json
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

TARGET_PREFIX = "DynamoDB_20120810."
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
CONTENT_TYPE = "application/x-amz-json-1.0"
PLAIN_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
# Hop-by-hop headers are the proxy's own business on each leg; Expect is answered here, not upstream.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
                        "trailer", "upgrade", "expect", "content-length"})
CONFLICT_MESSAGE = "Transaction is ongoing for the item"


def _is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass
class ProxyStats:
    """Counters of what the proxy saw and did; `add` and `as_dict` are thread-safe."""

    requests_forwarded: int = 0
    transactions_seen: int = 0
    transactions_committed: int = 0
    transactions_cancelled_for_conflict: int = 0
    transactions_failed_upstream: int = 0
    transactions_in_progress_refused: int = 0
    plain_writes_refused_for_conflict: int = 0
    transact_gets_cancelled_for_conflict: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, n: int = 1) -> None:
        """Add n to one counter."""
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict:
        """A consistent snapshot of every counter."""
        with self._lock:
            return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}


class _Ledger:
    """Which items are in flight, and in what; every check-and-register happens under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.transactions: dict[tuple, object] = {}  # item identity -> owning transaction
        self.writes: dict[tuple, int] = {}  # item identity -> plain or batch writes being applied
        self.tokens: set[tuple] = set()  # (namespace, ClientRequestToken) of ongoing transactions

    def claim_transaction(self, owner, identities, token) -> list[int] | None:
        """Register a transaction's items; else the positions taken, or None if its token is in flight."""
        with self.lock:
            if token is not None and token in self.tokens:
                return None
            taken = [i for i, ident in enumerate(identities) if ident is not None and ident in self.transactions]
            if taken:
                return taken
            for ident in identities:
                if ident is not None:
                    self.transactions[ident] = owner
            if token is not None:
                self.tokens.add(token)
            return []

    def release_transaction(self, owner, identities, token) -> None:
        """Free a transaction's items."""
        with self.lock:
            for ident in identities:
                if ident is not None and self.transactions.get(ident) is owner:
                    del self.transactions[ident]
            self.tokens.discard(token)

    def claim_write(self, identities, *, refuse_if_transacted: bool) -> bool:
        """Mark plain writes in flight; False (nothing marked) if one hits an ongoing transaction."""
        with self.lock:
            if refuse_if_transacted and any(ident in self.transactions for ident in identities if ident):
                return False
            for ident in identities:
                if ident is not None:
                    self.writes[ident] = self.writes.get(ident, 0) + 1
            return True

    def release_write(self, identities) -> None:
        """Unmark plain writes."""
        with self.lock:
            for ident in identities:
                if ident is None:
                    continue
                left = self.writes.get(ident, 0) - 1
                if left > 0:
                    self.writes[ident] = left
                else:
                    self.writes.pop(ident, None)

    def busy_for_read(self, identities) -> list[int]:
        """Positions of items that an ongoing write of any kind is changing."""
        with self.lock:
            return [i for i, ident in enumerate(identities)
                    if ident is not None and (ident in self.transactions or ident in self.writes)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a burst of hundreds of clients connecting at once must not be refused
    allow_reuse_address = True

    def __init__(self, address, handler, proxy: "ConflictProxy"):
        self.proxy = proxy
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        """Stay quiet about clients that went away (and connections dropped by `stop`)."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore pools its connections
    server: _Server

    def setup(self):
        self.timeout = self.server.proxy.idle_timeout  # an idle keep-alive connection is dropped, not kept forever
        super().setup()
        self.upstream: http.client.HTTPConnection | None = None
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)
            if self.upstream is not None:
                self.upstream.close()

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        """Silent: hundreds of requests a second would drown test output."""

    def do_POST(self):  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else ""
        self.server.proxy._dispatch(self, operation, body)

    def do_GET(self):  # noqa: N802 - stdlib name
        self.server.proxy._relay(self, b"")

    # -- used by ConflictProxy --------------------------------------------------------------------

    def forward(self, body: bytes, *, target: str | None = None, count: bool = True):
        """Send one request upstream on this thread's connection; (status, reason, headers, body)."""
        proxy = self.server.proxy
        send = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        if target is not None:
            send = [(k, v) for k, v in send if k.lower() != "x-amz-target"] + [("X-Amz-Target", target)]
        # DynamoDB Local resets connections when hundreds of requests reach it at once: bound them.
        if not proxy._upstream_slots.acquire(timeout=proxy.upstream_timeout):
            raise TimeoutError("no upstream slot")
        try:
            return self._forward_once_or_twice(body, send, count)
        finally:
            proxy._upstream_slots.release()

    def _forward_once_or_twice(self, body: bytes, send, count: bool = True):
        """Send on the kept connection, and once more on a fresh one if upstream had closed it."""
        proxy = self.server.proxy
        for attempt in (1, 2):
            fresh = self.upstream is None
            if fresh:
                self.upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port,
                                                           timeout=proxy.upstream_timeout)
            try:
                self.upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for key, value in send:
                    self.upstream.putheader(key, value)
                self.upstream.putheader("Content-Length", str(len(body)))
                self.upstream.endheaders(body)
                response = self.upstream.getresponse()
                data = response.read()
                if count:
                    proxy.stats.add("requests_forwarded")
                return response.status, response.reason, response.getheaders(), data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.upstream.close()
                self.upstream = None
                # Only a reused keep-alive connection that the upstream had closed is retried once.
                if fresh or attempt == 2:
                    raise
            except Exception:
                self.upstream.close()
                self.upstream = None
                raise
        raise AssertionError("unreachable")

    def answer(self, status: int, reason: str, headers, data: bytes):
        """Write one response, keeping the client connection open unless it asked otherwise."""
        self.send_response_only(status, reason)
        for key, value in headers:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def answer_error(self, error_type: str, payload: dict):
        """Answer 400 with DynamoDB's JSON error shape, as DynamoDB would."""
        data = json.dumps({"__type": ERROR_PREFIX + error_type, **payload}, separators=(",", ":")).encode()
        self.answer(400, "Bad Request", [
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("x-amzn-ErrorType", error_type),
            ("x-amz-crc32", str(zlib.crc32(data) & 0xFFFFFFFF)),
            ("Content-Type", CONTENT_TYPE),
        ], data)


def _cancellation(reasons: list[str]) -> dict:
    """TransactionCanceledException's body members, one reason per requested item."""
    return {
        "CancellationReasons": [{"Code": "None"} if code == "None" else {"Code": code, "Message": CONFLICT_MESSAGE}
                                for code in reasons],
        # The service model (and DynamoDB Local) name this member "Message", unlike other errors' "message".
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                   f"[{', '.join(reasons)}]",
    }


class ConflictProxy:
    """A loopback proxy to DynamoDB (Local) that cancels conflicting transactions as real DynamoDB does."""

    def __init__(self, upstream_url: str, hold_seconds: float = 0.02, host: str = "127.0.0.1", port: int = 0,
                 *, upstream_timeout: float = 30.0, idle_timeout: float = 120.0, upstream_concurrency: int = 32):
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname or not _is_loopback(parts.hostname):
            raise ValueError(f"upstream must be an http:// loopback URL, not {upstream_url!r}")
        if not _is_loopback(host):
            raise ValueError(f"the proxy listens on loopback only, not {host!r}")
        self.upstream_url = upstream_url
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.hold_seconds = hold_seconds
        self.host = host
        self.port = port
        self.upstream_timeout = upstream_timeout
        self.idle_timeout = idle_timeout
        self.stats = ProxyStats()
        self._upstream_slots = threading.BoundedSemaphore(upstream_concurrency)
        self._ledger = _Ledger()
        self._schemas: dict[tuple, tuple[str, ...]] = {}  # (namespace, table) -> key attribute names
        self._schemas_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "ConflictProxy":
        """Listen and serve in a background thread."""
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"conflict-proxy-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open client connections."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._server.connections_lock:
            open_connections = list(self._server.connections)
        for sock in open_connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "ConflictProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- request handling -------------------------------------------------------------------------

    def _dispatch(self, handler: _Handler, operation: str, body: bytes) -> None:
        """Route one request by its X-Amz-Target."""
        try:
            request = json.loads(body) if operation else None
        except ValueError:
            request = None  # malformed: let DynamoDB Local answer it
        if not isinstance(request, dict):
            self._relay(handler, body)
        elif operation == "TransactWriteItems":
            self._transact_write(handler, request, body)
        elif operation in PLAIN_WRITES:
            self._plain_write(handler, request, body)
        elif operation == "BatchWriteItem":
            self._batch_write(handler, request, body)
        elif operation == "TransactGetItems":
            self._transact_get(handler, request, body)
        else:
            if operation in ("CreateTable", "DeleteTable"):
                # A table recreated under the same name may have another key schema.
                with self._schemas_lock:
                    self._schemas.pop((_namespace(handler), request.get("TableName")), None)
            self._relay(handler, body)

    def _relay(self, handler: _Handler, body: bytes):
        """Forward unchanged and answer with upstream's response; returns its status."""
        try:
            status, reason, headers, data = handler.forward(body)
        except (OSError, http.client.HTTPException):
            # Closing without an answer is what a dropped connection looks like: botocore retries it.
            handler.close_connection = True
            return None
        handler.answer(status, reason, headers, data)
        return status

    def _transact_write(self, handler: _Handler, request: dict, body: bytes) -> None:
        """Cancel if any item is in another ongoing transaction; else forward and hold the items."""
        self.stats.add("transactions_seen")
        actions = request.get("TransactItems") or []
        identities = [self._action_identity(handler, action) for action in actions]
        token = request.get("ClientRequestToken")
        token_key = (_namespace(handler), token) if token else None
        owner = object()
        started = time.monotonic()
        taken = self._ledger.claim_transaction(owner, identities, token_key)
        if taken is None:
            self.stats.add("transactions_in_progress_refused")
            handler.answer_error("TransactionInProgressException",
                                 {"Message": "Transaction with the given request token is already in progress."})
            return
        if taken:
            self.stats.add("transactions_cancelled_for_conflict")
            reasons = ["TransactionConflict" if i in taken else "None" for i in range(len(actions))]
            handler.answer_error("TransactionCanceledException", _cancellation(reasons))
            return
        try:
            try:
                result = handler.forward(body)
            except (OSError, http.client.HTTPException):
                result = None
            remaining = started + self.hold_seconds - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
        finally:
            self._ledger.release_transaction(owner, identities, token_key)
        if result is None:
            self.stats.add("transactions_failed_upstream")
            handler.close_connection = True
            return
        self.stats.add("transactions_committed" if result[0] == 200 else "transactions_failed_upstream")
        handler.answer(*result)

    def _plain_write(self, handler: _Handler, request: dict, body: bytes) -> None:
        """Refuse a PutItem/UpdateItem/DeleteItem on an item of an ongoing transaction."""
        table = request.get("TableName")
        key = request.get("Key") if "Key" in request else self._key_from_item(handler, table, request.get("Item"))
        identities = [_identity(handler, table, key)]
        if not self._ledger.claim_write(identities, refuse_if_transacted=True):
            self.stats.add("plain_writes_refused_for_conflict")
            handler.answer_error("TransactionConflictException", {"message": CONFLICT_MESSAGE})
            return
        try:
            self._relay(handler, body)
        finally:
            self._ledger.release_write(identities)

    def _batch_write(self, handler: _Handler, request: dict, body: bytes) -> None:
        """Forward, with its items marked as being written so that a TransactGetItems sees them."""
        identities = []
        for table, writes in (request.get("RequestItems") or {}).items():
            for write in writes or []:
                if "DeleteRequest" in write:
                    key = (write["DeleteRequest"] or {}).get("Key")
                else:
                    key = self._key_from_item(handler, table, (write.get("PutRequest") or {}).get("Item"))
                identities.append(_identity(handler, table, key))
        self._ledger.claim_write(identities, refuse_if_transacted=False)
        try:
            self._relay(handler, body)
        finally:
            self._ledger.release_write(identities)

    def _transact_get(self, handler: _Handler, request: dict, body: bytes) -> None:
        """Cancel a read transaction whose items an ongoing write is changing."""
        gets = request.get("TransactItems") or []
        identities = [_identity(handler, (g.get("Get") or {}).get("TableName"), (g.get("Get") or {}).get("Key"))
                      for g in gets]
        busy = self._ledger.busy_for_read(identities)
        if busy:
            self.stats.add("transact_gets_cancelled_for_conflict")
            reasons = ["TransactionConflict" if i in busy else "None" for i in range(len(gets))]
            handler.answer_error("TransactionCanceledException", _cancellation(reasons))
            return
        self._relay(handler, body)

    # -- item identities --------------------------------------------------------------------------

    def _action_identity(self, handler: _Handler, action: dict):
        """The item one TransactItems entry targets, or None if it cannot be told."""
        if not isinstance(action, dict) or len(action) != 1:
            return None
        kind, spec = next(iter(action.items()))
        if not isinstance(spec, dict):
            return None
        table = spec.get("TableName")
        key = self._key_from_item(handler, table, spec.get("Item")) if kind == "Put" else spec.get("Key")
        return _identity(handler, table, key)

    def _key_from_item(self, handler: _Handler, table, item):
        """The primary key attributes of a full item, by the table's key schema."""
        if not isinstance(item, dict) or not isinstance(table, str):
            return None
        names = self._key_names(handler, table)
        if not names or any(name not in item for name in names):
            return None
        return {name: item[name] for name in names}

    def _key_names(self, handler: _Handler, table: str) -> tuple[str, ...]:
        """The table's key attribute names, asked of upstream once per table (DescribeTable)."""
        cache_key = (_namespace(handler), table)
        with self._schemas_lock:
            names = self._schemas.get(cache_key)
        if names is not None:
            return names
        body = json.dumps({"TableName": table}).encode()
        try:
            status, _, _, data = handler.forward(body, target=TARGET_PREFIX + "DescribeTable", count=False)
        except (OSError, http.client.HTTPException):
            return ()
        if status != 200:
            return ()  # no such table: the write itself will get upstream's answer
        schema = json.loads(data)["Table"]["KeySchema"]
        names = tuple(k["AttributeName"] for k in schema)
        with self._schemas_lock:
            self._schemas[cache_key] = names
        return names


def _namespace(handler: _Handler) -> str:
    """Access key and region from the SigV4 credential scope: DynamoDB Local keeps one database per pair."""
    auth = handler.headers.get("Authorization", "")
    start = auth.find("Credential=")
    if start < 0:
        return ""
    scope = auth[start + len("Credential="):].split(",", 1)[0].split("/")
    return f"{scope[0]}/{scope[2]}" if len(scope) >= 3 else scope[0]


def _identity(handler: _Handler, table, key):
    """A hashable identity for one item: namespace, table and canonical key."""
    if not isinstance(table, str) or not isinstance(key, dict) or not key:
        return None
    canonical = tuple(sorted((name, json.dumps(value, sort_keys=True)) for name, value in key.items()))
    return (_namespace(handler), table, canonical)


def main(argv=None) -> int:
    """Serve until SIGTERM or SIGINT, then print the counters as JSON."""
    parser = argparse.ArgumentParser(prog="python -m tests.conflict_proxy", description=__doc__)
    parser.add_argument("--upstream", required=True, help="DynamoDB Local URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--hold-ms", type=float, default=20.0, help="how long each transaction stays in flight")
    args = parser.parse_args(argv)
    proxy = ConflictProxy(args.upstream, hold_seconds=args.hold_ms / 1000, port=args.port).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"conflict proxy on {proxy.url} -> {args.upstream} (hold {args.hold_ms:g} ms)", flush=True)
    while not stop.wait(1):
        pass
    proxy.stop()
    print(json.dumps(proxy.stats.as_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
