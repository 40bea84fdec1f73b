"""Follow-ups in real Chromium: set a date on a lead, find it under Due today, then Overdue, then clear it."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin_flow import ADA, LEAD_URL, sign_in, submit_lead

pytestmark = pytest.mark.browser


def menu(page: Page, name: str) -> None:
    """Follow a link of the staff menu."""
    page.get_by_role("navigation", name="Staff").get_by_role("link", name=name, exact=True).click()


def test_a_follow_up_set_on_the_lead_page_shows_under_due_today_then_overdue(page: Page, admin, browser_errors):
    submit_lead(page, **ADA)
    page.goto("/admin/leads/")
    sign_in(page, email=admin.email, password=admin.password)
    page.get_by_role("link", name=ADA["name"], exact=True).click()
    expect(page).to_have_url(LEAD_URL)
    lead_url = page.url
    # Theirs to follow up: the lists show one's own by default.
    page.get_by_label("Owner").select_option(admin.email)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    # A time without a date is a form error, and nothing is set.
    page.get_by_label("Time", exact=True).fill("09:30")
    page.get_by_role("button", name="Set follow-up").click()
    expect(page.get_by_text("Give a date for this time, or leave the time empty.")).to_be_visible()

    today = datetime.now(timezone.utc).date()  # the admin has no zone of their own: UTC
    page.get_by_label("Follow up on").fill(today.isoformat())
    page.get_by_label("Time", exact=True).fill("")
    page.get_by_role("button", name="Set follow-up").click()
    expect(page.get_by_text("Follow-up set.")).to_be_visible()
    expect(page.get_by_text(f"Due on {today.isoformat()}.")).to_be_visible()

    menu(page, "Due today")
    expect(page.get_by_role("heading", level=1)).to_have_text("Due today")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name=ADA["name"], exact=True)).to_be_visible()
    menu(page, "Overdue")
    expect(page.get_by_text("Nothing is overdue.")).to_be_visible()

    page.goto(lead_url)
    page.get_by_label("Follow up on").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Time", exact=True).fill("16:45")
    page.get_by_role("button", name="Set follow-up").click()
    expect(page.get_by_text(re.compile(r"Due at \d{4}-\d\d-\d\d 16:45 UTC\."))).to_be_visible()
    menu(page, "Overdue")
    page.get_by_role("link", name=ADA["name"], exact=True).click()
    expect(page).to_have_url(lead_url)

    page.get_by_role("button", name="Clear follow-up").click()
    expect(page.get_by_text("Follow-up cleared.")).to_be_visible()
    expect(page.get_by_text("No follow-up set.")).to_be_visible()
    menu(page, "Overdue")
    expect(page.get_by_text("Nothing is overdue.")).to_be_visible()
    assert browser_errors == []
