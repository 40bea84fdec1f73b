"""Consent and the privacy notice on the contact form: shown, required when configured, stored as agreed."""
import json
import re
from datetime import datetime, timezone

import pytest
from django.test import Client

from leads.storage.models import Lead
from tests.public.test_contact import form_data

PRIVACY_URL = "https://example.com/privacy?v=2"
TEXT = "I agree that you keep my details to answer me, as the privacy notice says."
VERSION = "2026-12-01"
CORS_ORIGIN = "https://static.example.com"
FIELDS = {"name": "Alan", "email": "Alan@Bletchley.uk", "subject": "Enigma", "message": "Keep every word of this."}


@pytest.fixture
def required(settings):
    settings.LEADS_PRIVACY_URL = PRIVACY_URL
    settings.LEADS_CONSENT_REQUIRED = True
    settings.LEADS_CONSENT_TEXT = TEXT
    settings.LEADS_CONSENT_VERSION = VERSION


def stored(email="grace@navy.mil"):
    """Every lead from this address, whole (the email index projects only the inbox's columns)."""
    return [Lead.get(lead.lead_id) for lead in Lead.email_index.query(email)]


def post_json(body, **headers):
    return Client(enforce_csrf_checks=True).post(
        "/", json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json",
        HTTP_ORIGIN=CORS_ORIGIN, **headers,
    )


# --- What the form shows -------------------------------------------------------------------------

def test_by_default_there_is_no_checkbox_and_no_privacy_link(client):
    html = client.get("/").content.decode()
    assert 'name="consent"' not in html
    assert "privacy notice" not in html.lower()


def test_a_privacy_url_alone_shows_the_link_and_an_optional_checkbox(client, settings):
    settings.LEADS_PRIVACY_URL = "/privacy/"
    html = client.get("/").content.decode()
    assert '<a href="/privacy/"' in html and "privacy notice" in html
    checkbox = re.search(r'<input type="checkbox" name="consent"[^>]*>', html).group(0)
    assert "required" not in checkbox
    assert 'for="id_consent"' in html
    assert "I agree that you store my details to answer this enquiry" in html  # the default text


def test_required_consent_shows_the_configured_text_and_link(client, required):
    html = client.get("/").content.decode()
    assert TEXT in html
    assert 'href="https://example.com/privacy?v=2"' in html
    checkbox = re.search(r'<input type="checkbox" name="consent"[^>]*>', html).group(0)
    assert "checked" not in checkbox
    assert "<script" not in html


def test_the_text_is_escaped(client, settings):
    settings.LEADS_CONSENT_REQUIRED = True
    settings.LEADS_CONSENT_TEXT = "I agree <b>bold</b>"
    html = client.get("/").content.decode()
    assert "I agree &lt;b&gt;bold&lt;/b&gt;" in html


# --- HTML posts ----------------------------------------------------------------------------------

def test_required_and_not_ticked_is_a_form_error_with_the_text_kept_and_nothing_stored(client, required):
    response = client.post("/", form_data(client, message="Every word I typed stays here."))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please tick this box: we can only answer if you agree." in html
    assert "Every word I typed stays here." in html and 'value="Grace Hopper"' in html
    assert stored() == []


def test_required_and_ticked_stores_what_was_agreed_and_when(client, required):
    before = datetime.now(timezone.utc)
    response = client.post("/", form_data(client, consent="on"))
    assert response.status_code == 302 and response["Location"] == "/thanks/"
    [lead] = stored()
    assert (lead.consent_text, lead.consent_version) == (TEXT, VERSION)
    assert before <= lead.consent_at <= datetime.now(timezone.utc)
    assert lead.consent_at == lead.created_at


def test_a_ticked_box_is_kept_ticked_when_another_field_has_an_error(client, required):
    html = client.post("/", form_data(client, consent="on", email="nope")).content.decode()
    checkbox = re.search(r'<input type="checkbox" name="consent"[^>]*>', html).group(0)
    assert "checked" in checkbox
    assert stored("nope") == []


def test_optional_and_not_ticked_stores_the_lead_without_consent(client, settings):
    settings.LEADS_PRIVACY_URL = "/privacy/"
    assert client.post("/", form_data(client)).status_code == 302
    [lead] = stored()
    assert (lead.consent_text, lead.consent_version, lead.consent_at) == (None, None, None)


def test_optional_and_ticked_stores_the_consent(client, settings):
    settings.LEADS_PRIVACY_URL = "/privacy/"
    settings.LEADS_CONSENT_VERSION = "7"
    assert client.post("/", form_data(client, consent="on")).status_code == 302
    [lead] = stored()
    assert lead.consent_version == "7" and lead.consent_at is not None
    assert lead.consent_text.startswith("I agree that you store my details")


def test_without_a_checkbox_a_posted_consent_records_nothing(client):
    assert client.post("/", form_data(client, consent="on")).status_code == 302
    [lead] = stored()
    assert lead.consent_at is None


@pytest.mark.parametrize("value", ["0", "false", "off", "no", ""])
def test_a_box_posted_with_a_negative_value_is_not_consent(client, required, value):
    response = client.post("/", form_data(client, consent=value))
    assert response.status_code == 200
    assert stored() == []


# --- JSON clients --------------------------------------------------------------------------------

def test_json_without_consent_when_required_is_a_400_with_a_consent_error(required):
    response = post_json(FIELDS)
    assert response.status_code == 400
    assert response.json() == {"errors": {"consent": [
        {"message": "Please tick this box: we can only answer if you agree.", "code": "required"}]}}
    assert stored("alan@bletchley.uk") == []


@pytest.mark.parametrize("value", [True, "on", "1", "true"])
def test_json_consent_is_stored(required, value):
    response = post_json({**FIELDS, "consent": value})
    assert response.status_code == 201, response.content
    lead = Lead.get(response.json()["id"])
    assert (lead.consent_text, lead.consent_version) == (TEXT, VERSION)
    assert lead.consent_at == lead.created_at


@pytest.mark.parametrize("value", [False, "0", "false"])
def test_json_consent_false_is_refused_when_required(required, value):
    response = post_json({**FIELDS, "consent": value})
    assert response.status_code == 400
    assert response.json()["errors"]["consent"][0]["code"] == "required"


def test_json_consent_that_is_neither_yes_nor_no_is_a_400(required):
    response = post_json({**FIELDS, "consent": "maybe"})
    assert response.status_code == 400
    assert response.json()["errors"]["consent"][0]["code"] == "invalid"
    assert stored("alan@bletchley.uk") == []


def test_json_consent_of_another_type_is_a_400(required):
    response = post_json({**FIELDS, "consent": 1})
    assert response.status_code == 400
    assert response.json()["errors"]["__all__"][0]["message"] == "consent must be true or false."


def test_form_encoded_json_clients_send_consent_too(required):
    response = Client().post("/", {**FIELDS, "consent": "1"}, HTTP_ACCEPT="application/json", HTTP_ORIGIN=CORS_ORIGIN)
    assert response.status_code == 201
    assert Lead.get(response.json()["id"]).consent_version == VERSION


def test_json_optional_consent_missing_stores_the_lead_without_it(settings):
    settings.LEADS_PRIVACY_URL = "/privacy/"
    response = post_json(FIELDS)
    assert response.status_code == 201
    assert Lead.get(response.json()["id"]).consent_at is None
