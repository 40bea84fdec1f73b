"""One lead: every field, editing with version checks, the timeline."""
import re
from datetime import datetime, timezone

import pytest

from leads.domain import selectors, services
from leads.public import tokens
from leads.storage.models import Lead
from tests.helpers import day_count, make_lead, status_count


def edit(client, lead_id, version, **fields):
    data = {"status": "new", "notes": "", "owner": "", "version": version, **fields}
    return client.post(f"/admin/leads/{lead_id}/", data)


def test_shows_every_field(sales_client):
    lead_id = make_lead("ann@acme.com", name="Ann Example", subject="Pricing", message="Line one\nLine two",
                        company="Acme Ltd")
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    for text in ["Ann Example", "ann@acme.com", "Pricing", "Line one\nLine two", "Acme Ltd", lead_id]:
        assert text in html


def test_saving_status_notes_and_owner_updates_the_lead_counters_and_history(sales_client):
    lead_id = make_lead()
    response = edit(sales_client, lead_id, 1, status="contacted", notes="Called, will buy", owner="sam@example.com")
    assert response.status_code == 302
    page = sales_client.get(response["Location"]).content.decode()
    assert "Saved." in page
    lead = Lead.get(lead_id)
    assert (lead.status, lead.owner, lead.version) == ("contacted", "sam@example.com", 2)
    assert lead.notes is None  # the edit form's `notes` became a note in the timeline
    assert (status_count("new"), status_count("contacted")) == (0, 1)
    history = page[page.index('id="timeline"'):]
    assert "Sam</strong> changed" in history
    assert "status: “new” → “contacted”" in history
    assert "<strong>Sam</strong> added a note" in history and "Called, will buy" in history
    assert history.index("changed") < history.index("created")  # newest first


def test_saving_without_changes_writes_nothing(sales_client):
    lead_id = make_lead()
    response = edit(sales_client, lead_id, 1)
    assert "No changes to save." in sales_client.get(response["Location"]).content.decode()
    assert Lead.get(lead_id).version == 1


def test_a_conflicting_save_overwrites_nothing_and_shows_what_changed(sales_client, admin_client):
    lead_id = make_lead()
    # Both open the lead at version 1; the admin saves first.
    assert edit(admin_client, lead_id, 1, status="qualified", notes="Boss's note").status_code == 302
    response = edit(sales_client, lead_id, 1, status="lost", notes="My careful note")
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else saved this lead while you were editing. Nothing was overwritten" in html
    assert "boss@example.com" in html and "“new” → “qualified”" in html
    assert "My careful note" in html  # the form keeps what this person typed
    assert re.search(r'<option value="lost" selected>', html)
    assert 'name="version" value="2"' in html  # saving again is a deliberate overwrite
    lead = Lead.get(lead_id)
    assert lead.status == "qualified"
    assert [e.text for e in selectors.lead_history(lead_id=lead_id) if e.action == "note"] == ["Boss's note"]
    assert edit(sales_client, lead_id, 2, status="lost", notes="My careful note").status_code == 302
    assert Lead.get(lead_id).status == "lost"
    assert (status_count("qualified"), status_count("lost")) == (0, 1)


def test_race_between_read_and_write_is_caught_by_the_version_condition(sales_client, monkeypatch):
    lead_id = make_lead()
    real_get = selectors.lead_get

    def stale_get(**kwargs):
        lead = real_get(**kwargs)
        monkeypatch.setattr(selectors, "lead_get", real_get)  # only the page's own read is raced
        services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status="converted")
        return lead  # still version 1: the write must fail on DynamoDB's condition

    monkeypatch.setattr(selectors, "lead_get", stale_get)
    response = edit(sales_client, lead_id, 1, status="lost")
    assert response.status_code == 409
    assert Lead.get(lead_id).status == "converted"
    assert status_count("lost") == 0 and status_count("converted") == 1


def test_invalid_status_is_a_form_error(sales_client):
    lead_id = make_lead()
    response = edit(sales_client, lead_id, 1, status="bogus")
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()


def test_owner_must_be_a_staff_member(sales_client):
    lead_id = make_lead()
    response = edit(sales_client, lead_id, 1, owner="stranger@example.com")
    assert "Select a valid choice." in response.content.decode()


@pytest.mark.security(hole=6, title="The lead page's mailto: link is not URL-encoded")
@pytest.mark.parametrize("email", ["x?cc=evil%40x.y&subject=hi&body=hi@b.co", "a@b.c?cc=evil@x.y&body=hi"])
def test_mailto_link_addresses_exactly_the_visitor(sales_client, email):
    from html import unescape
    from urllib.parse import unquote, urlsplit

    from leads.public.forms import ContactForm

    if email.endswith("@b.co"):  # the contact form itself accepts this one: "?", "&", "=" and "%" are valid
        assert ContactForm.base_fields["email"].clean(email) == email
    lead_id = make_lead(email)
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    [href] = re.findall(r'href="(mailto:[^"]*)"', html)
    link = urlsplit(unescape(href))
    assert link.scheme == "mailto" and link.query == "" and link.fragment == ""
    assert unquote(link.path) == email


def test_shows_the_consent_the_visitor_gave(sales_client):
    lead_id = tokens.new_lead_id()
    services.lead_submit(lead_id=lead_id, name="Ann", email="ann@acme.com", subject="Hi", message="Hello",
                         consent_text="I agree to <the notice>.", consent_version="2026-12-01",
                         now=datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc))
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    assert "<dt>Consent</dt><dd>Agreed to notice version 2026-12-01 on 2026-11-03 09:30 UTC" in html
    assert "I agree to &lt;the notice&gt;." in html
    assert "No consent recorded" not in html


def test_says_when_no_consent_was_recorded(sales_client):
    html = sales_client.get(f"/admin/leads/{make_lead()}/").content.decode()
    assert "<dt>Consent</dt><dd>No consent recorded</dd>" in html


# --- Time to first response (leads.domain.response_time) ---------------------------------------------

def test_a_waiting_lead_says_how_long_it_has_waited(sales_client):
    from datetime import timedelta

    from leads.storage.models import utcnow

    lead_id = make_lead(when=utcnow() - timedelta(hours=5, seconds=10))
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    assert re.search(r'<dd id="response-time">Waiting 5 h</dd>', html)


def test_an_answered_lead_says_after_how_long_and_when_in_the_staff_time_zone(sales_client):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from leads.storage.models import utcnow

    lead_id = make_lead(when=utcnow() - timedelta(hours=3, minutes=12, seconds=5))
    assert edit(sales_client, lead_id, 1, status="contacted").status_code == 302
    sales_client.post("/admin/account/preferences/", {"time_zone": "Asia/Tokyo", "language": ""})
    answered = Lead.get(lead_id).first_response_at
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    local = answered.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f'<dd id="response-time">Answered after 3 h 12 min ({local:%Y-%m-%d %H:%M} JST)</dd>' in html
    # Set once: later changes (even back to New) leave it as it was.
    assert edit(sales_client, lead_id, 2, status="new").status_code == 302
    assert f"Answered after 3 h 12 min ({local:%Y-%m-%d %H:%M} JST)" in sales_client.get(f"/admin/leads/{lead_id}/").content.decode()


def test_a_lead_answered_before_response_times_were_kept_shows_no_response_line(sales_client):
    lead_id = make_lead()
    lead = Lead.get(lead_id)
    lead.update(actions=[Lead.status.set("qualified")])  # as older code left it: answered, with no time recorded
    assert 'id="response-time"' not in sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
