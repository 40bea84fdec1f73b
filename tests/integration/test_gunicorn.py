"""The container's web server: the Dockerfile's own gunicorn command, with production settings.

No Docker engine is needed: the command line is read from the Dockerfile's CMD (so the two cannot
drift) and run from the checkout, against a DynamoDB on a free loopback port (the embedded store, or
Amazon's DynamoDB Local with LEADS_TEST_BACKEND=dynamodb-local), behind a pretend TLS-terminating proxy
(requests send `X-Forwarded-Proto: https`).
"""
import contextlib
import json
import os
import re
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests
import yaml

from tests.conftest import BACKEND
from tests.dynamodb_local import JAR_DIR, VERSION, DynamoDBLocal
from tests.integration.servers import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HTTPS = {"X-Forwarded-Proto": "https"}
TABLE_PREFIX = "gunicorn-test-"
# The image and compose file are plain files: checking them once is enough.
FILES_ONLY = pytest.mark.backend("moto", reason="reads the Dockerfile and compose file; no DynamoDB involved")


# --- The Dockerfile, read the way docker reads it -----------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def instruction_args(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def image_cmd() -> list[str]:
    """The image's CMD, which must be in exec form (a JSON array): gunicorn is PID 1 and gets SIGTERM."""
    [cmd] = instruction_args("CMD")
    return json.loads(cmd)


def healthcheck_cmd() -> list[str]:
    """The HEALTHCHECK's command (exec form), after its --interval/--timeout/... options."""
    [healthcheck] = instruction_args("HEALTHCHECK")
    match = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(\[.*\])", healthcheck)
    assert match, f"HEALTHCHECK is not `[--options] CMD [exec form]`: {healthcheck}"
    return json.loads(match.group(2))


def with_our_python(command: list[str]) -> list[str]:
    """The image's command run with this checkout's virtualenv instead of the image's /usr/local."""
    program, *arguments = command
    if program == "python":
        return [sys.executable, *arguments]
    assert program == "gunicorn", f"unexpected program {program!r}"
    return [sys.executable, "-m", "gunicorn", *arguments]


# --- A production deployment on loopback -------------------------------------------------------

def production_env(tmp: Path, *, dynamodb_port: int, **extra: str) -> dict:
    """What a container would be given: production settings and nothing of the test run's own env."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        HOME=str(tmp),  # no ~/.aws of the developer's
        DJANGO_SETTINGS_MODULE="leadsite.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DYNAMODB_ENDPOINT=f"http://127.0.0.1:{dynamodb_port}",
        DYNAMODB_TABLE_PREFIX=TABLE_PREFIX,
        STATIC_ROOT=str(tmp / "static"),
        LEADS_NOTIFY_EMAILS="",
        # Fail fast once DynamoDB is gone: one retry, short timeouts.
        DYNAMODB_MAX_RETRIES="1",
        DYNAMODB_CONNECT_TIMEOUT="1",
        DYNAMODB_READ_TIMEOUT="3",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s:\n{log.read_text()}")


def kill_group(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def start_gunicorn(env: dict, *, port: int, log: Path) -> subprocess.Popen:
    """The image's gunicorn command (2 workers) in its own process group; returns once /healthz is 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            with_our_python(image_cmd()), cwd=ROOT, env={**env, "PORT": str(port), "WEB_CONCURRENCY": "2"},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return process
        time.sleep(0.2)
    kill_group(process)
    raise RuntimeError(f"gunicorn did not answer /healthz within 60 s:\n{log.read_text()}")


