"""The lead page's timeline in real Chromium: a note, a reply whose sending fails, then a Retry that sends it once."""
import email
import email.policy
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin_flow import LEAD_URL, sign_in, submit_lead
from tests.integration.servers import ROOT

pytestmark = pytest.mark.browser

# Every run saves the lead page for inspection; UPDATE_SCREENSHOTS=1 also refreshes the README's copy.
SCREENSHOTS = [ROOT / "test-artifacts" / "admin-lead.png"] + (
    [ROOT / "docs" / "admin-lead.png"] if os.environ.get("UPDATE_SCREENSHOTS") == "1" else [])
VISITOR = dict(name="Nia Visitor", email="Nia@Example.ORG", company="Example Org", subject="Onboarding in March",
               message="Can you help us onboard twelve people in March?")


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    """Where the server's file-based email backend writes; a plain FILE at first, so every send fails."""
    path = tmp_path / "mail"
    path.write_text("not a directory: the mail server is down\n")
    return path


@pytest.fixture
def app_server_env(mail_dir) -> dict:
    return {"EMAIL_URL": f"filemail:///{mail_dir}", "DEFAULT_FROM_EMAIL": "leads@example.com"}


def emails_in(mail_dir: Path) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                found.append(email.message_from_bytes(raw.strip() + b"\n", policy=email.policy.default))
    return found


def test_a_note_and_a_reply_that_fails_then_goes_out_once_on_retry(page: Page, admin, mail_dir, browser_errors):
    submit_lead(page, **VISITOR)
    page.goto("/admin/leads/")
    sign_in(page, email=admin.email, password=admin.password)
    page.get_by_role("link", name="Nia Visitor", exact=True).click()
    expect(page).to_have_url(LEAD_URL)
    history = page.locator("#timeline")

    # An empty note is a form error; a note then shows in the timeline with its author.
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Write the note first.")).to_be_visible()
    page.get_by_label("Note", exact=True).fill("Called Nia: twelve seats,\nstarts 3 March.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("ul.messages")).to_have_text("Note added.")
    expect(history.locator("li").first).to_contain_text("added a note")
    expect(history.locator("li").first).to_contain_text("Called Nia: twelve seats,\nstarts 3 March.")

    # The reply form is prefilled; the mail server is down: the reply is kept, with a Retry button.
    expect(page.get_by_label("Subject", exact=True)).to_have_value("Re: Onboarding in March")
    page.get_by_label("Message", exact=True).fill("Hello Nia,\n\nyes, we can. Here is the plan.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("ul.messages")).to_contain_text("The email could not be sent.")
    expect(history.locator("li").first).to_contain_text("Not sent")
    expect(history.locator("li").first).to_contain_text("yes, we can. Here is the plan.")
    expect(page.locator("p.lead .badge")).to_have_text("New")  # not contacted until it went out

    # The mail server is back: Retry sends it, once; the lead is now contacted.
    mail_dir.unlink()
    mail_dir.mkdir()
    history.get_by_role("button", name="Retry").click()
    expect(page.locator("ul.messages")).to_have_text("Reply sent.")
    expect(page.locator("p.lead .badge")).to_have_text("Contacted")
    reply = history.locator("li").filter(has_text="replied by email")
    expect(reply).to_contain_text("Sent")
    expect(reply.get_by_role("button", name="Retry")).to_have_count(0)
    expect(history).to_contain_text("status: “new” → “contacted”")
    expect(page.locator("#response-time")).to_contain_text("Answered after")  # the reply answered the lead
    for path in SCREENSHOTS:  # the README's picture of a lead's page: details, follow-up, notes and replies
        path.parent.mkdir(exist_ok=True)
        page.screenshot(path=path, full_page=True)
    [sent] = emails_in(mail_dir)
    assert sent["To"] == "nia@example.org" and sent["Reply-To"] == admin.email
    assert sent["Subject"] == "Re: Onboarding in March"
    assert "leads@example.com" in sent["From"]
    assert sent.get_body(preferencelist=("plain",)).get_content().strip() == "Hello Nia,\n\nyes, we can. Here is the plan."
    assert browser_errors == []
