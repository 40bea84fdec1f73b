"""Fault matrix: DynamoDB faults injected into every write path, through the real views.

For each write path × fault kind: botocore retried exactly as configured (with backoff), the person
saw a clear 503 with their input intact (never a 500), nothing was half-written (every table is as it
was and `audit()` finds no drift), and once the fault is lifted the very same request succeeds.
`RELIABILITY_REPORT=path.json` writes what each case did, for RELIABILITY.md.
"""
import json
import os
import re
from types import SimpleNamespace

import botocore.endpoint
import pytest
from botocore.retries.standard import ExponentialBackoff
from django.conf import settings
from django.test import Client
from pynamodb.exceptions import GetError

from leads import dynamodb, services, tokens
from leads.management.maintenance import audit
from leads.models import (
    ALL_MODELS,
    Counter,
    HistoryEvent,
    Lead,
    Staff,
    StaffSession,
    TrashedLead,
)
from tests.conftest import BACKEND
from tests.faults import dynamodb_fault
from tests.helpers import PASSWORD, make_lead

FAULTS = {
    "throughput": {"code": "ProvisionedThroughputExceededException"},
    "throttling": {"code": "ThrottlingException"},
    "500": {"code": "InternalServerError", "status": 500},
    "timeout": {"timeout": True},
    "cancel-conflict": {"cancel": "TransactionConflict"},
    "cancel-throttling": {"cancel": "ThrottlingError"},
}
# botocore's standard mode retries throttling codes, 5xx and timeouts; a TransactionCanceledException
# is not retryable for botocore whatever its CancellationReasons say (botocore/retries/standard.py), so
# leads.dynamodb.commit runs the whole transaction again when every reason is retryable.
RETRYABLE = {"throughput", "throttling", "500", "timeout"}
COMMIT_ATTEMPTS = 3
# First backoff = rand(0, 1) × base scale: 1 s for throttling, 25 ms for other DynamoDB errors.
FIRST_BACKOFF_CAP = {"throughput": 1.0, "throttling": 1.0, "500": 0.025, "timeout": 0.025}
PLAIN_FAULTS = sorted(RETRYABLE)  # kinds that make sense for non-transactional calls
TRANSACT = {"TransactWriteItems"}
UNAVAILABLE = "We are briefly unavailable"  # templates/503.html, rendered by StorageUnavailableMiddleware
RESULTS = []


@pytest.fixture(scope="module", autouse=True)
def report():
    """Write the recorded rows as JSON at the end when RELIABILITY_REPORT names a file."""
    yield
    path = os.environ.get("RELIABILITY_REPORT")
    if not path:
        return
    existing = {}
    if os.path.exists(path) and os.path.getsize(path):
        with open(path) as previous:
            existing = json.load(previous)
    existing.setdefault("faults", {})[BACKEND] = RESULTS  # one run per backend, each kept
    with open(path, "w") as out:
        json.dump(existing, out, indent=1)


@pytest.fixture(autouse=True)
def backoffs(monkeypatch):
    """The delays botocore asks to sleep before each retry: recorded, not slept."""
    delays = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append))
    return delays


def faulted(kind, request, *, operations=TRANSACT, skip=0):
    """Send request() while DynamoDB answers `operations` with this fault; return (response, log)."""
    with dynamodb_fault(operations=operations, skip=skip, **FAULTS[kind]) as log:
        response = request()
    return response, log


def assert_retried(kind, log, backoffs):
    """botocore made 1 + DYNAMODB_MAX_RETRIES attempts, backing off before each retry; a cancelled
    transaction was run COMMIT_ATTEMPTS times by the app instead."""
    if kind not in RETRYABLE:
        assert log.injected == COMMIT_ATTEMPTS and backoffs == []
        return
    retries = settings.DYNAMODB_MAX_RETRIES
    assert log.injected == 1 + retries
    assert len(backoffs) == retries and all(0 <= d <= FIRST_BACKOFF_CAP[kind] for d in backoffs)


def snapshot(models=ALL_MODELS):
    """Every item of every table, as DynamoDB JSON (a Scan: tests only)."""
    return {m.__name__: sorted(json.dumps(i.serialize(), sort_keys=True) for i in m.scan(consistent_read=True))
            for m in models}


def drift() -> int:
    """How many status/day counters disagree with the leads (asserted to be none)."""
    _, found = audit()
    assert found == []
    return len(found)


