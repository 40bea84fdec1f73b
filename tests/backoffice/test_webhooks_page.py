"""The admins' Webhooks page (/admin/webhooks/): failed deliveries newest first, and "Try again"."""
import re
from html import unescape

import pytest
from django.test import Client

from leads.domain import services
from leads.public import tokens
from tests.helpers import PASSWORD
from tests.webhook_receiver import Receiver, refused_url

SECRET = "a-webhook-secret-for-tests-only"


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def hooks(settings, url):
    settings.LEADS_WEBHOOKS = [dict(kind="json", name="crm", url=url, secret=SECRET)]
    settings.LEADS_WEBHOOK_TIMEOUT = 0.3


def submit(name="Ann Visitor", email="ann@acme.example"):
    lead_id = tokens.new_lead_id()
    services.lead_submit(lead_id=lead_id, name=name, email=email, company="Acme", subject="A quote", message="Hi")
    return lead_id


def page_text(response) -> str:
    """What a person reads on the page: the text without tags, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def failure_ids(html: str) -> list[str]:
    return re.findall(r'name="failure" value="([^"]+)"', html)


def test_the_page_says_when_nothing_failed(admin_client, settings):
    hooks(settings, refused_url())
    text = page_text(admin_client.get("/admin/webhooks/"))
    assert "No webhook has failed in the last 14 days." in text and "Webhooks configured: crm" in text


def test_admins_see_each_failure_newest_first_without_personal_data(admin_client, settings):
    hooks(settings, refused_url())
    first, second = submit(), submit(name="Bob Other", email="bob@other.example")
    services.lead_update(lead_id=first, expected_version=1, actor="boss@example.com", status="contacted")
    response = admin_client.get("/admin/webhooks/")
    assert response.status_code == 200
    html = response.content.decode()
    text = page_text(response)
    assert "crm Status New → Contacted" in text and text.count("crm New lead") == 2
    assert "connection refused" in text and "crm" in text
    # The lead's link, never its name or address (the page shows what the dead letter keeps).
    assert f"/admin/leads/{first}/" in html and f"/admin/leads/{second}/" in html
    assert "Ann Visitor" not in html and "ann@acme.example" not in html
    events = [failure.split("#")[1] for failure in failure_ids(html)]
    assert events == [f"{first}-v2", f"{second}-v1", f"{first}-v1"]


def test_only_admins_see_it_or_try_again(sales_client, settings):
    hooks(settings, refused_url())
    assert sales_client.get("/admin/webhooks/").status_code == 403
    assert sales_client.post("/admin/webhooks/retry/", {"failure": "x"}).status_code == 403
    anonymous = Client().get("/admin/webhooks/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")


def test_try_again_delivers_and_the_failure_leaves_the_list(admin_client, settings, receiver):
    hooks(settings, receiver.url)
    receiver.answers = [500, 500, 204]
    lead_id = submit()
    [failure] = failure_ids(admin_client.get("/admin/webhooks/").content.decode())
    response = admin_client.post("/admin/webhooks/retry/", {"failure": failure}, follow=True)
    assert "Sent. The webhook has it now." in page_text(response)
    assert failure_ids(response.content.decode()) == []
    assert receiver.received[-1].headers["X-Leads-Event-Id"] == f"{lead_id}-v1"


def test_try_again_that_fails_again_says_so_and_keeps_it(admin_client, settings):
    hooks(settings, refused_url())
    submit()
    [failure] = failure_ids(admin_client.get("/admin/webhooks/").content.decode())
    response = admin_client.post("/admin/webhooks/retry/", {"failure": failure}, follow=True)
    assert "It failed again; it stays on this list." in page_text(response)
    assert failure_ids(response.content.decode()) == [failure]
    assert "connection refused" in page_text(response)


@pytest.mark.parametrize("failure", ["", "not-a-failure", "2026-11-01T00:00:00.000000Z#" + "0" * 32 + "-v1#crm"])
def test_try_again_for_no_such_failure_is_a_message_not_an_error(admin_client, settings, failure):
    hooks(settings, refused_url())
    response = admin_client.post("/admin/webhooks/retry/", {"failure": failure}, follow=True)
    assert response.status_code == 200
    assert "That failed webhook is no longer there." in page_text(response)


def test_try_again_needs_the_csrf_token(settings):
    hooks(settings, refused_url())
    services.staff_create(email="csrf@example.com", password=PASSWORD, role="admin")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    browser.post("/admin/login/", {"email": "csrf@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert browser.post("/admin/webhooks/retry/", {"failure": "x"}).status_code == 403
