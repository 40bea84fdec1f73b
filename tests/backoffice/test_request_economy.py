"""Request economy: the DynamoDB calls each page makes, the same whatever the size of the table.

Calls are recorded with botocore's own event hook (``before-parameter-build``) on the app's one
client, so the operation, table, index and Limit of every call are seen exactly as sent. The budget
(README, bench/): at most 4 calls for any page, session lookup included; a list page is the session
GetItem, the status counters' Query (tally-index) and ONE Query on the index for its filter (the owner picker
offers me, nobody and the chosen owner; the roster is Queried only on the page listing every owner); no
Scan anywhere. The leads Query has Limit = page size + 1: the one item more
is a look-ahead, read from the index (the inbox columns, never the lead itself) and never shown, which
tells whether a next page exists without another call. So a list page reads from the leads' indexes
exactly what it shows plus that one entry, and nothing from the leads table. Items read per item shown
are measured against DynamoDB Local at 100 and 100,000 leads by the benchmark (bench/economy.py, which
reports the look-ahead apart); here moto answers, whose ScannedCount for index queries is not
meaningful, so this test pins down the calls, their Limit and the items they return (Count), at 3 and
100 leads (100,000 leads take minutes to seed in moto and each of its index queries seconds).
"""
import json
import math
import re
from collections import Counter
from html import unescape

import pytest
from django.conf import settings
from django.test import Client

from leads.storage import dynamodb
from leads.storage.models import UNASSIGNED
from leads.management import maintenance
from tests.helpers import PASSWORD, make_lead, signed_in

MAX_CALLS = 4
SESSION = ("GetItem", "sessions", None)
COUNTERS = ("Query", "counters", "tally-index")  # every status shard of the tally, one Query
ROLLUPS = ("BatchGetItem", "counters", None)  # the dashboard's tallies and rollups


