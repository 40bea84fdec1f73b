"""Load on a real deployment, with AWS's transaction conflicts: gunicorn → conflict proxy → DynamoDB Local.

The image's gunicorn command (2 workers × 4 threads) talks to Amazon's DynamoDB Local through
tests.conflict_proxy, which cancels overlapping transactions as real DynamoDB does and keeps each one in
flight for LEADS_LOAD_HOLD_MS (20 ms: real transactions take tens of milliseconds). The rate limit is
ON and every visitor comes from its own address, through a trusted proxy's X-Forwarded-For.

What a lead inbox must never do under concurrency, measured over HTTP: lose, duplicate or refuse (503) a
visitor's lead when 200 post at the very same moment (200 connections at once, not a thread pool); fail
a staff member's save because 49 others save other leads at the same time; let two staff members
silently overwrite each other's edits. Tallies must be exact once the burst is over. Every request goes
to a loopback address; every loop is bounded in count and time.

The numbers are printed, and written as JSON to the path in RELIABILITY_REPORT_LOAD when that is set.
"""
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests

from leads.domain import tallies
from tests.conflict_proxy import ConflictProxy
from tests.dynamodb_local import DynamoDBLocal
from tests.integration.servers import free_port
from tests.integration.test_gunicorn import kill_group, production_env, start_gunicorn

pytestmark = [
    pytest.mark.integration,
    pytest.mark.backend("dynamodb-local", reason="gunicorn → conflict proxy → DynamoDB Local"),
]

ROOT = Path(__file__).resolve().parents[2]
TABLE_PREFIX = "load-"
VISITORS = 200  # each its own thread, connection and client address, all posting at once
STAFF = 50  # staff members saving 50 different leads at once
ROUNDS = 50
HOLD_MS = float(os.environ.get("LEADS_LOAD_HOLD_MS", "20"))
REQUEST_TIMEOUT = 60  # seconds, per request
BARRIER_TIMEOUT = 120  # seconds a thread waits for the others before the test fails
STATUSES = ("new", "contacted", "qualified", "converted", "lost")
CONFLICT_MESSAGE = "Someone else saved this lead while you were editing"

REPORT: dict = {}


def record(section: str, numbers: dict, capsys) -> None:
    """Print one test's numbers and (re)write the whole report when RELIABILITY_REPORT_LOAD is set."""
    REPORT[section] = numbers
    with capsys.disabled():
        print(f"\n[load] {section}: {json.dumps(numbers, sort_keys=True)}")
    path = os.environ.get("RELIABILITY_REPORT_LOAD")
    if path:
        Path(path).write_text(json.dumps(REPORT, indent=2, sort_keys=True) + "\n")


# --- The deployment ------------------------------------------------------------------------------

class ProxiedSession(requests.Session):
    """A browser on https://127.0.0.1:<port>/ behind a TLS-terminating proxy that talks http to gunicorn.

    Every request carries X-Forwarded-Proto: https (and POSTs the Origin and Referer a browser sends).
    The app's cookies are Secure; requests would not send them back over the proxy's http:// hop, so
    the flag is dropped on receipt, as the browser's TLS hop would keep them.
    """

    def __init__(self, base_url: str, address: str | None = None):
        super().__init__()
        self.base_url = base_url
        self.origin = base_url.replace("http://", "https://")
        self.headers["X-Forwarded-Proto"] = "https"
        if address:  # the client's address, as the trusted proxy in front of gunicorn reports it
            self.headers["X-Forwarded-For"] = address

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        if method.upper() == "POST":
            kwargs["headers"] = {"Origin": self.origin, "Referer": f"{self.origin}/", **kwargs.get("headers", {})}
        response = super().request(method, f"{self.base_url}{url}" if url.startswith("/") else url, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name!r} in the page:\n{html[:3000]}"
    return match.group(1)


