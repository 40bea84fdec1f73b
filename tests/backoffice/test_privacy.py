"""The privacy page: an admin looks one person up by address (posted, never in a URL), exports, erases."""
import json
import logging
import re
from collections import Counter
from datetime import date, timedelta

import pytest
from django.test import Client

from leads.domain import services, subjects
from leads.management.maintenance import audit
from leads.storage.models import PRIVACY_LOG, STATUSES, Lead, PrivacyRequest, TrashedLead, utcnow
from tests.faults import dynamodb_calls, dynamodb_fault
from tests.helpers import PASSWORD, day_count, make_lead, status_count

ADDRESS = "xavier@acme.com"
SIMILAR = "xavier@acme.co"
DAY = date(2026, 11, 1)  # tests.helpers.make_lead stores leads on this day
ADMIN = "boss@example.com"
UNAVAILABLE = "We are briefly unavailable"  # templates/503.html


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """botocore's retries of an injected fault, without their sleeps."""
    import botocore.endpoint
    from types import SimpleNamespace

    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda seconds: None))


def person(email=ADDRESS, *, leads=3, trashed=1) -> dict:
    ids = [make_lead(email, name="Xavier Quill", subject=f"Enquiry {n}", message=f"Private message {n}")
           for n in range(leads + trashed)]
    lead = Lead.get(ids[0])
    services.lead_update(lead_id=ids[0], expected_version=lead.version, actor="sam@example.com",
                         status="contacted", notes="Prefers calls after 6pm", owner="sam@example.com")
    services.delivery_mark(lead_id=ids[0], expires_at=utcnow() + timedelta(days=1))  # DynamoDB Local runs TTL for real
    for lead_id in ids[leads:]:
        services.lead_delete(lead_id=lead_id, actor=ADMIN)
    return {"leads": ids[:leads], "trashed": ids[leads:]}


def mentions_similar(text: str) -> bool:
    """True if the text holds the similar address (which is a prefix of the address itself)."""
    return re.search(re.escape(SIMILAR) + r"(?!m)", text) is not None


def links_and_actions(html: str) -> list[str]:
    return re.findall(r'(?:href|action|src)="([^"]*)"', html)


def test_the_page_is_for_admins_only_and_linked_from_their_nav(admin_client, sales_client):
    page = admin_client.get("/admin/privacy/")
    assert page.status_code == 200 and 'href="/admin/privacy/"' in page.content.decode()
    assert "No exports or erasures yet." in page.content.decode()
    assert 'href="/admin/privacy/"' not in sales_client.get("/admin/").content.decode()
    for url in ("/admin/privacy/", "/admin/privacy/export/", "/admin/privacy/erase/"):
        assert sales_client.post(url, {"email": ADDRESS, "stage": "confirm", "confirm": "on"}).status_code == 403
    assert sales_client.get("/admin/privacy/").status_code == 403


def test_sales_cannot_export_or_erase_anything(sales_client):
    mine = person()
    assert sales_client.post("/admin/privacy/export/", {"email": ADDRESS}).status_code == 403
    response = sales_client.post("/admin/privacy/erase/", {"email": ADDRESS, "stage": "confirm", "confirm": "on"})
    assert response.status_code == 403
    assert Lead.count(mine["leads"][0]) == 1 and not list(PrivacyRequest.query(PRIVACY_LOG))


def test_looking_up_an_address_shows_everything_stored_for_it_and_nothing_else(admin_client):
    mine, other = person(), person(SIMILAR, leads=1, trashed=0)
    response = admin_client.post("/admin/privacy/", {"email": " Xavier@ACME.com "})
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Stored for {ADDRESS}" in html
    assert "3 leads, 6 history events, 1 deleted lead, 1 delivery marker." in html
    for lead_id in mine["leads"] + mine["trashed"]:
        assert lead_id in html
    assert other["leads"][0] not in html and not mentions_similar(html)
    # Every field: notes, status, owner, the message, the dates; history with who and what.
    for text in ("Prefers calls after 6pm", "sam@example.com", "Private message 0", "Private message 3", "created_at",
                 "contacted", "deleted", "boss@example.com"):
        assert text in html
    # The address is in the page (it is the page's subject), never in a link or a form's action.
    assert not [url for url in links_and_actions(html) if "acme" in url]


def test_a_get_never_looks_anyone_up(admin_client):
    person()
    html = admin_client.get("/admin/privacy/", {"email": ADDRESS}).content.decode()
    assert "Stored for" not in html and "Private message" not in html


