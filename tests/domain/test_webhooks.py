"""Webhooks (leads.domain.webhooks, services.webhooks_deliver): what is sent, signed, retried, dead-lettered.

Every receiver here is a real HTTP server on loopback (tests/webhook_receiver.py); nothing is mocked
but the DNS answer for one deliberately unresolvable name.
"""
import json
import re
import socket
import time
from pathlib import Path

import pytest
from django.test import Client

from leads.domain import selectors, services, webhooks
from leads.public import tokens
from leads.storage.models import WEBHOOK_FAILURES, DeliveryMarker, Lead, WebhookFailure
from tests.webhook_receiver import Receiver, refused_url

SECRET = "a-webhook-secret-for-tests-only"
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier():
    """The verification snippet the README gives receivers, run as written."""
    snippet = re.search(r"```python\n(.*?def verify_leads_webhook.*?)```", README.read_text(), re.S).group(1)
    namespace = {}
    exec(snippet, namespace)
    return namespace["verify_leads_webhook"]


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def configure(settings, *hooks, timeout=0.5, budget=3.0):
    settings.LEADS_WEBHOOKS = [dict(kind=kind, name=name, url=url, secret=SECRET if kind == "json" else None)
                               for kind, name, url in hooks]
    settings.LEADS_WEBHOOK_TIMEOUT = timeout
    settings.LEADS_WEBHOOK_REQUEST_BUDGET = budget
    settings.LEADS_WEBHOOK_LEAD_URL = "https://leads.example.com/admin/leads/{lead_id}/"


def submit(**fields):
    lead_id = tokens.new_lead_id()
    data = dict(name="Ann Visitor", email="ann@acme.example", company="Acme", subject="A quote",
                message="Twelve seats, please.") | fields
    submission = services.lead_submit(lead_id=lead_id, **data)
    assert submission.created
    return lead_id


def failures():
    return list(WebhookFailure.query(WEBHOOK_FAILURES, consistent_read=True))


# --- What is sent -----------------------------------------------------------------------------------

def test_a_new_lead_is_posted_as_signed_json_a_receiver_can_verify(settings, receiver):
    configure(settings, ("json", "crm", receiver.url))
    lead_id = submit()
    [got] = receiver.received
    document = json.loads(got.body)
    assert document["id"] == f"{lead_id}-v1" and document["type"] == "lead.created"
    assert document["lead"] | {"created_at": None} == {
        "id": lead_id, "status": "new", "previous_status": None, "created_at": None, "name": "Ann Visitor",
        "company": "Acme", "subject": "A quote", "url": f"https://leads.example.com/admin/leads/{lead_id}/"}
    assert got.headers["X-Leads-Event-Id"] == f"{lead_id}-v1"
    verify = readme_verifier()
    assert verify(SECRET.encode(), got.headers, got.body)
    # Tampered, signed with another secret, or replayed later: refused.
    assert not verify(SECRET.encode(), got.headers, got.body.replace(b"Acme", b"Acne"))
    assert not verify(b"another secret of enough length", got.headers, got.body)
    stale = int(got.headers["X-Leads-Timestamp"]) - 301
    old_headers = got.headers | {"X-Leads-Timestamp": str(stale),
                                 "X-Leads-Signature": webhooks.signature(SECRET, stale, got.body)}
    assert not verify(SECRET.encode(), old_headers, got.body)


def test_no_email_address_or_message_leaves_the_app(settings, receiver):
    configure(settings, ("json", "crm", receiver.url), ("slack", "sales", receiver.url))
    submit()
    assert len(receiver.received) == 2
    for got in receiver.received:
        assert b"ann@acme.example" not in got.body and b"Twelve seats" not in got.body


def test_slack_gets_one_line_of_text_with_name_company_subject_and_link_and_no_markup_from_visitors(settings, receiver):
    configure(settings, ("slack", "sales", receiver.url))
    lead_id = submit(name="Eve <!channel>", company="Acme & Co", subject="Hi\nthere <http://evil.example|click>")
    [got] = receiver.received
    assert got.headers["Content-Type"] == "application/json"
    assert json.loads(got.body) == {"text": (
        "New lead from Eve &lt;!channel&gt; (Acme &amp; Co): Hi there &lt;http://evil.example|click&gt; "
        f"<https://leads.example.com/admin/leads/{lead_id}/|Open the lead>")}
    assert "X-Leads-Signature" not in got.headers  # a Slack URL is its own secret