@dataclass
class LoadDeployment:
    """DynamoDB Local behind the conflict proxy, tables, static files, staff, and the image's gunicorn."""

    tmp: Path
    port: int = field(default_factory=free_port)
    dynamodb: DynamoDBLocal | None = None
    proxy: ConflictProxy | None = None
    gunicorn: subprocess.Popen | None = None
    admin_email: str = "admin@load.example"
    sales_email: str = "sales@load.example"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.tmp / "gunicorn.log"

    def manage(self, *arguments: str, check: bool = True, **extra_env) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env={**self.env, **extra_env},
            capture_output=True, text=True, timeout=180, check=False,
        )
        if check:
            assert result.returncode == 0, f"manage.py {' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self) -> "LoadDeployment":
        self.dynamodb = DynamoDBLocal(self.tmp / "dynamodb-local.log").start()
        self.proxy = ConflictProxy(self.dynamodb.url, hold_seconds=HOLD_MS / 1000).start()
        env = production_env(
            self.tmp, dynamodb_port=self.proxy.port,
            ALLOWED_HOSTS="127.0.0.1",
            DYNAMODB_TABLE_PREFIX=TABLE_PREFIX,
            # One trusted proxy in front: each visitor's own address arrives in X-Forwarded-For.
            LEADS_TRUSTED_PROXY_COUNT="1",
        )
        # Production's own timeouts and retries, not the fail-fast ones of the outage test.
        for name in ("DYNAMODB_MAX_RETRIES", "DYNAMODB_CONNECT_TIMEOUT", "DYNAMODB_READ_TIMEOUT"):
            env.pop(name, None)
        self.env = env
        self.manage("create_tables")
        self.manage("collectstatic", "--noinput")
        self.manage("createstaff", "--noinput", LEADS_ADMIN_EMAIL=self.admin_email, LEADS_ADMIN_PASSWORD=self.password)
        self.manage("createstaff", "--noinput", "--email", self.sales_email, "--role", "sales", "--name", "Second",
                    LEADS_ADMIN_PASSWORD=self.password)
        self.gunicorn = start_gunicorn(self.env, port=self.port, log=self.log)
        return self

    def stop(self) -> None:
        kill_group(self.gunicorn)
        if self.proxy:
            self.proxy.stop()
        if self.dynamodb:
            self.dynamodb.stop()

    def create_sales_staff(self, emails: list[str]) -> None:
        """Many sales accounts in one process (a manage.py run each would take minutes)."""
        code = ("from leads.domain import services\n"
                f"for email in {emails!r}:\n"
                f"    services.staff_create(email=email, password={self.password!r}, role='sales')\n")
        self.manage("shell", "-c", code)

    # --- reading DynamoDB Local directly, as an operator would ---

    @property
    def client(self):
        return boto3.client(
            "dynamodb", endpoint_url=self.dynamodb.url, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )

    def leads_from(self, client, email: str) -> list[dict]:
        return client.query(
            TableName=f"{TABLE_PREFIX}leads", IndexName="email-index", KeyConditionExpression="email = :e",
            ExpressionAttributeValues={":e": {"S": email}},
        )["Items"]

    def lead(self, lead_id: str) -> dict:
        return self.client.get_item(TableName=f"{TABLE_PREFIX}leads", Key={"lead_id": {"S": lead_id}},
                                    ConsistentRead=True)["Item"]

    def status_counts(self) -> dict[str, int]:
        """Leads per status as the inbox shows them: the sum of every tally shard, read consistently."""
        keys = [{"counter_id": {"S": key}} for key in tallies.status_keys()]
        items = self.client.batch_get_item(RequestItems={
            f"{TABLE_PREFIX}counters": {"Keys": keys, "ConsistentRead": True}})["Responses"][f"{TABLE_PREFIX}counters"]
        return {status: sum(int(item.get(f"n_{status}", {"N": "0"})["N"]) for item in items) for status in STATUSES}

    def history(self, lead_id: str) -> list[dict]:
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=f"{TABLE_PREFIX}history", KeyConditionExpression="lead_id = :l",
            ExpressionAttributeValues={":l": {"S": lead_id}}, ConsistentRead=True,
        )
        return [item for page in pages for item in page["Items"]]

    def audit(self) -> subprocess.CompletedProcess:
        return self.manage("leads_audit", check=False)

    def sign_in(self, email: str, address: str | None = None) -> ProxiedSession:
        session = ProxiedSession(self.url, address)
        page = session.get("/admin/login/")
        assert page.status_code == 200, page.text[:2000]
        response = session.post("/admin/login/", data={
            "csrfmiddlewaretoken": hidden(page.text, "csrfmiddlewaretoken"), "email": email, "password": self.password,
        })
        assert response.status_code == 302, response.text[:2000]
        return session


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    deployment = LoadDeployment(tmp_path_factory.mktemp("load"))
    try:
        yield deployment.start()
    finally:
        deployment.stop()


