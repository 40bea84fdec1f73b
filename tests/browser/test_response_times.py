"""Time to first response in real Chromium: a lead waits, staff answer it, the lead page and the dashboard say so."""
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin_flow import ADA, OTHER_LEADS, open_lead, set_status, sign_in, submit_lead

pytestmark = pytest.mark.browser


def test_a_lead_waits_is_answered_and_the_dashboard_shows_the_week(page: Page, admin, browser_errors):
    submit_lead(page, **ADA)
    submit_lead(page, **OTHER_LEADS[0])
    page.goto("/admin/leads/")
    sign_in(page, email=admin.email, password=admin.password)

    open_lead(page, "Ada Browser")
    expect(page.locator("#response-time")).to_have_text("Waiting under a minute")
    set_status(page, "Contacted")
    expect(page.locator("#response-time")).to_have_text(
        re.compile(r"^Answered after under a minute \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)$"))

    page.goto("/admin/")
    section = page.locator("#response-times")
    expect(section.get_by_role("heading", name="Time to first response")).to_be_visible()
    expect(section.get_by_role("link", name="0 new leads have been waiting more than 24 hours.")).to_be_visible()
    expect(section).to_contain_text("1 lead is waiting for a first response in all.")
    # A real table with a caption and column headers: read row by row by a screen reader, or as cards on a phone.
    table = page.get_by_role("table", name="Median and 90th percentile time to first response, by week, last 12 weeks")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader")).to_have_text(["Week from", "Answered", "Median", "90th percentile"])
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(12)
    expect(rows.last.locator("td")).to_have_text([re.compile(r"^Mon \d+ \w+ \d{4}$"), "1", "under 1 min", "under 1 min"])
    expect(rows.first.locator("td").nth(2)).to_have_text("—")
    # Nothing the page needs comes from a script: the dashboard has none of its own.
    assert page.locator("#response-times script").count() == 0
    assert browser_errors == []