def test_a_bad_address_is_a_form_error(admin_client):
    response = admin_client.post("/admin/privacy/", {"email": "not an address"})
    assert response.status_code == 200 and "Enter a valid email address." in response.content.decode()
    response = admin_client.post("/admin/privacy/erase/", {"email": "x" * 300})
    assert response.status_code == 200 and "Stored for" not in response.content.decode()


def test_posts_need_the_csrf_token():
    services.staff_create(email=ADMIN, password=PASSWORD, role="admin")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    client.post("/admin/login/", {"email": ADMIN, "password": PASSWORD, "csrfmiddlewaretoken": token})
    person()
    for url in ("/admin/privacy/", "/admin/privacy/export/", "/admin/privacy/erase/"):
        assert client.post(url, {"email": ADDRESS, "stage": "confirm", "confirm": "on"}).status_code == 403
    assert Lead.count() == 3


def test_export_is_a_json_download_of_everything_and_is_recorded_without_the_address(admin_client):
    mine = person()
    person(SIMILAR, leads=1, trashed=0)
    response = admin_client.post("/admin/privacy/export/", {"email": ADDRESS})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="subject-{utcnow():%Y-%m-%d}.json"'
    assert "no-store" in response["Cache-Control"]
    document = json.loads(response.content)
    assert document["email"] == ADDRESS and document["exported_by"] == ADMIN
    assert sorted(entry["lead"]["lead_id"] for entry in document["leads"]) == sorted(mine["leads"])
    assert [entry["lead"]["lead_id"] for entry in document["trashed_leads"]] == mine["trashed"]
    assert document["counts"] == {"leads": 3, "history": 6, "trash": 1, "markers": 1}
    first = next(entry for entry in document["leads"] if entry["lead"]["lead_id"] == mine["leads"][0])
    assert first["lead"]["notes"] == "Prefers calls after 6pm" and first["delivery_marker"] is not None
    assert not mentions_similar(response.content.decode())
    [record] = PrivacyRequest.query(PRIVACY_LOG)
    assert (record.kind, record.actor, record.request_id) == ("export", ADMIN, document["request_id"])
    assert record.subject == subjects.subject_hash(ADDRESS) and "acme" not in json.dumps(record.serialize())
    # The export is listed on the privacy page, by hash prefix.
    assert record.subject[:12] in admin_client.get("/admin/privacy/").content.decode()


def test_erase_asks_first_then_needs_the_box_ticked(admin_client):
    mine = person()
    confirm = admin_client.post("/admin/privacy/erase/", {"email": ADDRESS})
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "Erase everything stored for this address?" in html
    assert "I understand this cannot be undone" in html and re.search(r"<dt>Leads</dt><dd>3</dd>", html)
    unticked = admin_client.post("/admin/privacy/erase/", {"email": ADDRESS, "stage": "confirm"})
    assert "Tick the box to confirm" in unticked.content.decode()
    assert Lead.count(mine["leads"][0]) == 1 and not list(PrivacyRequest.query(PRIVACY_LOG))


def test_erase_removes_everything_keeps_the_counts_exact_and_shows_what_it_did(admin_client, caplog):
    mine, other = person(), person(SIMILAR, leads=1, trashed=0)
    before = {status: status_count(status) for status in STATUSES}
    day_before = day_count(DAY)
    statuses = Counter(Lead.get(lead_id).status for lead_id in mine["leads"])
    with caplog.at_level(logging.DEBUG):
        response = admin_client.post("/admin/privacy/erase/", {"email": ADDRESS, "stage": "confirm", "confirm": "on"})
    assert response.status_code == 302
    location = response["Location"]
    assert re.fullmatch(r"/admin/privacy/requests/\d{8}T\d{12}Z-[0-9a-f]{8}/", location)
    result = admin_client.get(location).content.decode()
    assert "Erased" in result and re.search(r"<dt>Leads</dt><dd>3</dd>", result)
    assert re.search(r"<dt>History events</dt><dd>6</dd>", result) and subjects.subject_hash(ADDRESS) in result
    assert subjects.subject_find(email=ADDRESS).empty
    assert all(Lead.count(i) == 0 and TrashedLead.count(i) == 0 for i in mine["leads"] + mine["trashed"])
    assert Lead.count(other["leads"][0]) == 1
    assert {s: before[s] - status_count(s) for s in STATUSES} == {s: statuses[s] for s in STATUSES}
    assert day_before - day_count(DAY) == 3 and audit()[1] == []
    # The dashboard and inbox show the new counts.
    assert "xavier@acme.com" not in admin_client.get("/admin/leads/").content.decode()
    assert ADDRESS not in caplog.text and "xavier" not in caplog.text.lower()
    # Looking the address up again says it was erased, and that nothing is stored.
    again = admin_client.post("/admin/privacy/", {"email": ADDRESS}).content.decode()
    assert "This address was erased before" in again and "Nothing is stored for this address." in again


