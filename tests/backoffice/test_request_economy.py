"""Request economy: the DynamoDB calls each page makes, the same whatever the size of the table.

Calls are recorded with botocore's own event hook (``before-parameter-build``) on the app's one
client, so the operation, table, index and Limit of every call are seen exactly as sent. The budget
(README, bench/): at most 4 calls for any page, session lookup included; a list page is the session
GetItem, the status counters' BatchGetItem and ONE Query on the index for its filter, with Limit equal
to the page size, so it reads only what it shows; no Scan anywhere. Items read per item shown are
measured against DynamoDB Local by the benchmark (bench/economy.py); moto's counts for index queries
are not meaningful, so this test pins down the calls themselves.
"""
import json
import math
import re
from html import unescape

import pytest
from django.conf import settings
from django.test import Client

from leads.storage import dynamodb
from leads.management import maintenance
from tests.helpers import PASSWORD, make_lead, signed_in

MAX_CALLS = 4
SESSION = ("GetItem", "sessions", None)
COUNTERS = ("BatchGetItem", "counters", None)


class CallLog:
    """Every DynamoDB call made through the app's client while recording: (operation, table(s), index)."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.params: list[dict] = []
        self.recording = False

    def __call__(self, params, model, **_):
        if not self.recording:
            return
        prefix = settings.DYNAMODB_TABLE_PREFIX
        if "TableName" in params:
            table = params["TableName"].removeprefix(prefix)
        elif "RequestItems" in params:
            table = "+".join(sorted(name.removeprefix(prefix) for name in params["RequestItems"]))
        else:
            table = "+".join(sorted({op["TableName"].removeprefix(prefix)
                                     for item in params["TransactItems"] for op in item.values()}))
        self.calls.append((model.name, table, params.get("IndexName")))
        self.params.append(params)

    def during(self, action):
        """Run action() while recording; return its result and the calls it made."""
        self.calls, self.params = [], []
        self.recording = True
        try:
            result = action()
        finally:
            self.recording = False
        return result, self.calls


@pytest.fixture
def dynamodb_calls():
    log = CallLog()
    client = dynamodb.shared_connection().client
    client.meta.events.register("before-parameter-build.dynamodb", log, unique_id="test-request-economy")
    yield log
    client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="test-request-economy")


@pytest.fixture
def admin():
    return signed_in("boss@example.com", "admin")


def seed(count: int) -> None:
    """Demo leads by BatchWriteItem (as `manage.py seed_demo` stores them): half of them "new"."""
    maintenance.seed(maintenance.demo_leads(count, seed=count))


def assert_no_scan_and_within_budget(calls):
    assert all(op != "Scan" for op, _, _ in calls), calls
    assert len(calls) <= MAX_CALLS, calls


# --- The public form --------------------------------------------------------------------------------

def test_the_contact_form_page_makes_no_call(dynamodb_calls):
    response, calls = dynamodb_calls.during(lambda: Client().get("/"))
    assert response.status_code == 200
    assert calls == []


@pytest.mark.parametrize("retention_days", [0, 30], ids=["retention off", "retention on"])
def test_a_contact_post_is_exactly_one_transaction(dynamodb_calls, settings, retention_days):
    settings.LEADS_RETENTION_DAYS = retention_days  # expiries ride in the same items: no extra call or item
    browser = Client()
    token = re.search(r'name="token" value="([^"]+)"', browser.get("/").content.decode()).group(1)
    response, calls = dynamodb_calls.during(lambda: browser.post("/", {
        "token": token, "name": "Ada", "email": "ada@example.com", "company": "", "subject": "Hi", "message": "Hello"}))
    assert response.status_code == 302
    assert calls == [("TransactWriteItems", "counters+history+leads", None)]
    # The lead, its history event, two counters and the client's rate-limit hit: one request.
    assert len(dynamodb_calls.params[0]["TransactItems"]) == 5


def test_a_json_contact_post_is_exactly_one_transaction(dynamodb_calls):
    body = json.dumps({"name": "Alan", "email": "alan@example.com", "subject": "Hi", "message": "Hello"})
    response, calls = dynamodb_calls.during(lambda: Client().post(
        "/", body, content_type="application/json", HTTP_ORIGIN="https://static.example.com",
        HTTP_IDEMPOTENCY_KEY="economy-1"))
    assert response.status_code == 201
    assert calls == [("TransactWriteItems", "counters+history+leads", None)]


# --- List pages: session + counters + one Query, whatever the table holds ---------------------------

LISTINGS = [
    ("", "created-index"),
    ("?status=new", "status-index"),
    ("?q=ann@acme.example", "email-index"),
    ("?q=@acme.example", "domain-index"),
    ("?status=new&q=ann@acme.example", "status-email-index"),
    ("?status=new&q=@acme.example", "status-domain-index"),
]


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize("query, index", LISTINGS)
def test_each_list_page_is_the_session_the_counters_and_one_query(admin, dynamodb_calls, size, query, index):
    seed(size)
    make_lead("ann@acme.example")
    response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/{query}"))
    assert response.status_code == 200
    assert calls == [SESSION, COUNTERS, ("Query", "leads", index)]
    query_params = dynamodb_calls.params[2]
    assert query_params["Limit"] == 25, "a list page reads no more items than it shows"
    assert "FilterExpression" not in query_params, "a filter would read items it does not show"
    assert_no_scan_and_within_budget(calls)


@pytest.mark.parametrize("per_page", [25, 50, 100])
def test_the_query_reads_one_page_whatever_its_size(admin, dynamodb_calls, per_page):
    seed(105)
    response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/?per_page={per_page}"))
    assert response.status_code == 200
    assert calls == [SESSION, COUNTERS, ("Query", "leads", "created-index")]
    assert dynamodb_calls.params[2]["Limit"] == per_page
    assert response.content.decode().count('name="ids" value="') == per_page


def test_following_cursors_costs_the_same_as_the_first_page(admin, dynamodb_calls):
    seed(80)

    def link(response, rel):
        return "/admin/leads/" + unescape(re.search(rf'href="(\?[^"]*)" rel="{rel}"', response.content.decode()).group(1))

    first = admin.get("/admin/leads/")
    second, calls = dynamodb_calls.during(lambda: admin.get(link(first, "next")))
    assert calls == [SESSION, COUNTERS, ("Query", "leads", "created-index")]
    assert dynamodb_calls.params[2]["Limit"] == 25 and "ExclusiveStartKey" in dynamodb_calls.params[2]
    third = admin.get(link(second, "next"))
    back, calls = dynamodb_calls.during(lambda: admin.get(link(third, "prev")))
    assert back.status_code == 200
    assert calls == [SESSION, COUNTERS, ("Query", "leads", "created-index")]
    # Going back reads one item more than a page, to tell whether it reached the newest page.
    assert dynamodb_calls.params[2]["Limit"] == 26


# --- One lead ---------------------------------------------------------------------------------------

def test_the_lead_page_is_four_calls(admin, dynamodb_calls):
    lead_id = make_lead()
    response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/{lead_id}/"))
    assert response.status_code == 200
    assert calls == [SESSION, ("GetItem", "leads", None), ("Query", "staff", "roster-index"), ("Query", "history", None)]
    assert_no_scan_and_within_budget(calls)


def test_saving_an_edit_is_four_calls_with_one_transaction(admin, dynamodb_calls):
    lead_id = make_lead()
    response, calls = dynamodb_calls.during(lambda: admin.post(
        f"/admin/leads/{lead_id}/", {"status": "contacted", "owner": "", "notes": "Called", "version": 1}))
    assert response.status_code == 302
    assert calls == [SESSION, ("GetItem", "leads", None), ("Query", "staff", "roster-index"),
                     ("TransactWriteItems", "counters+history+leads", None)]
    assert_no_scan_and_within_budget(calls)


def bulk_load(count: int) -> None:
    """`count` leads with their "created" events, put straight into moto's tables (seed_demo's BatchWriteItem
    takes minutes for 100,000; the calls a page makes are what is measured, not how the table was filled)."""
    import copy

    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from leads.domain.services import history_event

    [template] = maintenance.demo_leads(1, seed=count)
    backend = next(iter(dynamodb_backends.values()))[settings.AWS_REGION]
    leads, history = (backend.get_table(settings.DYNAMODB_TABLE_PREFIX + name) for name in ("leads", "history"))
    lead = Item(DynamoType({"S": "x"}), None, template.serialize())
    raw = history_event(lead_id="x", actor="seed_demo", action="created", changes={}, at=template.created_at,
                        version=1).serialize()
    event = Item(DynamoType({"S": "x"}), DynamoType(raw["event_id"]), raw)
    for n in range(count):
        key = DynamoType({"S": f"{n:032x}"})
        item, entry = copy.copy(lead), copy.copy(event)
        item.hash_key = entry.hash_key = key
        item.attrs, entry.attrs = dict(lead.attrs, lead_id=key), dict(event.attrs, lead_id=key)
        leads.items[key] = item
        history.items[key][entry.range_key] = entry


LEAD_PAGE = [SESSION, ("GetItem", "leads", None), ("Query", "staff", "roster-index"), ("Query", "history", None)]


@pytest.mark.parametrize("size", [
    100, pytest.param(100_000, marks=pytest.mark.backend("moto", reason="100,000 leads are put straight into moto"))])
def test_the_lead_page_with_its_timeline_is_four_calls_at_any_size(admin, dynamodb_calls, size):
    from django.core import mail

    from leads.domain import timeline

    lead_id = make_lead()
    for n in range(30):  # notes and replies among the changes: still the one Query of the lead's partition
        timeline.note_add(lead_id=lead_id, actor="boss@example.com", text=f"Note {n}", form_id=f"{n:032x}")
    html = admin.get(f"/admin/leads/{lead_id}/").content.decode()
    token = re.findall(r'name="token" value="([^"]+)"', html)[1]
    assert admin.post(f"/admin/leads/{lead_id}/reply/", {"token": unescape(token), "subject": "Re: Hello",
                                                         "text": "Our offer", "version": 1}).status_code == 302
    assert [m.body for m in mail.outbox if m.to == ["ann@acme.com"]] == ["Our offer"]
    # Filled afterwards: moto copies whole tables for each transaction, which 100,000 items make slow.
    if size == 100:
        seed(size)
    else:
        bulk_load(size)
    response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/{lead_id}/"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Note 29" in html and "Note 0" in html and "Our offer" in html and "status: “new” → “contacted”" in html
    assert calls == LEAD_PAGE
    assert_no_scan_and_within_budget(calls)
    assert "ExclusiveStartKey" not in dynamodb_calls.params[3], "the timeline is one Query, not pages of them"


def test_adding_a_note_is_the_session_and_one_transaction(admin, dynamodb_calls):
    lead_id = make_lead()
    token = re.findall(r'name="token" value="([^"]+)"', admin.get(f"/admin/leads/{lead_id}/").content.decode())[0]
    response, calls = dynamodb_calls.during(lambda: admin.post(f"/admin/leads/{lead_id}/notes/",
                                                               {"token": unescape(token), "text": "Called"}))
    assert response.status_code == 302
    # The note, its form's marker, and a ConditionCheck that the lead is there.
    assert calls == [SESSION, ("TransactWriteItems", "counters+history+leads", None)]
    assert len(dynamodb_calls.params[1]["TransactItems"]) == 3


def test_sending_a_reply_is_four_calls_with_two_transactions(admin, dynamodb_calls):
    lead_id = make_lead()
    token = re.findall(r'name="token" value="([^"]+)"', admin.get(f"/admin/leads/{lead_id}/").content.decode())[1]
    response, calls = dynamodb_calls.during(lambda: admin.post(f"/admin/leads/{lead_id}/reply/", {
        "token": unescape(token), "subject": "Re: Hello", "text": "Our offer", "version": 1}))
    assert response.status_code == 302
    # Read the lead; record the reply (entry, marker, ConditionCheck on the version); send; then ONE transaction:
    # the entry sent, the lead contacted, its history event, the two tallies.
    assert calls == [SESSION, ("GetItem", "leads", None), ("TransactWriteItems", "counters+history+leads", None),
                     ("TransactWriteItems", "counters+history+leads", None)]
    assert len(dynamodb_calls.params[3]["TransactItems"]) == 4
    assert_no_scan_and_within_budget(calls)


def test_deleting_is_two_calls_to_confirm_and_three_to_delete(admin, dynamodb_calls):
    lead_id = make_lead()
    response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/{lead_id}/delete/"))
    assert response.status_code == 200
    assert calls == [SESSION, ("GetItem", "leads", None)]
    response, calls = dynamodb_calls.during(lambda: admin.post(f"/admin/leads/{lead_id}/delete/"))
    assert response.status_code == 302
    assert calls == [SESSION, ("GetItem", "leads", None), ("TransactWriteItems", "counters+history+leads+trash", None)]


def test_the_dashboard_is_the_session_and_one_batch_of_counters(admin, dynamodb_calls):
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/"))
    assert response.status_code == 200
    assert calls == [SESSION, COUNTERS]


# --- Sessions: the list is one Query on staff-index; last activity costs a write once per interval -----

def test_the_sessions_page_is_the_session_one_query_and_one_batch(admin, dynamodb_calls):
    signed_in_again = Client()
    signed_in_again.post("/admin/login/", {"email": "boss@example.com", "password": PASSWORD})
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/account/sessions/"))
    assert response.status_code == 200
    assert calls == [SESSION, ("Query", "sessions", "staff-index"), ("BatchGetItem", "sessions", None)]


def test_last_activity_is_one_small_write_once_per_interval(admin, dynamodb_calls, settings):
    from datetime import timedelta

    from leads.storage.models import StaffSession, utcnow

    settings.LEADS_SESSION_ACTIVITY_INTERVAL = 300
    key = admin.cookies[settings.SESSION_COOKIE_NAME].value
    StaffSession(key).update(actions=[StaffSession.last_seen_at.set(utcnow() - timedelta(minutes=6))])
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/"))
    assert response.status_code == 200
    assert calls == [SESSION, ("UpdateItem", "sessions", None), COUNTERS]
    assert set(dynamodb_calls.params[1]["ExpressionAttributeNames"].values()) == {"last_seen_at", "session_key"}
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/"))
    assert calls == [SESSION, COUNTERS]  # refreshed: no write for the next five minutes


# --- Export: a Query page of keys and one BatchGetItem per 100 rows ----------------------------------

def test_the_export_costs_two_calls_per_hundred_rows(admin, dynamodb_calls):
    seed(250)

    def export():
        response = admin.get("/admin/leads/export.csv")
        return response, b"".join(response.streaming_content)

    (response, body), calls = dynamodb_calls.during(export)
    assert response.status_code == 200
    rows = body.decode().count("\n") - 1
    assert rows == 250
    chunks = math.ceil(rows / 100)
    assert calls == [SESSION] + [("Query", "leads", "created-index"), ("BatchGetItem", "leads", None)] * chunks
    assert [p["Limit"] for p in dynamodb_calls.params if "IndexName" in p] == [100] * chunks
    keys = [len(p["RequestItems"][settings.DYNAMODB_TABLE_PREFIX + "leads"]["Keys"])
            for p in dynamodb_calls.params if "RequestItems" in p]
    assert keys == [100, 100, 50]  # so 1,000 rows cost 10 Query pages + 10 BatchGetItem, at any table size


# --- Staff and invitations: each list is one Query; a link is one read ------------------------------

def test_the_staff_page_is_the_session_and_one_query_per_list(admin, dynamodb_calls):
    assert admin.post("/admin/staff/", {"email": "nia@example.com", "role": "sales"}).status_code == 302
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/staff/"))
    assert response.status_code == 200 and "nia@example.com" in response.content.decode()
    assert calls == [SESSION, ("Query", "staff", "roster-index"), ("Query", "invitations", "pending-index")]
    assert_no_scan_and_within_budget(calls)


def test_an_invitation_is_one_transaction_and_its_link_one_read(admin, dynamodb_calls):
    from django.core import mail

    from tests.helpers import invitation_link

    response, calls = dynamodb_calls.during(lambda: admin.post("/admin/staff/", {"email": "nia@example.com",
                                                                                 "role": "sales"}))
    assert response.status_code == 302
    # The invitation, on condition (a ConditionCheck in the same transaction) that no account has the address.
    assert calls == [SESSION, ("TransactWriteItems", "invitations+staff", None)]
    link = invitation_link(mail.outbox[-1])
    response, calls = dynamodb_calls.during(lambda: Client().get(link))
    assert response.status_code == 200 and calls == [("GetItem", "invitations", None)]
    invitee = Client()
    response, calls = dynamodb_calls.during(lambda: invitee.post(link, {"new_password1": "plum orchard by the river",
                                                                        "new_password2": "plum orchard by the river"}))
    assert response["Location"] == "/admin/"
    # Read the invitation; consume it and create the account together; sign in as the sign-in page does
    # (Django's check that the new session key is free, then the session write with the account's stamp).
    assert calls == [("GetItem", "invitations", None), ("TransactWriteItems", "invitations+staff", None),
                     ("GetItem", "sessions", None), ("TransactWriteItems", "sessions+staff", None)]
