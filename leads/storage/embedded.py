"""The embedded DynamoDB for laptops: moto's DynamoDB backend made durable by a write journal.

moto keeps tables in memory. To make them survive a restart (even ``kill -9``), every request that
changed data and succeeded is appended to ``journal.jsonl`` and fsync'd *before* its response is
sent; at start-up the journal is replayed into a fresh backend. Requests are applied one at a time
under a lock, so the journal's order is exactly the order moto applied them in, and replay rebuilds
the same state. A torn last line (the process died mid-write) is dropped: its client never got an
answer, so from the client's side that write never happened.

Only the app on this machine may talk to it. moto answers any CORS preflight with the caller's Origin
and any Host, so a web page the developer visits could read sessions or write an admin account
(directly, or by DNS rebinding a name of its own to 127.0.0.1). ``LoopbackOnly`` refuses every
request that carries an Origin, every preflight, and every Host but the address and port it listens
on; the journal and its directory are the owner's alone (0700/0600).

This is deliberately stricter than moto's own recorder, which logs every request (reads too) before
it runs — failed ones included, unordered between threads, without fsync — and cannot replay a
torn line.
"""

import base64
import io
import json
import logging
import os
import threading
from pathlib import Path

from werkzeug.test import Client, run_wsgi_app

logger = logging.getLogger(__name__)

MUTATING_OPERATIONS = frozenset(
    {
        "CreateTable",
        "DeleteTable",
        "UpdateTable",
        "UpdateTimeToLive",
        "UpdateContinuousBackups",
        "TagResource",
        "UntagResource",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
# Headers moto needs to route and scope a replayed request (the region is in Authorization).
KEPT_HEADERS = {"X-Amz-Target": "HTTP_X_AMZ_TARGET", "Authorization": "HTTP_AUTHORIZATION", "X-Amz-Date": "HTTP_X_AMZ_DATE"}


def operation_of(target: str) -> str:
    """``DynamoDB_20120810.PutItem`` → ``PutItem``."""
    return target.rpartition(".")[2]


class Journal:
    """An append-only, fsync'd log of successful DynamoDB writes."""

    def __init__(self, path: Path):
        self.path = path
        owner_only_dir(path.parent)
        if path.exists():
            os.chmod(path, 0o600)  # tighten a journal left by an older version
        self._file = None

    def entries(self):
        """Yield each complete entry; cut off a torn final line left by a crash."""
        if not self.path.exists():
            return
        good_bytes = 0
        with self.path.open("rb") as file:
            for line in file:
                if not line.endswith(b"\n"):
                    break
                try:
                    entry = json.loads(line)
                except ValueError:
                    break
                good_bytes += len(line)
                yield entry
        if good_bytes != self.path.stat().st_size:
            logger.warning("Dropping a torn last entry from %s", self.path)
            with self.path.open("r+b") as file:
                file.truncate(good_bytes)

    def append(self, headers: dict, body: bytes) -> None:
        """Write one entry and make it durable before returning."""
        if self._file is None:
            self._file = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        record = {"headers": headers, "body": base64.b64encode(body).decode("ascii")}
        self._file.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def owner_only_dir(path: Path) -> None:
    """Create path (and parents) if needed, and make it readable by its owner only."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


LOOPBACK_NAMES = {"127.0.0.1": ("127.0.0.1", "localhost"), "::1": ("[::1]", "localhost")}


class LoopbackOnly:
    """WSGI middleware: answer only same-machine clients that are not web pages.

    Browsers send Origin on every cross-origin request and on every preflight (OPTIONS); botocore never
    does. A Host other than the listening address defeats DNS rebinding, where a page's own domain
    resolves to 127.0.0.1 and so is same-origin to the browser.
    """

    def __init__(self, app, *, host: str, port: int):
        self.app = app
        self.allowed_hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES.get(host, (host,))}

    def __call__(self, environ, start_response):
        reason = None
        if environ.get("HTTP_HOST", "").lower() not in self.allowed_hosts:
            reason = "Host not allowed"
        elif "HTTP_ORIGIN" in environ or environ.get("REQUEST_METHOD") == "OPTIONS":
            reason = "Cross-origin requests are refused"
        if reason is None:
            return self.app(environ, start_response)
        body = f"{reason}: the embedded DynamoDB serves only the app on this machine.\n".encode()
        start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]


class JournaledApp:
    """WSGI middleware: serialise requests into moto, and journal the writes that succeeded."""

    def __init__(self, app, journal: Journal):
        self.app = app
        self.journal = journal
        self.lock = threading.Lock()

    def replay(self) -> int:
        """Re-apply every journalled write to the (empty) backend; return how many."""
        client = Client(self.app)
        count = 0
        for entry in self.journal.entries():
            response = client.post("/", data=base64.b64decode(entry["body"]), headers=entry["headers"])
            if response.status_code != 200:
                logger.warning("Replayed write answered %s: %s", response.status_code, response.get_data()[:200])
            count += 1
        return count

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        with self.lock:
            app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
            if status.startswith("200") and operation_of(target) in MUTATING_OPERATIONS:
                kept = {name: environ[key] for name, key in KEPT_HEADERS.items() if key in environ}
                kept["Content-Type"] = environ.get("CONTENT_TYPE", "application/x-amz-json-1.0")
                self.journal.append(kept, body)
        start_response(status, list(headers.items()))
        return app_iter


def build_app(data_dir: Path) -> JournaledApp:
    """moto's DynamoDB service with its journal replayed: ready to serve."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.moto_server.werkzeug_app import create_backend_app

    # moto's state is process-wide: start from empty so the journal alone decides what exists.
    dynamodb_backends.reset()
    app = JournaledApp(create_backend_app("dynamodb"), Journal(data_dir / "journal.jsonl"))
    replayed = app.replay()
    logger.info("Embedded DynamoDB: replayed %d writes from %s", replayed, app.journal.path)
    return app


def make_embedded_server(*, host: str, port: int, data_dir: Path):
    """The embedded DynamoDB's HTTP server, bound and ready for serve_forever()."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    app = LoopbackOnly(build_app(data_dir), host=host, port=port)
    return make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)


def serve(*, host: str, port: int, data_dir: Path) -> None:
    """Serve the embedded DynamoDB until the process is stopped."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_embedded_server(host=host, port=port, data_dir=data_dir)
    logger.info("Embedded DynamoDB listening on http://%s:%d (data in %s)", host, port, data_dir)
    server.serve_forever()
