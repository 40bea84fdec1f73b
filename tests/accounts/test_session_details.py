"""What a signed-in session records for "Where you're signed in": summaries only, and few writes."""
import json
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory

from leads.accounts import clients
from leads.accounts.sessions import SessionStore
from leads.domain import services
from leads.storage import internals
from leads.storage.models import Staff, StaffSession, utcnow
from tests.helpers import PASSWORD

CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.mark.parametrize("user_agent, summary", [
    (CHROME_LINUX, "Chrome on Linux"),
    (SAFARI_IPHONE, "Safari on iPhone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
     "Safari/605.1.15", "Safari on macOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
     "Safari/537.36", "Chrome on Android"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
     "Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/131.0 "
     "Mobile/15E148 Safari/605.1.15", "Firefox on iPad"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36", "Chrome on ChromeOS"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 "
     "Safari/537.36", "Chrome on Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 OPR/115.0.0.0", "Opera on Windows"),
    ("curl/8.5.0", "Unknown browser"),
    ("", "Unknown browser"),
    ("Mozilla/5.0 (X11; Linux x86_64)", "A browser on Linux"),
    ("x" * 100_000, "Unknown browser"),
])
def test_browser_summaries(user_agent, summary):
    assert clients.browser_summary(user_agent) == summary


@pytest.mark.parametrize("address, hint", [
    ("203.0.113.77", "203.0.113.x"),
    ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
    ("::ffff:198.51.100.7", "198.51.100.x"),
    ("", "Unknown"),
    ("not an address", "Unknown"),
])
def test_location_is_the_network_never_the_address(address, hint):
    assert clients.network_hint(address) == hint


def test_cloudfront_location_only_when_configured(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.77", HTTP_CLOUDFRONT_VIEWER_COUNTRY="DE",
                                   HTTP_CLOUDFRONT_VIEWER_CITY="Berlin")
    settings.LEADS_CLOUDFRONT_LOCATION = False
    assert clients.location_hint(request) == "203.0.113.x"  # anyone can send these headers
    settings.LEADS_CLOUDFRONT_LOCATION = True
    assert clients.location_hint(request) == "Berlin, DE"
    only_country = RequestFactory().get("/", REMOTE_ADDR="203.0.113.77", HTTP_CLOUDFRONT_VIEWER_COUNTRY="FR")
    assert clients.location_hint(only_country) == "FR"
    none = RequestFactory().get("/", REMOTE_ADDR="203.0.113.77")
    assert clients.location_hint(none) == "203.0.113.x"


def sign_in(email="ann@example.com", **headers):
    client = Client(**headers)
    response = client.post("/admin/login/", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def session_key(client) -> str:
    return client.cookies["leads_session"].value


def raw_item(key: str) -> dict:
    return internals.table_connection(StaffSession).get_item(key, consistent_read=True)["Item"]


@pytest.fixture
def ann():
    return services.staff_create(email="ann@example.com", password=PASSWORD, name="Ann")


def test_sign_in_records_summaries_and_never_the_address_or_user_agent(ann):
    before = utcnow()
    client = sign_in(REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT=CHROME_LINUX)
    key = session_key(client)
    item = StaffSession.get(key)
    assert (item.browser, item.location) == ("Chrome on Linux", "203.0.113.x")
    assert before <= item.started_at == item.last_seen_at <= utcnow()
    stored = json.dumps(raw_item(key)) + json.dumps(
        internals.table_connection(Staff).get_item("ann@example.com", consistent_read=True)["Item"])
    for raw in ("203.0.113.77", "Mozilla", "AppleWebKit", "X11; Linux x86_64"):
        assert raw not in stored
    # Nor does the session's data (Django's encoded dict).
    assert "203.0.113.77" not in repr(SessionStore(key).decode(item.data))


def test_sign_in_stamps_last_login_with_the_session_start(ann):
    assert Staff.get("ann@example.com").last_login is None
    client = sign_in()
    assert Staff.get("ann@example.com").last_login == StaffSession.get(session_key(client)).started_at


def test_pages_do_not_write_the_last_activity_within_the_interval(ann, settings):
    settings.LEADS_SESSION_ACTIVITY_INTERVAL = 300
    client = sign_in()
    key = session_key(client)
    seen = StaffSession.get(key).last_seen_at
    for _ in range(3):
        assert client.get("/admin/leads/").status_code == 200
    assert StaffSession.get(key).last_seen_at == seen


def test_the_last_activity_is_refreshed_once_the_interval_has_passed(ann, settings):
    settings.LEADS_SESSION_ACTIVITY_INTERVAL = 300
    client = sign_in()
    key = session_key(client)
    item = StaffSession.get(key)
    long_ago = utcnow() - timedelta(minutes=6)
    item.update(actions=[StaffSession.last_seen_at.set(long_ago)])
    assert client.get("/admin/leads/").status_code == 200
    refreshed = StaffSession.get(key)
    assert refreshed.last_seen_at > long_ago + timedelta(minutes=5)
    assert (refreshed.started_at, refreshed.browser, refreshed.data) == (item.started_at, item.browser, item.data)


def test_a_later_save_of_the_session_keeps_what_it_recorded(ann):
    client = sign_in(REMOTE_ADDR="198.51.100.9", HTTP_USER_AGENT=SAFARI_IPHONE)
    key = session_key(client)
    before = StaffSession.get(key)
    store = SessionStore(key)
    store["note"] = "something else"
    store.save()
    after = StaffSession.get(key)
    assert after.data != before.data
    assert (after.started_at, after.last_seen_at, after.browser, after.location) == \
        (before.started_at, before.last_seen_at, "Safari on iPhone", "198.51.100.x")


def test_a_failing_activity_write_costs_nothing_but_the_record(ann, settings, monkeypatch, caplog):
    from pynamodb.exceptions import UpdateError

    settings.LEADS_SESSION_ACTIVITY_INTERVAL = 0

    def fail(*args, **kwargs):
        raise UpdateError("DynamoDB is having a moment")

    client = sign_in()
    monkeypatch.setattr(StaffSession, "update", fail)
    assert client.get("/admin/leads/").status_code == 200
    assert "Could not record a session's last activity" in caplog.text


def test_anonymous_sessions_record_nothing_about_the_browser():
    store = SessionStore()
    store["anything"] = 1
    store.save()
    item = StaffSession.get(store.session_key)
    assert (item.started_at, item.browser, item.location) == (None, None, None)
