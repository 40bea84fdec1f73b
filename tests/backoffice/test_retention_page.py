"""The lead page with retention on: "Kept until …", "Keep for another N days", expired leads; the calls pages make."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from leads.domain import services
from leads.storage.models import HistoryEvent, Lead
from tests.backoffice.test_request_economy import COUNTERS, ROLLUPS, SESSION, CallLog, dynamodb_calls  # noqa: F401  (fixture)
from tests.helpers import PASSWORD, make_lead, midnight_after, status_count

DAYS = 30


@pytest.fixture
def retained(settings):
    settings.LEADS_RETENTION_DAYS = DAYS
    return DAYS


def label(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def recent_lead(days_ago=3, email="ann@acme.com"):
    """A lead last touched `days_ago` days ago, so keeping it from today moves its expiry."""
    return make_lead(email, when=datetime.now(UTC) - timedelta(days=days_ago))


def extend_form(html: str) -> str:
    match = re.search(r'<form[^>]*action="[^"]*/extend/"[^>]*>.*?</form>', html, re.S)
    assert match, "no extend form on the page"
    return match.group(0)


def test_with_retention_off_the_page_says_nothing_about_it_and_there_is_nothing_to_extend(sales_client, settings):
    settings.LEADS_RETENTION_DAYS = 0
    lead_id = make_lead()
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    assert "Kept until" not in html and "Keep for another" not in html and "/extend/" not in html
    assert sales_client.post(f"/admin/leads/{lead_id}/extend/").status_code == 404
    assert Lead.get(lead_id).version == 1


def test_the_lead_page_says_how_long_the_lead_is_kept_and_offers_to_keep_it_longer(sales_client, retained):
    lead_id = recent_lead()
    lead = Lead.get(lead_id)
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    assert f"Kept until {label(lead.expires_at)}" in html
    form = extend_form(html)
    assert 'method="post"' in form and 'name="csrfmiddlewaretoken"' in form
    assert "Keep for another 30 days" in form


@pytest.mark.parametrize("client_fixture", ["sales_client", "admin_client"])
def test_keep_for_another_n_days_moves_the_expiry_from_today_and_says_so(request, retained, client_fixture):
    client = request.getfixturevalue(client_fixture)
    lead_id = recent_lead()
    before = Lead.get(lead_id).expires_at
    response = client.post(f"/admin/leads/{lead_id}/extend/")
    assert response.status_code == 302 and response["Location"] == f"/admin/leads/{lead_id}/"
    expected = midnight_after(datetime.now(UTC), DAYS)
    lead = Lead.get(lead_id, consistent_read=True)
    assert lead.expires_at == lead.history_expires_at == expected > before
    page = client.get(response["Location"]).content.decode()
    assert f"Kept until {label(expected)}." in page  # the message
    history = page[page.index("History"):]
    assert "extended retention" in history
    assert f"kept until: “{label(before)}” → “{label(expected)}”" in history
    assert all(event.expires_at == expected for event in HistoryEvent.query(lead_id))


def test_keeping_a_lead_touched_today_changes_nothing(sales_client, retained):
    lead_id = make_lead(when=datetime.now(UTC))
    response = sales_client.post(f"/admin/leads/{lead_id}/extend/")
    page = sales_client.get(response["Location"]).content.decode()
    assert "It is already kept until" in page
    assert Lead.get(lead_id).version == 1 and len(list(HistoryEvent.query(lead_id))) == 1


def test_the_extend_button_needs_the_csrf_token(retained):
    services.staff_create(email="sam@example.com", password=PASSWORD, role="sales")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post("/admin/login/", {"email": "sam@example.com", "password": PASSWORD,
                                          "csrfmiddlewaretoken": token}).status_code == 302
    lead_id = recent_lead()
    assert browser.post(f"/admin/leads/{lead_id}/extend/").status_code == 403
    assert Lead.get(lead_id).version == 1
    page = browser.get(f"/admin/leads/{lead_id}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', extend_form(page)).group(1)
    assert browser.post(f"/admin/leads/{lead_id}/extend/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert Lead.get(lead_id).version == 2


def test_extending_a_lead_deleted_meanwhile_is_a_404(admin_client, retained):
    lead_id = recent_lead()
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    assert admin_client.post(f"/admin/leads/{lead_id}/extend/").status_code == 404


def test_extending_never_overwrites_a_concurrent_edit(sales_client, retained, monkeypatch):
    lead_id = recent_lead()
    real_get = services.lead_get

    def raced_get(**kwargs):
        lead = real_get(**kwargs)
        monkeypatch.setattr(services, "lead_get", real_get)
        services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status="qualified")
        return lead

    monkeypatch.setattr(services, "lead_get", raced_get)
    response = sales_client.post(f"/admin/leads/{lead_id}/extend/")
    assert response.status_code == 302
    page = sales_client.get(response["Location"]).content.decode()
    assert "Someone else saved this lead just now" in page
    lead = Lead.get(lead_id)
    assert (lead.status, lead.version) == ("qualified", 2)
    assert status_count("qualified") == 1


# --- Expired, not yet removed ------------------------------------------------------------------------

@pytest.mark.backend("moto", reason="DynamoDB Local runs TTL: an expired lead is gone within seconds")
def test_an_expired_lead_is_still_shown_and_counted_until_dynamodb_removes_it(sales_client, retained):
    lead_id = make_lead("old@example.com", when=datetime(2026, 1, 15, 10, tzinfo=UTC))
    expired_on = Lead.get(lead_id).expires_at
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    assert f"Expired on {label(expired_on)}; DynamoDB removes it shortly." in html
    assert "Keep for another 30 days" in extend_form(html)  # it can still be kept
    inbox = sales_client.get("/admin/leads/").content.decode()
    assert "old@example.com" in inbox and status_count("new") == 1
    response = sales_client.post(f"/admin/leads/{lead_id}/extend/")
    assert "Kept until" in sales_client.get(response["Location"]).content.decode()
    assert Lead.get(lead_id).expires_at > datetime.now(UTC)


# --- Request economy with retention on --------------------------------------------------------------
# (A submission with retention on: test_request_economy.py's contact-post test runs both ways.)

def test_with_retention_on_the_pages_make_the_same_calls(admin_client, dynamodb_calls, retained):
    lead_id = recent_lead()
    response, calls = dynamodb_calls.during(lambda: admin_client.get(f"/admin/leads/{lead_id}/"))
    assert response.status_code == 200
    assert calls == [SESSION, ("GetItem", "leads", None), ("Query", "staff", "roster-index"), ("Query", "history", None)]
    response, calls = dynamodb_calls.during(lambda: admin_client.get("/admin/leads/"))
    assert calls == [SESSION, COUNTERS, ("Query", "leads", "created-index")]
    response, calls = dynamodb_calls.during(lambda: admin_client.get("/admin/"))
    assert calls == [SESSION, ROLLUPS, ROLLUPS]  # the tallies, then the response-time rollups


def test_the_first_edit_of_a_day_carries_the_history_later_edits_cost_what_they_did(admin_client, dynamodb_calls, retained):
    """The documented extra calls: once a day per lead, one Query of its history and one UpdateItem per event."""
    lead_id = recent_lead()
    edit = {"status": "contacted", "owner": "", "notes": "Called", "version": 1}
    response, calls = dynamodb_calls.during(lambda: admin_client.post(f"/admin/leads/{lead_id}/", edit))
    assert response.status_code == 302
    assert calls == [SESSION, ("GetItem", "leads", None), ("Query", "staff", "roster-index"),
                     ("Query", "history", None), ("UpdateItem", "history", None),
                     ("TransactWriteItems", "counters+history+leads", None)]
    response, calls = dynamodb_calls.during(lambda: admin_client.post(
        f"/admin/leads/{lead_id}/", {**edit, "notes": "Called again", "version": 2}))
    # Only a note: the note, its marker and a check that the lead is there (a note never changes the lead).
    assert calls == [SESSION, ("GetItem", "leads", None), ("Query", "staff", "roster-index"),
                     ("TransactWriteItems", "counters+history+leads", None)]
    response, calls = dynamodb_calls.during(lambda: admin_client.post(f"/admin/leads/{lead_id}/extend/"))
    assert calls == [SESSION, ("GetItem", "leads", None)]  # kept from today already: nothing written