def lost(lead_ids) -> int:
    """How many of these leads are in neither the leads nor the trash table."""
    return sum(not Lead.count(i, consistent_read=True) and not TrashedLead.count(i, consistent_read=True)
               for i in lead_ids)


def record(path, kind, log, response, retried, *, lead_ids, drift_found, note=""):
    """Keep one row of the matrix for the report: 2 requests, the faulted one and its retry."""
    RESULTS.append({"path": path, "fault": kind, "requests": 2, "faults_injected": log.injected,
                    "status": response.status_code, "status_after_retry": retried.status_code,
                    "leads_lost": lost(lead_ids), "drift": drift_found, "note": note})


def is_selected(html, value) -> bool:
    """True if the option with this value is selected in the rendered page."""
    return re.search(rf'<option value="{re.escape(value)}"[^>]*\bselected\b', html) is not None


# --- 1. Contact form ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULTS)
def test_contact_form_submit(kind, client, backoffs):
    token = re.search(r'name="token" value="([^"]+)"', client.get("/").content.decode()).group(1)
    data = {"name": "Grace Hopper", "email": "grace@navy.mil", "company": "US Navy", "subject": "Compilers",
            "message": "Please call me back about 40 licences before Friday", "token": token}
    lead_id, before = tokens.lead_id_from_token(token), snapshot()
    response, log = faulted(kind, lambda: client.post("/", data))
    assert_retried(kind, log, backoffs)
    html = response.content.decode()
    assert response.status_code == 503 and "We could not save your message just now." in html
    assert data["message"] in html and data["subject"] in html and f'value="{token}"' in html  # same token: stored once
    assert snapshot() == before  # no lead, no history item, no counter, no rate-limit hit
    drift_found = drift()
    retried = client.post("/", data)
    assert (retried.status_code, retried["Location"]) == (302, "/thanks/")
    assert Lead.get(lead_id).message == data["message"] and len(list(HistoryEvent.query(lead_id))) == 1
    record("contact form POST /", kind, log, response, retried, lead_ids=[lead_id], drift_found=drift_found + drift())


@pytest.mark.parametrize("kind", FAULTS)
def test_contact_json_submit(kind, client, backoffs):
    body = {"name": "Ada", "email": "ada@acme.com", "subject": "API", "message": "From the static site"}
    lead_id, before = tokens.lead_id_from_idempotency_key("k-1", origin=""), snapshot()

    def post():
        return client.post("/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")

    response, log = faulted(kind, post)
    assert_retried(kind, log, backoffs)
    assert response.status_code == 503
    assert response.json() == {"error": "We could not store your message just now; please try again."}
    assert snapshot() == before
    drift_found = drift()
    retried = post()
    assert (retried.status_code, retried.json()) == (201, {"id": lead_id, "created": True})
    record("contact JSON POST /", kind, log, response, retried, lead_ids=[lead_id], drift_found=drift_found + drift())


# --- 2. Lead edit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULTS)
def test_lead_edit(kind, sales_client, backoffs):
    lead_id = make_lead()
    form = {"status": "qualified", "owner": "sam@example.com", "notes": "Wants 40 seats, call Tuesday", "version": 1}
    before = snapshot()
    response, log = faulted(kind, lambda: sales_client.post(f"/admin/leads/{lead_id}/", form))
    assert_retried(kind, log, backoffs)
    html = response.content.decode()
    assert response.status_code == 503
    assert "The lead could not be saved just now. Your changes are still in the form" in html
    assert form["notes"] in html and is_selected(html, "qualified") and is_selected(html, "sam@example.com")
    assert re.search(r'name="version" value="1"', html)  # saving again is not mistaken for a conflict
    assert snapshot() == before  # the lead keeps version 1 and its fields; no new history event
    drift_found = drift()
    retried = sales_client.post(f"/admin/leads/{lead_id}/", form)
    assert (retried.status_code, retried["Location"]) == (302, f"/admin/leads/{lead_id}/")
    lead = Lead.get(lead_id)
    assert (lead.version, lead.status, lead.owner, lead.notes) == (2, "qualified", "sam@example.com", form["notes"])
    assert [e.action for e in HistoryEvent.query(lead_id)] == ["created", "changed"]
    record("lead edit POST /admin/leads/<id>/", kind, log, response, retried, lead_ids=[lead_id],
           drift_found=drift_found + drift())