def milliseconds(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


# --- 200 visitors at once ------------------------------------------------------------------------

@dataclass
class Visitor:
    email: str
    session: ProxiedSession
    form: dict = field(default_factory=dict)
    status: int | None = None
    location: str | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def lead_id(self) -> str:
        return self.form["token"].split(":")[0]  # TimestampSigner: "<lead id>:<timestamp>:<signature>"

    def load_form(self) -> None:
        page = self.session.get("/")
        assert page.status_code == 200, page.text[:2000]
        self.form = {
            "csrfmiddlewaretoken": hidden(page.text, "csrfmiddlewaretoken"),
            "token": hidden(page.text, "token"),
            "name": f"Visitor {self.email.partition('@')[0]}",
            "email": self.email,
            "company": "Load Ltd",
            "subject": "Under load",
            "message": f"Please call me back ({self.email}).",
        }

    def post(self) -> None:
        started = time.monotonic()
        try:
            response = self.session.post("/", data=self.form)
            self.status, self.location = response.status_code, response.headers.get("Location")
        except requests.RequestException as error:
            self.error = repr(error)
        self.seconds = time.monotonic() - started


def visitor_address(n: int) -> str:
    """A distinct client address per visitor (loopback-range values: only ever a header, never a target)."""
    return f"127.{10 + n // 250}.{n % 250 // 25}.{n % 25 + 1}"


def proxy_delta(before: dict, after: dict) -> dict:
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def test_200_simultaneous_visitors_each_store_exactly_one_lead(deployment, capsys):
    run = uuid.uuid4().hex[:8]
    new_before = deployment.status_counts()["new"]
    visitors = [Visitor(f"v{n:03d}-{run}@load.example", ProxiedSession(deployment.url, visitor_address(n)))
                for n in range(VISITORS)]
    barrier = threading.Barrier(VISITORS, timeout=BARRIER_TIMEOUT)
    post_phase: dict[str, float] = {}

    def visit(visitor: Visitor) -> None:
        visitor.load_form()
        if barrier.wait() == 0:  # one thread notes when every visitor starts posting
            post_phase["start"] = time.monotonic()
        visitor.post()

    proxy_before = deployment.proxy.stats.as_dict()
    started = time.monotonic()
    # One thread (and so one connection) per visitor: all 200 posts are on the wire at once.
    with ThreadPoolExecutor(max_workers=VISITORS) as pool:
        for future in [pool.submit(visit, visitor) for visitor in visitors]:
            future.result(timeout=BARRIER_TIMEOUT + 2 * REQUEST_TIMEOUT)
    finished = time.monotonic()
    proxy = proxy_delta(proxy_before, deployment.proxy.stats.as_dict())

    client = deployment.client
    stored = {visitor.email: deployment.leads_from(client, visitor.email) for visitor in visitors}
    outcomes = Counter(visitor.status if visitor.error is None else "error" for visitor in visitors)
    lost = [v.email for v in visitors if not stored[v.email]]
    duplicated = [v.email for v in visitors if len(stored[v.email]) > 1]
    new_added = deployment.status_counts()["new"] - new_before
    audit = deployment.audit()
    record("visitors", {
        "visitors_at_once": VISITORS,
        "client_connections": VISITORS,
        "distinct_client_addresses": len({v.session.headers["X-Forwarded-For"] for v in visitors}),
        "rate_limit": "on",
        "transaction_hold_ms": HOLD_MS,
        "requests": 2 * VISITORS,
        "responses": {str(status): count for status, count in sorted(outcomes.items(), key=str)},
        "responses_503": outcomes.get(503, 0),
        "leads_stored": sum(len(items) for items in stored.values()),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "new_tally_added": new_added,
        "transactions_cancelled_for_conflict": proxy.get("transactions_cancelled_for_conflict", 0),
        "transactions_committed": proxy.get("transactions_committed", 0),
        "audit_exit": audit.returncode,
        "duration_s": round(finished - started, 2),
        "post_phase_s": round(finished - post_phase["start"], 2),
        "posts_per_s": round(VISITORS / (finished - post_phase["start"]), 1),
        "post_latency": milliseconds([v.seconds for v in visitors]),
    }, capsys)

    failed = [(v.email, v.status, v.location, v.error) for v in visitors if (v.status, v.location) != (302, "/thanks/")]
    assert not failed, f"{len(failed)} visitors did not get the thank-you redirect: {failed[:5]}"
    assert not lost and not duplicated, f"lost {lost[:5]}, duplicated {duplicated[:5]}"
    for visitor in visitors:
        [item] = stored[visitor.email]
        assert item["lead_id"]["S"] == visitor.lead_id  # stored under the form's one-time token
    assert new_added == VISITORS
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_one_visitor_posting_the_same_form_five_times_at_once_stores_one_lead(deployment, capsys):
    email = f"five-{uuid.uuid4().hex[:8]}@load.example"
    visitor = Visitor(email, ProxiedSession(deployment.url))
    visitor.load_form()
    new_before = deployment.status_counts()["new"]
    barrier = threading.Barrier(5, timeout=BARRIER_TIMEOUT)

    def post_once(_):
        barrier.wait()
        response = visitor.session.post("/", data=visitor.form)
        return response.status_code, response.headers.get("Location")

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(post_once, range(5), timeout=BARRIER_TIMEOUT + REQUEST_TIMEOUT))
    items = deployment.leads_from(deployment.client, email)
    new_added = deployment.status_counts()["new"] - new_before
    record("same_form_five_times", {"requests": 1 + 5, "posts": 5, "leads_stored": len(items),
                                    "new_tally_added": new_added}, capsys)
    assert answers == [(302, "/thanks/")] * 5
    assert [item["lead_id"]["S"] for item in items] == [visitor.lead_id]
    assert new_added == 1
    audit = deployment.audit()
    assert audit.returncode == 0, audit.stdout + audit.stderr