def test_erasing_an_address_with_nothing_stored_says_so_and_records_it(admin_client):
    confirm = admin_client.post("/admin/privacy/erase/", {"email": "nobody@acme.com"}).content.decode()
    assert "Nothing is stored for this address." in confirm
    response = admin_client.post("/admin/privacy/erase/", {"email": "nobody@acme.com", "stage": "confirm",
                                                           "confirm": "on"})
    assert "Nothing was stored for this address. The request is recorded." in admin_client.get(
        response["Location"]).content.decode()
    [record] = PrivacyRequest.query(PRIVACY_LOG)
    assert (record.kind, record.state, record.leads) == ("erasure", "finished", 0)


def test_unknown_request_ids_are_404(admin_client):
    assert admin_client.get("/admin/privacy/requests/20261101T000000000000Z-00000000/").status_code == 404
    assert admin_client.get("/admin/privacy/requests/xavier@acme.com/").status_code == 404


@pytest.mark.parametrize("writes_before_the_fault", [0, 2])
def test_an_erase_while_dynamodb_is_unreachable_is_a_503_and_sending_it_again_finishes_it(admin_client,
                                                                                          writes_before_the_fault):
    mine = person()
    form = {"email": ADDRESS, "stage": "confirm", "confirm": "on"}
    with dynamodb_fault(operations={"TransactWriteItems"}, code="InternalServerError", status=500,
                        skip=writes_before_the_fault):
        response = admin_client.post("/admin/privacy/erase/", form)
    assert response.status_code == 503 and UNAVAILABLE in response.content.decode()
    assert audit()[1] == []
    retried = admin_client.post("/admin/privacy/erase/", form)
    assert retried.status_code == 302
    [record] = PrivacyRequest.query(PRIVACY_LOG)
    assert (record.state, record.leads, record.trash, record.history) == ("finished", 3, 1, 6)
    assert record.runs == (2 if writes_before_the_fault else 1)
    assert subjects.subject_find(email=ADDRESS).empty and audit()[1] == []
    assert all(Lead.count(i) == 0 for i in mine["leads"])


# --- Request economy -------------------------------------------------------------------------------

def calls_of(client, *args, **kwargs) -> Counter:
    with dynamodb_calls() as log:
        response = client.post(*args, **kwargs) if args[0] != "GET" else client.get(args[1])
    assert response.status_code == 200
    return Counter(log.calls)


def test_the_privacy_pages_cost_a_bounded_number_of_calls_whatever_the_tables_hold(admin_client, monkeypatch):
    """GET: the session and one Query of the log. A lookup of L leads and T deleted ones: per page of each
    email index one Query (and, if it found any, a BatchGetItem of the items and one of their markers), one
    history Query per lead, then the log's Query and the GetItem saying whether the address was erased."""
    for n in range(30):
        make_lead(f"someone{n}@acme.com")  # other people's leads cost nothing
    person(leads=5, trashed=3)
    monkeypatch.setattr(subjects, "PAGE_SIZE", 2)  # pages of 2: leads 2+2+1, deleted leads 2+1

    assert calls_of(admin_client, "GET", "/admin/privacy/") == Counter({
        ("GetItem", ("sessions",)): 1, ("Query", ("history",)): 1})
    calls = calls_of(admin_client, "/admin/privacy/", {"email": ADDRESS})
    assert not any(operation == "Scan" for operation, _ in calls)
    leads, trashed = 5, 3
    assert calls == Counter({
        ("GetItem", ("sessions",)): 1,
        ("Query", ("leads",)): 3,
        ("BatchGetItem", ("leads",)): 3,
        ("BatchGetItem", ("counters",)): 3 + 2,  # the markers of each page
        ("Query", ("trash",)): 2,
        ("BatchGetItem", ("trash",)): 2,
        ("Query", ("history",)): leads + trashed + 1,  # each lead's history, and the log
        ("GetItem", ("history",)): 1,  # erased before?
    })
    nobody = calls_of(admin_client, "/admin/privacy/", {"email": "nobody@acme.com"})
    assert nobody == Counter({("GetItem", ("sessions",)): 1, ("Query", ("leads",)): 1, ("Query", ("trash",)): 1,
                              ("Query", ("history",)): 1, ("GetItem", ("history",)): 1})