@dataclass
class Deployment:
    """A DynamoDB of its own + tables + collectstatic + the image's gunicorn, each in its own process group."""

    tmp: Path
    dynamodb_port: int = field(default_factory=free_port)
    port: int = field(default_factory=free_port)
    dynamodb: subprocess.Popen | None = None
    gunicorn: subprocess.Popen | None = None
    env: dict = field(init=False)

    def __post_init__(self):
        self.env = production_env(self.tmp, dynamodb_port=self.dynamodb_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.tmp / "gunicorn.log"

    def manage(self, *arguments: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"manage.py {' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"

    def start(self) -> "Deployment":
        dynamodb_log = self.tmp / "dynamodb.log"
        if BACKEND == "dynamodb-local":
            # Its own process, not the session's: one test kills it.
            self.dynamodb = DynamoDBLocal(dynamodb_log, port=self.dynamodb_port).start().process
        else:
            with dynamodb_log.open("wb") as log:
                self.dynamodb = subprocess.Popen(
                    [sys.executable, "manage.py", "embedded_dynamodb", "--port", str(self.dynamodb_port),
                     "--data-dir", str(self.tmp / "dynamodb")],
                    cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            wait_for_port(self.dynamodb_port, self.dynamodb, dynamodb_log)
        # What a release does before traffic: tables (idempotent), and the image build's collectstatic.
        self.manage("create_tables")
        self.manage("collectstatic", "--noinput")
        self.gunicorn = start_gunicorn(self.env, port=self.port, log=self.log)
        return self

    def stop(self) -> None:
        kill_group(self.gunicorn)
        kill_group(self.dynamodb)

    def kill_dynamodb(self) -> None:
        kill_group(self.dynamodb)

    def log_records(self) -> list[dict]:
        """Every line gunicorn and the app printed, each parsed as the JSON object it must be."""
        records = []
        for line in self.log.read_text().splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    pytest.fail(f"not a JSON log line: {line!r}\nwhole log:\n{self.log.read_text()}")
        return records

    def request_log(self, request_id: str, *, timeout: float = 5) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            lines = [r for r in self.log_records() if r.get("request_id") == request_id]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    deployment = Deployment(tmp_path_factory.mktemp("gunicorn"))
    try:
        yield deployment.start()
    finally:
        deployment.stop()


def leads_with_email(dynamodb_port: int, email: str) -> list[dict]:
    """The stored leads from this address, read straight from the DynamoDB endpoint."""
    client = boto3.client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{dynamodb_port}", region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )
    table = f"{TABLE_PREFIX}leads"
    found = client.query(
        TableName=table, IndexName="email-index",
        KeyConditionExpression="email = :e", ExpressionAttributeValues={":e": {"S": email}},
    )["Items"]
    return [client.get_item(TableName=table, Key={"lead_id": item["lead_id"]})["Item"] for item in found]


def load_form(base_url: str) -> tuple[dict, dict]:
    """GET / through the "proxy"; return the form's hidden fields and the CSRF cookie.

    The cookie is Secure (CSRF_COOKIE_SECURE), so requests would not send it back over the http://
    URL a proxy uses towards the app; it is handed over explicitly, as the browser's TLS hop would.
    """
    page = requests.get(f"{base_url}/", headers=HTTPS, timeout=10)
    assert page.status_code == 200
    fields = {
        "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1),
        "token": re.search(r'name="token" value="([^"]+)"', page.text).group(1),
    }
    return fields, {"csrftoken": page.cookies["csrftoken"]}


def post_form(base_url: str, hidden: dict, cookies: dict, **fields) -> requests.Response:
    """POST as a browser on https://127.0.0.1:<port>/ would, through the proxy."""
    origin = base_url.replace("http://", "https://")
    return requests.post(
        f"{base_url}/", data={**hidden, **fields}, cookies=cookies, allow_redirects=False, timeout=30,
        headers={**HTTPS, "Origin": origin, "Referer": f"{origin}/"},
    )


def children(pid: int) -> list[int]:
    """Process ids whose parent is pid (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ")".
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


# --- The Dockerfile and compose file ------------------------------------------------------------

@FILES_ONLY
def test_the_image_runs_gunicorn_with_its_config_as_an_unprivileged_user():
    assert image_cmd() == ["gunicorn", "-c", "gunicorn.conf.py", "leadsite.wsgi"]
    *_build_stages, base = instruction_args("FROM")
    assert base == f"python:{sys.version_info.major}.{sys.version_info.minor}-slim", "the image runs another Python"
    users = instruction_args("USER")
    assert users and users[-1].partition(":")[0] not in ("root", "0"), "the server must not run as root"
    assert any("collectstatic --noinput" in run for run in instruction_args("RUN"))
    assert "/healthz" in " ".join(healthcheck_cmd())
    # Build-time stand-ins (DEBUG=0, a dummy SECRET_KEY) live in the RUN line, never in the image.
    baked = " ".join(instruction_args("ENV") + instruction_args("ARG"))
    for name in ("SECRET_KEY", "DEBUG", "DYNAMODB_ENDPOINT"):
        assert name not in baked


@FILES_ONLY
def test_the_image_ships_the_compiled_translations_without_gettext():
    # Compiled in a build stage (msgfmt), copied into the image: a German visitor gets German pages.
    stages = instruction_args("FROM")
    assert len(stages) == 2 and stages[0].endswith(" AS translations")
    assert any("msgfmt --check" in run for run in instruction_args("RUN"))
    assert "--from=translations /locale /app/locale" in instruction_args("COPY")
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert "locale" not in ignored and "**/*.mo" in ignored  # the .po go in; stale local .mo never do


@FILES_ONLY
def test_the_exposed_port_is_gunicorns_default(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert instruction_args("EXPOSE") == [config["bind"].rpartition(":")[2]]
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["bind"], config["workers"]) == ("0.0.0.0:9123", 3)


@FILES_ONLY
def test_secrets_and_local_state_stay_out_of_the_build_context():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".venv", "var", ".git", "staticfiles"} <= ignored


@FILES_ONLY
def test_compose_runs_the_image_against_dynamodb_local_after_creating_tables():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    app, init = services["app"], services["init"]
    assert app["environment"]["DYNAMODB_ENDPOINT"] == "http://dynamodb:8000"
    assert app["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")  # from the host, never committed
    assert app["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    assert app["image"] == init["image"] and app["build"] == init["build"] == "."
    assert "create_tables" in " ".join(init["command"])
    assert services["dynamodb"]["image"] == f"amazon/dynamodb-local:{VERSION}"  # the build the suite runs on


@pytest.mark.backend("dynamodb-local", reason="asks the installed DynamoDB Local for its version")
def test_the_suite_runs_on_the_dynamodb_local_that_compose_pins():
    out = subprocess.run(["java", "-jar", "DynamoDBLocal.jar", "-version"], cwd=JAR_DIR, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split()[-1:] == [VERSION], out.stdout + out.stderr


# --- The running server -------------------------------------------------------------------------

def test_the_contact_form_is_served_with_security_headers(deployment):
    response = requests.get(f"{deployment.url}/", headers=HTTPS, timeout=10)
    assert response.status_code == 200
    assert 'name="message"' in response.text
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert re.match(r"max-age=\d{7,}", headers["Strict-Transport-Security"])


def test_static_files_have_hashed_names_far_future_caching_and_compression(deployment):
    page = requests.get(f"{deployment.url}/", headers=HTTPS, timeout=10).text
    stylesheet = re.search(r'href="(/static/leads/site\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the stylesheet is not linked under a hashed name"
    url = f"{deployment.url}{stylesheet.group(1)}"

    compressed = requests.get(url, headers={**HTTPS, "Accept-Encoding": "gzip"}, timeout=10)
    assert compressed.status_code == 200
    assert compressed.headers["Content-Type"].startswith("text/css")
    assert compressed.headers["Content-Encoding"] == "gzip"
    cache_control = compressed.headers["Cache-Control"]
    assert "immutable" in cache_control
    assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= 365 * 24 * 3600

    plain = requests.get(url, headers={**HTTPS, "Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in plain.headers
    assert plain.text == compressed.text and "{" in plain.text


def test_plain_http_is_redirected_to_https(deployment):
    response = requests.get(f"{deployment.url}/", allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{deployment.port}/"


def test_health_checks_by_ip_over_plain_http_get_an_answer(deployment):
    # A load balancer's or Docker's check: no proxy header, the container's IP as host.
    response = requests.get(f"{deployment.url}/healthz", headers={"Host": "10.0.3.7:8000"}, timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    # The image's own HEALTHCHECK command.
    check = subprocess.run(
        with_our_python(healthcheck_cmd()), env={"PORT": str(deployment.port)}, capture_output=True, timeout=30,
    )
    assert check.returncode == 0, check.stderr


def test_a_posted_form_is_stored_and_redirects_to_thanks(deployment):
    hidden, cookies = load_form(deployment.url)
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    response = post_form(
        deployment.url, hidden, cookies, name="Ada Lovelace", email=email, subject="Engines", message="Notes on G",
    )
    assert response.status_code == 302, response.text[:2000]
    assert response.headers["Location"] == "/thanks/"
    [lead] = leads_with_email(deployment.dynamodb_port, email)
    assert lead["name"] == {"S": "Ada Lovelace"} and lead["message"] == {"S": "Notes on G"}


def test_each_request_is_logged_once_as_a_json_line(deployment):
    request_id = f"test-{uuid.uuid4().hex}"
    response = requests.get(f"{deployment.url}/healthz", headers={**HTTPS, "X-Request-ID": request_id}, timeout=10)
    assert response.headers["X-Request-ID"] == request_id

    [line] = deployment.request_log(request_id)  # once: no gunicorn access line besides it
    assert line["logger"] == "leads.request"
    assert line["path"] == "/healthz" and line["status"] == 200 and line["method"] == "GET"
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert line["dynamodb_calls"] == 1 and line["dynamodb_operations"] == ["GetItem"]
    records = deployment.log_records()
    assert not [r for r in records if r.get("logger") == "gunicorn.access"]
    assert any(r.get("logger") == "gunicorn.error" and "Booting worker" in r["message"] for r in records)


def test_when_dynamodb_goes_away_health_is_503_and_the_visitor_keeps_their_text(tmp_path):
    deployment = Deployment(tmp_path)
    try:
        deployment.start()
        hidden, cookies = load_form(deployment.url)
        deployment.kill_dynamodb()

        health = requests.get(f"{deployment.url}/healthz", headers=HTTPS, timeout=30)
        assert health.status_code == 503 and health.json() == {"status": "unavailable"}
        check = subprocess.run(
            with_our_python(healthcheck_cmd()), env={"PORT": str(deployment.port)}, capture_output=True, timeout=30,
        )
        assert check.returncode != 0

        message = "Please call me about forty licences before Friday"
        response = post_form(
            deployment.url, hidden, cookies, name="Grace Hopper", email="grace@example.com", subject="Licences",
            message=message,
        )
        assert response.status_code == 503
        assert message in response.text and "We could not save your message" in response.text

        # `docker stop`: SIGTERM to PID 1 (the master alone); it stops its workers and exits cleanly.
        workers = children(deployment.gunicorn.pid)
        deployment.gunicorn.send_signal(signal.SIGTERM)
        assert deployment.gunicorn.wait(30) == 0
        assert all(not Path(f"/proc/{worker}").exists() for worker in workers)
    finally:
        deployment.stop()