def test_lead_edit_503_page_shows_the_stored_status(sales_client):
    lead_id = make_lead()
    form = {"status": "qualified", "owner": "", "notes": "", "version": 1}
    with dynamodb_fault(operations=TRANSACT):
        html = sales_client.post(f"/admin/leads/{lead_id}/", form).content.decode()
    assert Lead.get(lead_id).status == "new"
    assert '<span class="badge new">New</span>' in html  # the header describes the stored lead


# --- 3. Bulk set status ---------------------------------------------------------------------------


def assert_unavailable_page(response):
    """The middleware's 503 page: not a 500, and a Retry-After."""
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert UNAVAILABLE in response.content.decode()


@pytest.mark.parametrize("kind", FAULTS)
def test_bulk_set_status(kind, sales_client, backoffs):
    ids = [make_lead(f"p{n}@acme.com") for n in range(3)]
    form = {"ids": ids[:2], "action": "set_status", "status": "contacted", "confirm": "1"}
    before = snapshot()
    response, log = faulted(kind, lambda: sales_client.post("/admin/leads/bulk/", form))
    assert_retried(kind, log, backoffs)  # the first lead's transaction fails; the rest are not tried
    assert_unavailable_page(response)
    assert snapshot() == before
    drift_found = drift()
    retried = sales_client.post("/admin/leads/bulk/", form)
    assert (retried.status_code, retried["Location"]) == (302, "/admin/leads/")
    assert [Lead.get(i).status for i in ids] == ["contacted", "contacted", "new"]
    record("bulk status POST /admin/leads/bulk/", kind, log, response, retried, lead_ids=ids,
           drift_found=drift_found + drift())


def test_bulk_fault_on_the_second_lead_keeps_each_lead_whole(sales_client, backoffs):
    ids = [make_lead(f"p{n}@acme.com") for n in range(2)]
    form = {"ids": ids, "action": "set_status", "status": "lost", "confirm": "1"}
    response, log = faulted("throttling", lambda: sales_client.post("/admin/leads/bulk/", form), skip=1)
    assert_retried("throttling", log, backoffs)
    assert_unavailable_page(response)
    assert [Lead.get(i).status for i in ids] == ["lost", "new"]  # one transaction per lead: each whole
    assert [len(list(HistoryEvent.query(i))) for i in ids] == [2, 1]
    drift_found = drift()
    retried = sales_client.post("/admin/leads/bulk/", form)
    assert "Set 1 lead to Lost." in sales_client.get(retried["Location"]).content.decode()
    assert [Lead.get(i).status for i in ids] == ["lost", "lost"]
    record("bulk status, fault on 2nd lead", "throttling", log, response, retried, lead_ids=ids,
           drift_found=drift_found + drift())


# --- 4. Delete and 5. restore ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULTS)
def test_delete(kind, admin_client, backoffs):
    lead_id = make_lead()
    before = snapshot()
    response, log = faulted(kind, lambda: admin_client.post(f"/admin/leads/{lead_id}/delete/"))
    assert_retried(kind, log, backoffs)
    assert_unavailable_page(response)
    assert snapshot() == before  # the lead is still there, nothing in the trash
    drift_found = drift()
    retried = admin_client.post(f"/admin/leads/{lead_id}/delete/")
    assert (retried.status_code, retried["Location"]) == (302, "/admin/leads/")
    assert Lead.count(lead_id, consistent_read=True) == 0 and TrashedLead.get(lead_id).deleted_by == "boss@example.com"
    record("delete POST /admin/leads/<id>/delete/", kind, log, response, retried, lead_ids=[lead_id],
           drift_found=drift_found + drift())


@pytest.mark.parametrize("kind", FAULTS)
def test_restore(kind, admin_client, backoffs):
    lead_id = make_lead(message="Every word comes back")
    assert admin_client.post(f"/admin/leads/{lead_id}/delete/").status_code == 302
    before = snapshot()
    response, log = faulted(kind, lambda: admin_client.post(f"/admin/leads/{lead_id}/restore/"))
    assert_retried(kind, log, backoffs)
    assert_unavailable_page(response)
    assert snapshot() == before  # still in the trash, not in the leads
    drift_found = drift()
    retried = admin_client.post(f"/admin/leads/{lead_id}/restore/")
    assert (retried.status_code, retried["Location"]) == (302, f"/admin/leads/{lead_id}/")
    assert Lead.get(lead_id).message == "Every word comes back" and TrashedLead.count(lead_id) == 0
    record("restore POST /admin/leads/<id>/restore/", kind, log, response, retried, lead_ids=[lead_id],
           drift_found=drift_found + drift())