# --- Two staff members saving one lead at once ---------------------------------------------------

def test_two_staff_saving_one_lead_at_once_never_overwrite_each_other(deployment, capsys):
    email = f"contested-{uuid.uuid4().hex[:8]}@load.example"
    visitor = Visitor(email, ProxiedSession(deployment.url))
    visitor.load_form()
    visitor.post()
    assert (visitor.status, visitor.location) == (302, "/thanks/")
    lead_id = visitor.lead_id
    path = f"/admin/leads/{lead_id}/"
    sides = {"A": deployment.sign_in(deployment.admin_email), "B": deployment.sign_in(deployment.sales_email)}
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
    wins, conflicts, problems, durations = Counter(), 0, [], []
    version = int(deployment.lead(lead_id)["version"]["N"])
    assert version == 1

    def save(side: str, round_no: int, status: str) -> tuple[str, requests.Response, str, str]:
        session = sides[side]
        page = session.get(path)
        assert page.status_code == 200, page.text[:2000]
        notes = f"from {side} round {round_no}"
        data = {"csrfmiddlewaretoken": hidden(page.text, "csrfmiddlewaretoken"), "status": status, "owner": "",
                "notes": notes, "version": hidden(page.text, "version")}
        assert int(data["version"]) == version, "both must load the lead at the same version"
        barrier.wait()
        return side, session.post(path, data=data), notes, status

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_no in range(1, ROUNDS + 1):
            round_started = time.monotonic()
            statuses = {"A": STATUSES[round_no % 5], "B": STATUSES[(round_no + 2) % 5]}
            futures = [pool.submit(save, side, round_no, statuses[side]) for side in "AB"]
            results = sorted((f.result(timeout=BARRIER_TIMEOUT + 2 * REQUEST_TIMEOUT) for f in futures),
                             key=lambda r: r[1].status_code)
            durations.append(time.monotonic() - round_started)
            codes = [response.status_code for _, response, _, _ in results]
            if codes != [302, 409]:
                problems.append((round_no, codes, [r.text[:500] for _, r, _, _ in results]))
                break
            (winner, _, winner_notes, winner_status), (_, conflict, loser_notes, _) = results
            wins[winner] += 1
            conflicts += 1
            assert CONFLICT_MESSAGE in conflict.text, f"round {round_no}: no conflict message"
            # The edit form's `notes` becomes a note in the timeline: the loser's is kept in the form, not stored.
            assert hidden(conflict.text, "notes") == loser_notes, f"round {round_no}: loser's notes not kept"
            stored = deployment.lead(lead_id)
            noted = [e["text"]["S"] for e in deployment.history(lead_id) if e["action"]["S"] == "note"]
            assert winner_notes in noted and loser_notes not in noted, f"round {round_no}: notes {noted}"
            assert stored["status"]["S"] == winner_status
            assert int(stored["version"]["N"]) == version + 1, f"round {round_no}: version {stored['version']}"
            version += 1
    elapsed = time.monotonic() - started

    changed = [event for event in deployment.history(lead_id) if event["action"]["S"] == "changed"]
    audit = deployment.audit()
    record("staff_conflicts", {
        "rounds": ROUNDS,
        "requests": 2 + 2 * 2 + 4 * (sum(wins.values()) + len(problems)),  # the lead, two sign-ins, the rounds
        "saves_committed": sum(wins.values()),
        "conflicts_409": conflicts,
        "wins": {"A (admin)": wins["A"], "B (sales)": wins["B"]},
        "changed_events": len(changed),
        "final_version": version,
        "audit_exit": audit.returncode,
        "duration_s": round(elapsed, 2),
        "round_latency": milliseconds(durations),
    }, capsys)
    assert not problems, f"a round without exactly one 302 and one 409: {problems}"
    assert sum(wins.values()) == conflicts == ROUNDS
    assert version == 1 + ROUNDS
    assert len(changed) == ROUNDS
    assert sorted(int(event["version"]["N"]) for event in changed) == list(range(2, ROUNDS + 2))
    assert audit.returncode == 0, audit.stdout + audit.stderr