def test_a_status_change_is_one_event_with_the_statuses_before_and_after(settings, receiver):
    configure(settings, ("json", "crm", receiver.url), ("slack", "sales", receiver.url))
    lead_id = submit()
    receiver.received.clear()
    services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status="contacted")
    services.lead_update(lead_id=lead_id, expected_version=2, actor="boss@example.com", notes="no status change")
    assert len(receiver.received) == 2
    document = json.loads(next(got.body for got in receiver.received if "X-Leads-Signature" in got.headers))
    assert (document["id"], document["type"]) == (f"{lead_id}-v2", "lead.status_changed")
    assert (document["lead"]["previous_status"], document["lead"]["status"]) == ("new", "contacted")
    slack = json.loads(next(got.body for got in receiver.received if "X-Leads-Signature" not in got.headers))
    assert slack["text"].startswith("Lead from Ann Visitor (Acme) moved from New to Contacted: A quote")


def test_a_bulk_status_change_sends_one_event_per_lead(settings, receiver):
    configure(settings, ("json", "crm", receiver.url))
    ids = [submit(), submit()]
    receiver.received.clear()
    services.lead_bulk_set_status(lead_ids=ids, status="lost", actor="boss@example.com")
    assert sorted(json.loads(got.body)["id"] for got in receiver.received) == sorted(f"{i}-v2" for i in ids)


# --- Failures never touch the lead or the page ------------------------------------------------------

def post_contact_form():
    browser = Client()
    token = re.search(r'name="token" value="([^"]+)"', browser.get("/").content.decode()).group(1)
    started = time.monotonic()
    response = browser.post("/", {"token": token, "name": "Ann", "email": "ann@acme.example", "company": "",
                                  "subject": "Hi", "message": "Hello"})
    return response, tokens.lead_id_from_token(token), time.monotonic() - started


