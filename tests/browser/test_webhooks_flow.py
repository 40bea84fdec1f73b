"""A webhook receiver is down when a visitor writes: the visitor is thanked as usual, and an admin sees the failed
webhook on the Webhooks page and sends it again once the receiver is back — all in real Chromium."""
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin_flow import ADA, sign_in, submit_lead
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver():
    """A Slack-compatible receiver on loopback that answers 500 until told otherwise."""
    server = Receiver(answers=[500]).start()
    yield server
    server.stop()


@pytest.fixture
def app_server_env(receiver) -> dict:
    return {"LEADS_WEBHOOKS": f"slack|sales-channel|{receiver.url}", "LEADS_WEBHOOK_TIMEOUT": "1"}


def test_an_admin_sees_a_dead_lettered_webhook_and_sends_it_again(page: Page, admin, receiver, browser_errors):
    submit_lead(page, **ADA)  # the thank-you page, whatever the webhook did
    assert len(receiver.received) == 2  # tried twice, both answered 500
    page.goto("/admin/login/")
    sign_in(page, email=admin.email, password=admin.password)
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Failed webhooks")
    row = page.locator("table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("sales-channel")
    expect(row).to_contain_text("New lead")
    expect(row).to_contain_text("HTTP 500")
    expect(row).not_to_contain_text(ADA["name"])  # the failure keeps no personal data

    receiver.answers = [200]
    row.get_by_role("button", name="Try again").click()
    expect(page.get_by_text("Sent. The webhook has it now.")).to_be_visible()
    expect(page.get_by_text("No webhook has failed in the last 14 days.")).to_be_visible()
    assert re.search(r"New lead from Ada Browser \(Analytical Engines Ltd\): Pricing", receiver.received[-1].body.decode())
    assert browser_errors == []
