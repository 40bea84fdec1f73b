"""LEADS_WEBHOOKS (README "Webhooks"): a clear list of kind|name|url[|SECRET_ENV]; anything unclear stops start-up."""
import json

import pytest

from tests.leadsite.test_settings import manage

pytestmark = [
    pytest.mark.integration,  # fresh interpreters, no moto
    pytest.mark.backend("moto", reason="reads settings in fresh interpreters; no DynamoDB involved"),
]
BASE = dict(SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws")
SHOW = "from django.conf import settings; import json; print(json.dumps(settings.LEADS_WEBHOOKS))"


def test_entries_are_parsed_and_the_secret_is_read_from_the_variable_named():
    result = manage("shell", "-c", SHOW, **BASE, CRM_SECRET="s" * 20, LEADS_WEBHOOKS=(
        "slack|sales|https://hooks.slack.example/services/T/B/X, json|crm|http://127.0.0.1:9/hook|CRM_SECRET"))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        {"kind": "slack", "name": "sales", "url": "https://hooks.slack.example/services/T/B/X", "secret": None},
        {"kind": "json", "name": "crm", "url": "http://127.0.0.1:9/hook", "secret": "s" * 20}], result.stderr


@pytest.mark.parametrize("entries, env, error", [
    ("email|x|https://a.example/", {}, "Each LEADS_WEBHOOKS entry is"),
    ("slack|Sales Team|https://a.example/", {}, "must be a unique name"),
    ("slack|a|https://a.example/,slack|a|https://b.example/", {}, "must be a unique name"),
    ("slack|a|file:///etc/passwd", {}, "must be an http(s) URL"),
    ("slack|a|https://", {}, "must be an http(s) URL"),
    ("json|crm|https://a.example/", {}, "needs the name of its secret's variable"),
    ("json|crm|https://a.example/|CRM_SECRET", {}, "must hold 16+ characters"),
    ("json|crm|https://a.example/|CRM_SECRET", {"CRM_SECRET": "short"}, "must hold 16+ characters"),
    ("slack|a|https://a.example/|CRM_SECRET", {}, "takes no secret"),
])
def test_an_unclear_entry_stops_start_up(entries, env, error):
    result = manage("check", **BASE, LEADS_WEBHOOKS=entries, **env)
    assert result.returncode != 0 and error in result.stderr, result.stderr[-500:]


def test_the_lead_link_must_be_a_web_address_with_the_lead_id():
    result = manage("check", **BASE, LEADS_WEBHOOK_LEAD_URL="https://leads.example.com/admin/leads/")
    assert result.returncode != 0 and "must be an http(s) URL holding {lead_id}" in result.stderr