# --- Fifty staff members saving fifty different leads at once -----------------------------------

def test_50_staff_saving_different_leads_at_once_all_commit(deployment, capsys):
    run = uuid.uuid4().hex[:8]
    leads = []
    for n in range(STAFF):
        visitor = Visitor(f"s{n:02d}-{run}@load.example", ProxiedSession(deployment.url, visitor_address(300 + n)))
        visitor.load_form()
        visitor.post()
        assert (visitor.status, visitor.location) == (302, "/thanks/"), visitor.error
        leads.append(visitor.lead_id)
    emails = [f"staff{n:02d}-{run}@load.example" for n in range(STAFF)]
    deployment.create_sales_staff(emails)
    sessions = [deployment.sign_in(email, visitor_address(400 + n)) for n, email in enumerate(emails)]
    counts_before = deployment.status_counts()
    barrier = threading.Barrier(STAFF, timeout=BARRIER_TIMEOUT)

    def save(n: int) -> tuple[int, float, str]:
        path = f"/admin/leads/{leads[n]}/"
        page = sessions[n].get(path)
        assert page.status_code == 200, page.text[:2000]
        data = {"csrfmiddlewaretoken": hidden(page.text, "csrfmiddlewaretoken"), "status": "contacted",
                "owner": emails[n], "notes": f"called by {n}", "version": hidden(page.text, "version")}
        barrier.wait()
        started = time.monotonic()
        response = sessions[n].post(path, data=data)
        return response.status_code, time.monotonic() - started, response.headers.get("Location", "")

    proxy_before = deployment.proxy.stats.as_dict()
    with ThreadPoolExecutor(max_workers=STAFF) as pool:
        results = list(pool.map(save, range(STAFF), timeout=BARRIER_TIMEOUT + 2 * REQUEST_TIMEOUT))
    proxy = proxy_delta(proxy_before, deployment.proxy.stats.as_dict())
    counts_after = deployment.status_counts()
    stored = [deployment.lead(lead_id) for lead_id in leads]
    audit = deployment.audit()
    outcomes = Counter(status for status, _, _ in results)
    record("staff_saves", {
        "staff_at_once": STAFF,
        "different_leads": len(set(leads)),
        "transaction_hold_ms": HOLD_MS,
        "responses": {str(status): count for status, count in sorted(outcomes.items())},
        "responses_503": outcomes.get(503, 0),
        "saves_stored": sum(1 for item in stored if item["status"]["S"] == "contacted"),
        "new_tally_change": counts_after["new"] - counts_before["new"],
        "contacted_tally_change": counts_after["contacted"] - counts_before["contacted"],
        "transactions_cancelled_for_conflict": proxy.get("transactions_cancelled_for_conflict", 0),
        "transactions_committed": proxy.get("transactions_committed", 0),
        "audit_exit": audit.returncode,
        "save_latency": milliseconds([seconds for _, seconds, _ in results]),
    }, capsys)
    assert outcomes == {302: STAFF}, outcomes
    for n, item in enumerate(stored):
        assert (item["status"]["S"], item["owner"]["S"], int(item["version"]["N"])) == ("contacted", emails[n], 2)
    assert counts_after["new"] - counts_before["new"] == -STAFF
    assert counts_after["contacted"] - counts_before["contacted"] == STAFF
    assert audit.returncode == 0, audit.stdout + audit.stderr
