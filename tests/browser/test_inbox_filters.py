"""The inbox's owner filter, arrival dates and prefix search in real Chromium, through the page's own controls."""
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin_flow import OTHER_LEADS, inbox_rows, open_lead, sign_in, submit_lead

pytestmark = pytest.mark.browser


def emails(page: Page) -> list[str]:
    return inbox_rows(page).locator("td:nth-child(4)").all_inner_texts()


def filter_by(page: Page, *, owner: str | None = None, start: str | None = None, end: str | None = None,
              search: str | None = None) -> None:
    """Set the toolbar's controls by their labels and send the search form."""
    if owner is not None:
        page.get_by_label("Owner", exact=True).select_option(label=owner)
    if start is not None:
        page.get_by_label("Received from").fill(start)
    if end is not None:
        page.get_by_label("Received to").fill(end)
    if search is not None:
        page.get_by_label("Email or domain").fill(search)
    page.get_by_role("button", name="Search", exact=True).click()


def test_mine_unassigned_dates_and_prefix(page: Page, admin, browser_errors):
    for lead in OTHER_LEADS:
        submit_lead(page, **lead)
    page.goto("/admin/leads/")
    sign_in(page, email=admin.email, password=admin.password)
    expect(inbox_rows(page)).to_have_count(4)

    # Take one lead: it is then "Assigned to me", and the others "Unassigned".
    open_lead(page, "Mei Tanaka")
    page.get_by_label("Owner", exact=True).select_option(value=admin.email)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.goto("/admin/leads/")
    filter_by(page, owner="Assigned to me")
    expect(page).to_have_url(re.compile(r"owner=me"))
    expect(inbox_rows(page)).to_have_count(1)
    assert emails(page) == ["mei.tanaka@contoso.example"]
    filter_by(page, owner="Unassigned")
    expect(inbox_rows(page)).to_have_count(3)
    assert "mei.tanaka@contoso.example" not in emails(page)

    # Any owner, picked from the staff ("Another owner…" lists the roster).
    page.get_by_role("link", name="Another owner…").click()
    page.get_by_role("link", name=re.compile(re.escape(admin.email))).click()
    expect(page.get_by_label("Owner", exact=True)).to_have_value(admin.email)
    assert emails(page) == ["mei.tanaka@contoso.example"]
    filter_by(page, owner="Unassigned")

    # The owner stays while a status is chosen; then "New" and unassigned together.
    page.locator("ul.filters a").filter(has_text=re.compile(r"^New")).click()
    expect(page).to_have_url(re.compile(r"status=new.*owner=none|owner=none.*status=new"))
    expect(inbox_rows(page)).to_have_count(3)

    # Dates: the leads arrived today (in the admin's zone, UTC here); a range ending yesterday has none.
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    filter_by(page, owner="Anyone", end=yesterday)
    expect(page.get_by_text("No leads match.")).to_be_visible()
    page.get_by_role("link", name="Today", exact=True).click()
    expect(inbox_rows(page)).to_have_count(4)  # still "New", and anyone's: Mei's lead too
    expect(page.get_by_role("link", name="Today", exact=True)).to_have_attribute("aria-current", "true")
    # A date input sends only real dates; a hand-edited link gets a form error, not a 500.
    page.goto("/admin/leads/?from=2026-02-30")
    expect(page.get_by_role("alert")).to_contain_text("Enter a date as YYYY-MM-DD.")

    # Prefix search: the start of an address, alone (no status, owner or dates).
    page.goto("/admin/leads/")
    filter_by(page, search="J.Web")
    expect(inbox_rows(page)).to_have_count(1)
    assert emails(page) == ["j.weber@tailspin.example"]
    expect(page.get_by_text("Addresses starting with “j.web”, A to Z.")).to_be_visible()
    filter_by(page, owner="Assigned to me")
    expect(page.get_by_role("alert")).to_contain_text("The start of an address is searched on its own")
    filter_by(page, search="j.weber@tailspin.example")  # a whole address combines with no owner either
    expect(page.get_by_role("alert")).to_contain_text("A search covers every owner")
    assert browser_errors == []