# --- 6. Sign-in: counters, then the session; and sign-out ----------------------------------------


def login_tallies() -> list[int]:
    """The sign-in failure counters (per account, per client) as stored."""
    return sorted(int(c.tally) for c in Counter.scan(Counter.counter_id.startswith("rate#login"), consistent_read=True))


# (password, which TransactWriteItems fails: 0 = the reservation, 1 = the refund after a right password)
LOGINS = {"wrong password": ("guess", 0), "right password": (PASSWORD, 0),
          "right password, refund fails": (PASSWORD, 1)}


@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize("attempt", LOGINS)
def test_login(attempt, kind, backoffs):
    services.staff_create(email="ann@example.com", password=PASSWORD, role="sales")
    lead_id = make_lead()  # a bystander, for the audit
    password, skip = LOGINS[attempt]
    client, form = Client(), {"email": "Ann@Example.com", "password": password}
    before = snapshot()
    response, log = faulted(kind, lambda: client.post("/admin/login/", form), skip=skip)
    assert_retried(kind, log, backoffs)
    if skip:
        # The password was right, so the sign-in goes ahead; the reservation that could not be handed
        # back stays counted (one attempt of the allowance), and nothing else changed.
        assert (response.status_code, response["Location"]) == (302, "/admin/")
        page = client.get("/admin/leads/")
        assert page.status_code == 200 and login_tallies() == [1, 1]
        record(f"login POST /admin/login/ ({attempt})", kind, log, response, page, lead_ids=[lead_id],
               drift_found=drift())
        return
    html = response.content.decode()
    assert response.status_code == 503 and "Sign-in is unavailable for a moment. Please try again shortly." in html
    assert 'name="email" value="Ann@Example.com"' in html and password not in html  # as typed
    assert "leads_session" not in response.cookies  # not signed in
    assert snapshot() == before  # no reservation was counted
    drift_found = drift()
    retried = client.post("/admin/login/", form)
    if password == PASSWORD:
        assert (retried.status_code, retried["Location"]) == (302, "/admin/")
        assert client.get("/admin/leads/").status_code == 200
        assert login_tallies() == [0, 0]  # reserved and handed back
    else:
        assert retried.status_code == 200 and "do not match an active account" in retried.content.decode()
        assert login_tallies() == [1, 1]
    record(f"login POST /admin/login/ ({attempt})", kind, log, response, retried, lead_ids=[lead_id],
           drift_found=drift_found + drift())


def sessions_of(email) -> int:
    """How many session items this staff member has."""
    return sum(1 for _ in StaffSession.by_staff.query(email))


@pytest.mark.parametrize("kind", PLAIN_FAULTS)
def test_login_session_write(kind, backoffs):
    services.staff_create(email="ann@example.com", password=PASSWORD, role="sales")
    client, form = Client(), {"email": "ann@example.com", "password": PASSWORD}
    response, log = faulted(kind, lambda: client.post("/admin/login/", form), operations={"PutItem"})
    assert_retried(kind, log, backoffs)
    assert response.status_code == 503 and "Sign-in is unavailable for a moment" in response.content.decode()
    assert login_tallies() == [0, 0] and sessions_of("ann@example.com") == 0  # reserved, handed back, no session
    drift_found = drift()
    retried = client.post("/admin/login/", form)
    assert (retried.status_code, retried["Location"]) == (302, "/admin/") and sessions_of("ann@example.com") == 1
    record("login POST /admin/login/ (session PutItem fails)", kind, log, response, retried, lead_ids=[],
           drift_found=drift_found + drift())


@pytest.mark.parametrize("kind", PLAIN_FAULTS)
def test_logout(kind, admin_client, backoffs):
    response, log = faulted(kind, lambda: admin_client.post("/admin/logout/"), operations={"DeleteItem"})
    assert_retried(kind, log, backoffs)
    assert_unavailable_page(response)
    assert sessions_of("boss@example.com") == 1 and admin_client.get("/admin/leads/").status_code == 200
    retried = admin_client.post("/admin/logout/")
    assert (retried.status_code, retried["Location"]) == (302, "/admin/login/")
    assert sessions_of("boss@example.com") == 0 and admin_client.get("/admin/leads/").status_code == 302
    record("logout POST /admin/logout/", kind, log, response, retried, lead_ids=[], drift_found=drift())