class CallLog:
    """Every DynamoDB call made through the app's client while recording: (operation, table(s), index)."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.params: list[dict] = []
        self.answers: list[dict] = []
        self.recording = False

    def answered(self, parsed, **_):
        """Keep each answer (after-call), beside its call."""
        if self.recording:
            self.answers.append(parsed)

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
        self.calls, self.params, self.answers = [], [], []
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
    client.meta.events.register("after-call.dynamodb", log.answered, unique_id="test-request-economy-answers")
    yield log
    client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="test-request-economy")
    client.meta.events.unregister("after-call.dynamodb", unique_id="test-request-economy-answers")


@pytest.fixture
def admin():
    return signed_in("boss@example.com", "admin")


def seed(count: int) -> None:
    """Demo leads by BatchWriteItem (as `manage.py seed_demo` stores them): half of them "new", every other
    one the admin's (the others nobody's)."""
    maintenance.seed(maintenance.demo_leads(count, seed=count, owners=("boss@example.com",)))


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
    # The lead, its history event, three counters (its status, its day, its hour among the leads waiting
    # for a response: leads.domain.response_time) and the client's rate-limit hit: one request.
    assert len(dynamodb_calls.params[0]["TransactItems"]) == 6


def test_a_json_contact_post_is_exactly_one_transaction(dynamodb_calls):
    body = json.dumps({"name": "Alan", "email": "alan@example.com", "subject": "Hi", "message": "Hello"})
    response, calls = dynamodb_calls.during(lambda: Client().post(
        "/", body, content_type="application/json", HTTP_ORIGIN="https://static.example.com",
        HTTP_IDEMPOTENCY_KEY="economy-1"))
    assert response.status_code == 201
    assert calls == [("TransactWriteItems", "counters+history+leads", None)]


# --- List pages: session + counters + one Query, whatever the table holds ---------------------------

ROSTER = ("Query", "staff", "roster-index")


def list_page(index):
    """A list page's calls: the session, the counters, ONE Query on the filter's index."""
    return [SESSION, COUNTERS, ("Query", "leads", index)]


def shown(response) -> int:
    return response.content.decode().count('name="ids" value="')


LISTINGS = [
    ("", "created-index"),
    ("?status=new", "status-index"),
    ("?q=ann@acme.example", "email-index"),
    ("?q=@acme.example", "domain-index"),
    ("?status=new&q=ann@acme.example", "status-email-index"),
    ("?status=new&q=@acme.example", "status-domain-index"),
    # Issue 14: owner (mine, unassigned, anyone), with a status; dates on any of them; a prefix.
    ("?owner=me", "owner-index"),
    ("?owner=none", "owner-index"),
    ("?owner=boss@example.com", "owner-index"),
    ("?owner=me&status=new", "owner-status-index"),
    ("?owner=none&status=new", "owner-status-index"),
    ("?from=2020-01-01&to=2099-12-31", "created-index"),
    ("?status=new&from=2020-01-01", "status-index"),
    ("?owner=me&to=2099-12-31", "owner-index"),
    ("?owner=none&status=new&from=2020-01-01&to=2099-12-31", "owner-status-index"),
    ("?q=ann@acme.example&from=2020-01-01", "email-index"),
    ("?status=new&q=@acme.example&to=2099-12-31", "status-domain-index"),
    ("?q=a", "email-prefix-index"),
    ("?q=ann@acme", "email-prefix-index"),
]


@pytest.mark.parametrize("size", [3, 100])
@pytest.mark.parametrize("query, index", LISTINGS)
def test_each_list_page_is_the_session_the_counters_and_one_query(admin, dynamodb_calls, size, query, index):
    seed(size)
    make_lead("ann@acme.example")
    response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/{query}"))
    assert response.status_code == 200
    assert calls == list_page(index)
    query_params, answer = dynamodb_calls.params[2], dynamodb_calls.answers[2]
    assert query_params["Limit"] == 26, "a list page reads its rows and one look-ahead entry, no more"
    assert "FilterExpression" not in query_params, "a filter would read items it does not show"
    rows = shown(response)
    # What the Query returned is what the page shows, plus the look-ahead when there is a next page.
    assert answer["Count"] == rows + ('rel="next"' in response.content.decode())
    assert answer["Count"] <= 26 and rows <= 25
    assert_no_scan_and_within_budget(calls)


@pytest.mark.parametrize("query, index", [("?owner=none", "owner-index"), ("?owner=me&status=new", "owner-status-index"),
                                          ("?from=2020-01-01", "created-index"), ("?q=a", "email-prefix-index")])
def test_the_new_listings_cost_the_same_at_100_leads_as_at_3(admin, dynamodb_calls, query, index):
    seen = []
    for size in (3, 97):  # 3, then 100
        seed(size)
        response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/{query}"))
        seen.append((calls, dynamodb_calls.params[2]["Limit"]))
    assert seen[0] == seen[1] == (list_page(index), 26)


def test_the_owner_picking_page_is_the_session_and_one_query_on_the_roster(admin, dynamodb_calls):
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/leads/owners/?status=new"))
    assert response.status_code == 200
    assert calls == [SESSION, ROSTER]


@pytest.mark.parametrize("per_page", [25, 50, 100])
def test_the_query_reads_one_page_whatever_its_size(admin, dynamodb_calls, per_page):
    seed(105)
    response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/?per_page={per_page}"))
    assert response.status_code == 200
    assert calls == list_page("created-index")
    assert dynamodb_calls.params[2]["Limit"] == per_page + 1
    assert dynamodb_calls.answers[2]["Count"] == per_page + 1  # the look-ahead: there is a next page
    assert shown(response) == per_page


def test_the_last_page_of_a_listing_ending_on_a_page_boundary_costs_the_same_and_offers_no_next(admin, dynamodb_calls):
    seed(50)  # 25 of them the admin's: exactly one page
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/leads/?owner=me"))
    assert calls == list_page("owner-index")
    assert shown(response) == 25 and dynamodb_calls.answers[2]["Count"] == 25
    assert 'rel="next"' not in response.content.decode()


def test_following_cursors_costs_the_same_as_the_first_page(admin, dynamodb_calls):
    seed(80)

    def link(response, rel):
        return "/admin/leads/" + unescape(re.search(rf'href="(\?[^"]*)" rel="{rel}"', response.content.decode()).group(1))

    first = admin.get("/admin/leads/?owner=none&from=2020-01-01")
    second, calls = dynamodb_calls.during(lambda: admin.get(link(first, "next")))
    assert calls == list_page("owner-index")
    assert dynamodb_calls.params[2]["Limit"] == 26 and "ExclusiveStartKey" in dynamodb_calls.params[2]
    first = admin.get("/admin/leads/")
    second = admin.get(link(first, "next"))
    third = admin.get(link(second, "next"))
    back, calls = dynamodb_calls.during(lambda: admin.get(link(third, "prev")))
    assert back.status_code == 200
    assert calls == list_page("created-index")
    # Going back reads one item more than a page too, to tell whether it reached the newest page.
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


@pytest.mark.backend("moto", reason="100,000 leads are put straight into moto; DynamoDB Local would take minutes")
def test_a_listing_on_each_index_costs_the_same_at_100000_leads(admin, dynamodb_calls):
    """The calls, the Limit and the items returned of one listing per index, as at 3 and 100 leads above."""
    bulk_load(100_000)
    make_lead("ann@acme.example")
    for query, index in {index: (query, index) for query, index in LISTINGS}.values():
        response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/{query}"))
        assert response.status_code == 200 and calls == list_page(index), query
        assert dynamodb_calls.params[2]["Limit"] == 26 and "FilterExpression" not in dynamodb_calls.params[2]
        has_next = 'rel="next"' in response.content.decode()
        assert dynamodb_calls.answers[2]["Count"] == shown(response) + has_next, query


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
    # the entry sent, the lead contacted and answered, its history event, one status shard (new −1, contacted +1,
    # waiting −1) and the week's response-time histogram shard.
    assert calls == [SESSION, ("GetItem", "leads", None), ("TransactWriteItems", "counters+history+leads", None),
                     ("TransactWriteItems", "counters+history+leads", None)]
    assert len(dynamodb_calls.params[3]["TransactItems"]) == 5
    assert_no_scan_and_within_budget(calls)


def test_deleting_is_two_calls_to_confirm_and_three_to_delete(admin, dynamodb_calls):
    lead_id = make_lead()
    response, calls = dynamodb_calls.during(lambda: admin.get(f"/admin/leads/{lead_id}/delete/"))
    assert response.status_code == 200
    assert calls == [SESSION, ("GetItem", "leads", None)]
    response, calls = dynamodb_calls.during(lambda: admin.post(f"/admin/leads/{lead_id}/delete/"))
    assert response.status_code == 302
    assert calls == [SESSION, ("GetItem", "leads", None), ("TransactWriteItems", "counters+history+leads+trash", None)]


def _rollups_as_if(leads: int) -> None:
    """Fill every rollup item the dashboard reads as `leads` more leads spread over every shard would leave it.

    The dashboard reads rollups, never the leads table, so their contents (not the table) are what a large
    table changes for it; the benchmark (bench/economy.py) measures 100,000 real leads on DynamoDB Local.
    """
    from leads.domain import response_time, tallies
    from leads.storage.models import ResponseTally, Tally, utcnow

    now = utcnow()
    per_shard = leads // tallies.shard_count()
    with Tally.batch_write() as batch:
        for key in tallies.status_keys():
            batch.save(Tally(key, n_new=per_shard // 2, n_contacted=per_shard - per_shard // 2, n_waiting=per_shard // 4))
    with ResponseTally.batch_write() as batch:
        for key in response_time.keys_to_read(now):
            if key.startswith("tally#waiting#"):
                batch.save(ResponseTally(key, **{f"h{hour:02d}": 1 for hour in range(24)}))
            else:
                batch.save(ResponseTally(key, **{f"w{week}b{bucket:02d}": per_shard // 400 + 1
                                                 for week in range(4) for bucket in range(30)}))


@pytest.mark.parametrize("size", [100, 100_000])
def test_the_dashboard_is_the_session_and_two_batches_of_rollups_at_any_size(admin, dynamodb_calls, size):
    from leads.domain import response_time, services, tallies
    from leads.storage.models import Lead, utcnow

    seed(100)
    for lead in list(Lead.scan(Lead.status == "new", limit=5)):
        services.lead_update(lead_id=lead.lead_id, expected_version=lead.version, actor="boss@example.com",
                             status="contacted")
    if size > 100:
        _rollups_as_if(size - 100)
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/"))
    assert response.status_code == 200
    # The session; the status and day tallies; the response-time rollups. Never the leads, however many.
    assert calls == [SESSION, ROLLUPS, ROLLUPS]
    keys = [len(p["RequestItems"][settings.DYNAMODB_TABLE_PREFIX + "counters"]["Keys"]) for p in dynamodb_calls.params[1:]]
    assert keys[0] <= 3 * tallies.shard_count() and keys[1] == len(response_time.keys_to_read(utcnow())) <= 100
    assert "Median and 90th percentile time to first response" in response.content.decode()
    assert_no_scan_and_within_budget(calls)


@pytest.mark.parametrize("shards", [1, 33])
def test_the_dashboard_reads_its_rollups_in_one_batch_at_any_shard_count(admin, dynamodb_calls, settings, shards):
    settings.LEADS_TALLY_SHARDS = shards
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/"))
    assert response.status_code == 200
    assert calls == [SESSION, ROLLUPS, ROLLUPS]


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
    assert calls == [SESSION, ("UpdateItem", "sessions", None), ROLLUPS, ROLLUPS]  # still within the 4 calls
    assert set(dynamodb_calls.params[1]["ExpressionAttributeNames"].values()) == {"last_seen_at", "session_key"}
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/"))
    assert calls == [SESSION, ROLLUPS, ROLLUPS]  # refreshed: no write for the next five minutes


# --- Export: a Query page of keys and one BatchGetItem per 100 rows ----------------------------------

@pytest.mark.parametrize("query, index, expected", [
    ("", "created-index", 250), ("?owner=none&from=2020-01-01", "owner-index", 125),
    ("?owner=me&status=new&to=2099-12-31", "owner-status-index", None), ("?q=a", "email-prefix-index", None),
])
def test_the_export_costs_two_calls_per_hundred_rows(admin, dynamodb_calls, query, index, expected):
    seed(250)
    expected = expected or len(list(selectors_for(query)))

    def export():
        response = admin.get(f"/admin/leads/export.csv{query}")
        return response, b"".join(response.streaming_content)

    (response, body), calls = dynamodb_calls.during(export)
    assert response.status_code == 200
    rows = body.decode().count("\n") - 1
    assert rows == expected
    chunks = math.ceil(rows / 100)
    assert calls == [SESSION] + [("Query", "leads", index), ("BatchGetItem", "leads", None)] * chunks
    if query:
        return
    assert [p["Limit"] for p in dynamodb_calls.params if "IndexName" in p] == [100] * chunks
    keys = [len(p["RequestItems"][settings.DYNAMODB_TABLE_PREFIX + "leads"]["Keys"])
            for p in dynamodb_calls.params if "RequestItems" in p]
    assert keys == [100, 100, 50]  # so 1,000 rows cost 10 Query pages + 10 BatchGetItem, at any table size


def selectors_for(query: str):
    """The leads a filter matches, as the export reads them (to know how many rows to expect)."""
    from django.http import QueryDict

    from leads.backoffice.forms import LeadFilterForm
    from leads.domain import selectors

    form = LeadFilterForm(QueryDict(query.removeprefix("?")), viewer="boss@example.com")
    assert form.is_valid(), form.errors
    return selectors.lead_export(status=form.cleaned_data["status"] or None, search=form.cleaned_data["q"],
                                 owner=form.owner_key, received=form.received)


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


# --- Webhooks (issue 14): the failures page is one Query; a webhook costs a read and a write -------

def seed_webhook_failures(count: int) -> None:
    """Dead letters as services.webhook_dead_letter writes them, one per lead, written in bulk."""
    from datetime import timedelta

    from leads.storage.models import WebhookFailure, utcnow

    now = utcnow()
    with WebhookFailure.batch_write() as batch:
        for n in range(count):
            at = now - timedelta(minutes=n)
            event = f"{n:032x}-v1"
            batch.save(WebhookFailure(
                failure_id=f"{WebhookFailure.failed_at.serialize(at)}#{event}#crm", webhook="crm", event="lead.created",
                event_key=event, lead=f"{n:032x}", occurred_at=at, status="new", attempts=2, error="HTTP 500",
                failed_at=at, expires_at=now + timedelta(days=14)))


@pytest.mark.parametrize("size", [3, 60])
def test_the_webhooks_page_is_the_session_and_one_query(admin, dynamodb_calls, size):
    # As many leads and failures as the list pages' test: the page reads the newest 50 failures, no lead.
    seed(size)
    seed_webhook_failures(size)
    failures = size
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/webhooks/"))
    assert response.status_code == 200
    assert calls == [SESSION, ("Query", "history", None)]
    assert dynamodb_calls.params[1]["Limit"] == 50 and "FilterExpression" not in dynamodb_calls.params[1]
    assert response.content.decode().count('name="failure"') == min(failures, 50)
    assert_no_scan_and_within_budget(calls)


def test_a_contact_post_with_a_webhook_adds_one_read_and_one_write(dynamodb_calls, settings):
    from tests.webhook_receiver import Receiver

    receiver = Receiver().start()
    try:
        settings.LEADS_WEBHOOKS = [{"kind": "slack", "name": "sales", "url": receiver.url, "secret": None}]
        browser = Client()
        token = re.search(r'name="token" value="([^"]+)"', browser.get("/").content.decode()).group(1)
        response, calls = dynamodb_calls.during(lambda: browser.post("/", {
            "token": token, "name": "Ada", "email": "ada@example.com", "company": "", "subject": "Hi", "message": "Hello"}))
    finally:
        receiver.stop()
    assert response.status_code == 302 and len(receiver.received) == 1
    # The lead's transaction; which webhooks already had it (consistent); the delivery marker.
    assert calls == [("TransactWriteItems", "counters+history+leads", None), ("BatchGetItem", "counters", None),
                     ("PutItem", "counters", None)]

# --- Follow-ups: Due today and Overdue are the session, the roster (owner choice) and ONE Query on due-index --

FOLLOW_UP_LISTS = [("/admin/follow-ups/today/", "today"), ("/admin/follow-ups/overdue/", "overdue")]
OWNERS = ["boss@example.com", "nia@example.com", None]  # me, someone else, nobody


def follow_up_leads(count: int, buckets=None):
    """`count` leads with follow-ups spread over three owners and over overdue, due later today and later (UTC);
    `buckets` counts them per (owner, "overdue" | "today" | "later")."""
    from datetime import timedelta

    from leads.domain import followups
    from leads.storage.models import utcnow

    now = utcnow()
    start, end = followups.day_bounds(day=now.date(), zone="UTC")
    for n, lead in enumerate(maintenance.demo_leads(count, seed=count)):
        lead.owner = OWNERS[n % 3]
        kind = (n // 3) % 3
        if kind == 0:
            lead.due_at = now - timedelta(days=1 + n % 30, seconds=n)
        elif kind == 1:  # later today, so none turns overdue while the test runs
            lead.due_at = now + timedelta(minutes=1) + (end - now - timedelta(minutes=2)) * ((n % 997) / 997)
        else:
            lead.due_at = end + timedelta(days=1 + n % 30, seconds=n)
        lead.refresh_index_keys()
        if buckets is not None:
            buckets[(lead.owner or UNASSIGNED, ("overdue", "today", "later")[kind])] += 1
        yield lead


def seed_follow_ups(count: int) -> Counter:
    """Store `count` follow-up leads (with their history, by BatchWriteItem); return the buckets."""
    buckets = Counter()
    maintenance.seed(follow_up_leads(count, buckets))
    return buckets


def stuff_moto_with_follow_ups(count: int) -> Counter:
    """Put `count` small lead items with follow-ups straight into moto's leads table: seconds, where BatchWriteItem
    would take many minutes. Only what the lists read and show; the Query under test goes through the client."""
    from datetime import timedelta

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from leads.domain import followups
    from leads.storage.models import Lead, utcnow

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.AWS_REGION].get_table(Lead.Meta.table_name)
    now = utcnow()
    _, end = followups.day_bounds(day=now.date(), zone="UTC")
    buckets = Counter()
    for n in range(count):
        owner, kind = OWNERS[n % 3] or UNASSIGNED, ("overdue", "today", "later")[(n // 3) % 3]
        due = {"overdue": now - timedelta(days=1 + n % 30, seconds=n),
               "today": now + timedelta(minutes=1) + (end - now - timedelta(minutes=2)) * ((n % 997) / 997),
               "later": end + timedelta(days=1 + n % 30, seconds=n)}[kind]
        buckets[(owner, kind)] += 1
        attributes = {"lead_id": {"S": f"{n:032x}"}, "due_owner": {"S": owner}, "due_at": {"S": Lead.due_at.serialize(due)},
                      "name": {"S": f"Person {n}"}, "email": {"S": f"p{n}@acme.example"}, "subject": {"S": "Hello"},
                      "status": {"S": "new"}, "version": {"N": "1"}}
        if OWNERS[n % 3]:
            attributes["owner"] = {"S": owner}
        key = DynamoType(attributes["lead_id"])
        table.items[key] = Item(key, None, attributes)
    return buckets


def assert_one_query_per_follow_up_list(admin, dynamodb_calls, buckets, path, view, owner):
    response, calls = dynamodb_calls.during(lambda: admin.get(path, {"owner": owner} if owner else {}))
    assert response.status_code == 200
    assert calls == [SESSION, ("Query", "staff", "roster-index"), ("Query", "leads", "due-index")]
    query = dynamodb_calls.params[2]
    # One item more than a page, never shown: it tells whether there is a next page.
    assert query["Limit"] == 26 and "FilterExpression" not in query, "reads no more items than it shows"
    # Keyed for it: the owner's partition, and a range on due_at (today's bounds, or before now).
    partition = {"": "boss@example.com", "unassigned": UNASSIGNED}.get(owner, owner)
    assert {"S": partition} in query["ExpressionAttributeValues"].values()
    assert ("BETWEEN" in query["KeyConditionExpression"]) == (view == "today")
    # Every item the Query may read is shown: items read ÷ items shown = 1.0.
    shown = response.content.decode().count('data-label="Name"')
    assert shown == min(25, buckets[(partition, view)]) > 0
    assert_no_scan_and_within_budget(calls)
    return shown


FOLLOW_UP_OWNERS = ["", "nia@example.com", "unassigned"]  # mine (the default), someone else's, nobody's


@pytest.mark.parametrize("path, view", FOLLOW_UP_LISTS)
@pytest.mark.parametrize("owner", FOLLOW_UP_OWNERS, ids=["mine", "someone else's", "unassigned"])
def test_each_follow_up_list_is_the_session_the_roster_and_one_query_at_100_leads(
        admin, dynamodb_calls, path, view, owner):
    buckets = seed_follow_ups(100)
    signed_in("nia@example.com", "sales")
    assert_one_query_per_follow_up_list(admin, dynamodb_calls, buckets, path, view, owner)


@pytest.mark.backend("moto", reason="100,000 leads are put straight into moto's table; DynamoDB Local would take minutes")
def test_each_follow_up_list_is_still_one_query_at_100000_leads(admin, dynamodb_calls):
    buckets = stuff_moto_with_follow_ups(100_000)
    signed_in("nia@example.com", "sales")
    for path, view in FOLLOW_UP_LISTS:
        for owner in FOLLOW_UP_OWNERS:
            assert assert_one_query_per_follow_up_list(admin, dynamodb_calls, buckets, path, view, owner) == 25


def test_following_a_follow_up_cursor_costs_the_same_as_the_first_page(admin, dynamodb_calls):
    seed_follow_ups(300)
    first = admin.get("/admin/follow-ups/overdue/", {"owner": "unassigned"})
    link = unescape(re.search(r'href="(\?[^"]*)" rel="next"', first.content.decode()).group(1))
    response, calls = dynamodb_calls.during(lambda: admin.get("/admin/follow-ups/overdue/" + link))
    assert response.status_code == 200
    assert calls == [SESSION, ("Query", "staff", "roster-index"), ("Query", "leads", "due-index")]
    assert dynamodb_calls.params[2]["Limit"] == 26 and "ExclusiveStartKey" in dynamodb_calls.params[2]


def test_setting_a_follow_up_is_four_calls_with_one_transaction(admin, dynamodb_calls):
    lead_id = make_lead()
    response, calls = dynamodb_calls.during(lambda: admin.post(
        f"/admin/leads/{lead_id}/follow-up/", {"due_date": "2026-12-24", "due_time": "09:00", "version": 1}))
    assert response.status_code == 302
    assert calls == [SESSION, ("GetItem", "leads", None), ("TransactWriteItems", "history+leads", None)]
