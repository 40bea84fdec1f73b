"""JSON mode: static sites post the same form and get JSON back; CORS only for listed origins."""
import json

import pytest
from django.test import Client

from leads.storage.models import Lead

ALLOWED = "https://static.example.com"
FIELDS = {"name": "Alan", "email": "Alan@Bletchley.uk", "subject": "Enigma", "message": "Shall we?"}


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def post_json(browser, body, origin=ALLOWED, **headers):
    return browser.post(
        "/",
        body if isinstance(body, (str, bytes)) else json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
        HTTP_ORIGIN=origin,
        **headers,
    )


def test_valid_json_post_from_allowed_origin_answers_201_with_the_id(browser):
    response = post_json(browser, FIELDS)
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    lead = Lead.get(response.json()["id"])
    assert (lead.email, lead.source) == ("alan@bletchley.uk", "api")


def test_invalid_json_post_answers_400_with_field_errors(browser):
    response = post_json(browser, {**FIELDS, "email": "nope", "message": ""})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["email"][0] == {"message": "Enter a valid email address.", "code": "invalid"}
    assert errors["message"][0]["code"] == "required"


@pytest.mark.parametrize(
    "body, expected",
    [("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object"), (json.dumps({**FIELDS, "name": 7}), "must be strings: name")],
)
def test_malformed_json_answers_400_with_a_readable_error(browser, body, expected):
    response = post_json(browser, body)
    assert response.status_code == 400
    assert expected in response.json()["errors"]["__all__"][0]["message"]


def test_idempotency_key_stores_one_lead_for_repeated_posts(browser):
    first = post_json(browser, FIELDS, HTTP_IDEMPOTENCY_KEY="abc-123")
    second = post_json(browser, FIELDS, HTTP_IDEMPOTENCY_KEY="abc-123")
    assert first.json()["id"] == second.json()["id"]
    assert (first.json()["created"], second.json()["created"]) == (True, False)
    assert len(list(Lead.email_index.query("alan@bletchley.uk"))) == 1


def test_form_encoded_post_asking_for_json_works_too(browser):
    response = browser.post("/", FIELDS, HTTP_ACCEPT="application/json", HTTP_ORIGIN=ALLOWED)
    assert response.status_code == 201


def test_post_from_an_unlisted_origin_is_refused(browser):
    response = post_json(browser, FIELDS, origin="https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert list(Lead.email_index.query("alan@bletchley.uk")) == []


def test_preflight_allows_only_listed_origins(browser):
    ok = browser.options("/", HTTP_ORIGIN=ALLOWED, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                         HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")
    assert ok["Access-Control-Allow-Origin"] == ALLOWED
    evil = browser.options("/", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in evil


def test_honeypot_in_json_mode_looks_like_success_but_stores_nothing(browser):
    response = post_json(browser, {**FIELDS, "website": "spam"})
    assert response.status_code == 201
    with pytest.raises(Lead.DoesNotExist):
        Lead.get(response.json()["id"])


def test_rate_limit_in_json_mode_answers_429(browser, settings):
    settings.LEADS_RATELIMIT_COUNT = 1
    assert post_json(browser, FIELDS).status_code == 201
    response = post_json(browser, FIELDS)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many messages" in response.json()["error"]