# --- 7. Staff accounts (PutItem; UpdateItem, then Query + BatchWriteItem to end sessions) ----------

NEW_STAFF = {"email": "nia@example.com", "name": "Nia", "role": "sales", "password": "a much longer passphrase"}


@pytest.mark.parametrize("kind", PLAIN_FAULTS)
def test_staff_create(kind, admin_client, backoffs):
    response, log = faulted(kind, lambda: admin_client.post("/admin/staff/", NEW_STAFF), operations={"PutItem"})
    assert_retried(kind, log, backoffs)
    html = response.content.decode()
    assert response.status_code == 503 and "The account could not be saved just now" in html
    assert 'value="nia@example.com"' in html  # what the admin typed is still there
    assert Staff.count("nia@example.com", consistent_read=True) == 0
    retried = admin_client.post("/admin/staff/", NEW_STAFF)
    assert (retried.status_code, retried["Location"]) == (302, "/admin/staff/")
    assert Staff.get("nia@example.com").role == "sales"
    record("staff create POST /admin/staff/", kind, log, response, retried, lead_ids=[], drift_found=drift())


DEACTIVATE_SAM = {"name": "Sam", "role": "sales", "password": ""}  # "active" left unticked


@pytest.mark.parametrize("kind", PLAIN_FAULTS)
@pytest.mark.parametrize("operation", ["UpdateItem", "BatchWriteItem"])
def test_staff_deactivate(operation, kind, admin_client, sales_client, backoffs):
    before = snapshot()
    response, log = faulted(kind, lambda: admin_client.post("/admin/staff/sam@example.com/", DEACTIVATE_SAM),
                            operations={operation})
    assert_retried(kind, log, backoffs)
    assert_unavailable_page(response)
    if operation == "UpdateItem":
        assert snapshot() == before  # Sam still active, still signed in
    else:  # two writes, no transaction: the account change committed, ending the sessions did not
        assert Staff.get("sam@example.com").active is False and sessions_of("sam@example.com") == 1
    retried = admin_client.post("/admin/staff/sam@example.com/", DEACTIVATE_SAM)
    assert (retried.status_code, retried["Location"]) == (302, "/admin/staff/")
    assert Staff.get("sam@example.com").active is False
    assert sales_client.get("/admin/leads/").status_code == 302  # the retry finished ending the sessions
    record(f"staff deactivate POST /admin/staff/<email>/ ({operation} fails)", kind, log, response, retried,
           lead_ids=[], drift_found=drift())


def test_deactivated_member_is_signed_out_after_a_failed_session_cleanup(admin_client, sales_client):
    with dynamodb_fault(operations={"BatchWriteItem"}):
        admin_client.post("/admin/staff/sam@example.com/", DEACTIVATE_SAM)
    admin_client.post("/admin/staff/sam@example.com/", DEACTIVATE_SAM)  # the admin saves again: 302
    assert sales_client.get("/admin/leads/").status_code == 302


# --- botocore's standard retry mode, backing off exponentially ------------------------------------


@pytest.mark.parametrize("kind, expected", [
    ("throttling", [1.0, 2.0, 4.0]),  # throttling: base 1 s, doubling
    ("500", [0.025, 0.05, 0.1]),  # other retryable errors on DynamoDB: base 25 ms, doubling
])
def test_standard_mode_backs_off_exponentially(kind, expected, settings, monkeypatch, backoffs):
    settings.DYNAMODB_MAX_RETRIES = 3
    original = ExponentialBackoff.__init__
    monkeypatch.setattr(ExponentialBackoff, "__init__", lambda self, **kw: original(self, **kw, random=lambda: 1.0))
    dynamodb.configure()  # a new client with 4 attempts, its jitter pinned at the maximum
    assert dynamodb.shared_connection().client.meta.config.retries["mode"] == "standard"
    with dynamodb_fault(operations={"GetItem"}, **FAULTS[kind]) as log, pytest.raises(GetError):
        Lead.get("0" * 32)
    assert log.injected == 4
    assert backoffs == pytest.approx(expected)