@pytest.mark.parametrize("failure, reason, tries", [
    ("500", "HTTP 500", 2),
    ("timeout", "timeout", 2),
    ("refused", "connection refused", 2),
    ("dns", "DNS failure", 2),
    ("404", "HTTP 404", 1),  # the receiver refused the request itself: no retry
    ("redirect", "HTTP 302", 1),  # never followed
])
def test_a_failing_webhook_never_affects_the_lead_or_the_page(settings, receiver, monkeypatch, failure, reason, tries):
    url = receiver.url
    if failure == "refused":
        url = refused_url()
    elif failure == "dns":
        url = "http://webhook.invalid/hook"
        resolve = socket.getaddrinfo

        def no_such_name(host, *args, **kwargs):
            if host == "webhook.invalid":
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return resolve(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    else:
        receiver.answers = [{"500": 500, "timeout": ("sleep", 1.0), "404": 404, "redirect": 302}[failure]]
    configure(settings, ("json", "crm", url), timeout=0.3, budget=3.0)
    response, lead_id, took = post_contact_form()
    assert response.status_code == 302 and response["Location"] == "/thanks/"
    assert took < 3.0 + 1.0, "the visitor's page waited longer than the webhooks' budget"
    lead = Lead.get(lead_id, consistent_read=True)
    assert (lead.status, lead.version) == ("new", 1)
    [dead] = failures()
    assert (dead.webhook, dead.lead, dead.event, dead.error, dead.attempts) == ("crm", lead_id, "lead.created", reason, tries)
    assert "ann" not in json.dumps(dead.attribute_values, default=str).lower()  # no personal data
    if failure not in ("refused", "dns"):
        assert len(receiver.received) == tries
        assert all(got.path == "/hook" for got in receiver.received)  # the redirect was not followed


def test_a_failing_status_change_webhook_still_saves_the_edit(settings, admin_client):
    configure(settings, ("json", "crm", refused_url()))
    lead_id = submit()
    response = admin_client.post(f"/admin/leads/{lead_id}/", {"status": "qualified", "notes": "", "owner": "", "version": 1})
    assert response.status_code == 302
    assert Lead.get(lead_id, consistent_read=True).status == "qualified"
    assert {failure.event for failure in failures()} == {"lead.created", "lead.status_changed"}


def test_a_retry_that_succeeds_leaves_no_dead_letter(settings, receiver):
    receiver.answers = [503, 200]
    configure(settings, ("json", "crm", receiver.url))
    lead_id = submit()
    assert len(receiver.received) == 2 and failures() == []
    # Both tries carry the same event id (receivers dedupe by it), each signed afresh.
    assert {got.headers["X-Leads-Event-Id"] for got in receiver.received} == {f"{lead_id}-v1"}


def test_one_time_budget_bounds_every_webhook_of_a_request(settings, receiver):
    receiver.answers = [("sleep", 1.0)]
    configure(settings, ("json", "one", receiver.url), ("json", "two", receiver.url), timeout=0.4, budget=0.4)
    started = time.monotonic()
    submit()
    assert time.monotonic() - started < 0.4 + 0.6
    by_name = {failure.webhook: failure for failure in failures()}
    assert (by_name["one"].error, by_name["one"].attempts) == ("timeout", 1)
    assert (by_name["two"].error, by_name["two"].attempts) == (webhooks.NOT_TRIED, 0)


# --- Exactly once per event and webhook -------------------------------------------------------------

def test_delivering_an_event_again_posts_nothing_twice(settings, receiver):
    configure(settings, ("json", "crm", receiver.url), ("slack", "sales", receiver.url))
    lead_id = submit()
    event = webhooks.lead_created(Lead.get(lead_id, consistent_read=True))
    assert services.webhooks_deliver(event=event, deadline=time.monotonic() + 5, attempts=2, pause=0) == {}
    assert len(receiver.received) == 2
    assert DeliveryMarker.get(f"webhook#{lead_id}-v1#crm", consistent_read=True).expires_at is not None


def test_no_webhook_configured_sends_nothing_and_reads_nothing(settings, receiver):
    settings.LEADS_WEBHOOKS = []
    submit()
    assert receiver.received == [] and failures() == []


# --- The admins' "Try again" -----------------------------------------------------------------------

def test_try_again_sends_the_same_event_once_the_receiver_is_back(settings, receiver):
    receiver.answers = [500, 500, 200]
    configure(settings, ("json", "crm", receiver.url))
    lead_id = submit()
    [dead] = failures()
    assert services.webhook_retry(failure_id=dead.failure_id) == "delivered"
    assert failures() == []
    assert json.loads(receiver.received[-1].body)["id"] == f"{lead_id}-v1"
    assert readme_verifier()(SECRET.encode(), receiver.received[-1].headers, receiver.received[-1].body)


def test_try_again_that_fails_keeps_it_and_counts_the_try(settings, receiver):
    receiver.answers = [500]
    configure(settings, ("json", "crm", receiver.url))
    submit()
    [dead] = failures()
    assert services.webhook_retry(failure_id=dead.failure_id) == "failed"
    [again] = failures()
    assert (again.attempts, again.error) == (3, "HTTP 500")


def test_try_again_for_a_deleted_lead_or_a_removed_webhook_drops_it(settings, receiver):
    configure(settings, ("json", "crm", refused_url()))
    lead_id = submit()
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    [dead] = failures()
    assert services.webhook_retry(failure_id=dead.failure_id) == "dropped"
    assert failures() == []


def test_dead_letters_expire_and_are_listed_newest_first(settings):
    configure(settings, ("json", "crm", refused_url()))
    first = submit()
    second = submit(name="Bob")
    listed = selectors.webhook_failures()
    assert {failure.lead for failure in listed} == {first, second}
    assert [f.occurred_at for f in listed] == sorted((f.occurred_at for f in listed), reverse=True)


def test_slack_text_is_in_the_sites_language_and_has_no_link_without_an_address(settings, receiver):
    configure(settings, ("slack", "sales", receiver.url))
    settings.LANGUAGE_CODE = "de"
    settings.LEADS_WEBHOOK_LEAD_URL = ""
    lead_id = submit()
    services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status="qualified")
    assert [json.loads(got.body)["text"] for got in receiver.received] == [
        "Neuer Lead von Ann Visitor (Acme): A quote",
        "Lead von Ann Visitor (Acme) von Neu auf Qualifiziert gesetzt: A quote"]


def test_a_bulk_change_shares_one_time_budget(settings, receiver):
    ids = [submit(), submit(), submit()]
    receiver.answers = [("sleep", 1.0)]
    configure(settings, ("json", "crm", receiver.url), timeout=0.3, budget=0.5)
    started = time.monotonic()
    result = services.lead_bulk_set_status(lead_ids=ids, status="lost", actor="boss@example.com")
    assert time.monotonic() - started < 0.5 + 1.0
    assert sorted(result.done) == sorted(ids)  # every change saved
    errors = sorted(failure.error for failure in failures())
    assert len(errors) == 3 and errors.count(webhooks.NOT_TRIED) >= 1
