"""The inbox's script (static/leads/backoffice.js) in real Chromium: select all, shift-click ranges, j/k/o/x —
loaded under the site's Content-Security-Policy without a violation — and the inbox without it."""
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_admin_flow import LEAD_URL, OTHER_LEADS, inbox_rows, sign_in, submit_lead

pytestmark = pytest.mark.browser

NAMES = [lead["name"] for lead in reversed(OTHER_LEADS)]  # the inbox shows the newest first


@pytest.fixture
def inbox(page: Page, admin) -> Page:
    """Signed in on the inbox, which holds the four OTHER_LEADS (newest first)."""
    for lead in OTHER_LEADS:
        submit_lead(page, **lead)
    page.goto("/admin/leads/")
    sign_in(page, email=admin.email, password=admin.password)
    expect(inbox_rows(page)).to_have_count(4)
    expect(inbox_rows(page).locator("td:nth-child(3)")).to_have_text(NAMES)
    return page


def row_boxes(page: Page):
    return inbox_rows(page).locator("input[type=checkbox][name=ids]")


def checked(page: Page) -> list[bool]:
    return [box.is_checked() for box in row_boxes(page).all()]


def test_select_all_and_shift_click_ranges(inbox: Page, browser_errors):
    select_all = inbox.get_by_role("checkbox", name="Select all", exact=True)
    expect(select_all).to_be_visible()
    select_all.check()
    assert checked(inbox) == [True, True, True, True]
    row_boxes(inbox).nth(1).uncheck()  # one off: "select all" is neither on nor off
    assert select_all.evaluate("box => [box.checked, box.indeterminate]") == [False, True]
    select_all.click()
    assert checked(inbox) == [True, True, True, True]
    select_all.uncheck()
    assert checked(inbox) == [False, False, False, False]

    # A click, then a shift-click further down, selects everything between; shift-click back up clears.
    row_boxes(inbox).nth(0).click()
    row_boxes(inbox).nth(2).click(modifiers=["Shift"])
    assert checked(inbox) == [True, True, True, False]
    row_boxes(inbox).nth(1).click(modifiers=["Shift"])  # from the third, unchecking: the second and third
    assert checked(inbox) == [True, False, False, False]
    row_boxes(inbox).nth(3).click(modifiers=["Shift"])
    assert checked(inbox) == [True, True, True, True]
    expect(select_all).to_be_checked()

    # The selection goes through the ordinary bulk form.
    row_boxes(inbox).nth(3).uncheck()
    inbox.get_by_label("Status", exact=True).select_option(label="Lost")
    inbox.get_by_role("button", name="Apply…").click()
    expect(inbox.get_by_role("heading", level=1)).to_contain_text("Set 3 leads to")
    inbox.get_by_role("button", name="Yes, set status").click()
    expect(inbox.locator("ul.messages")).to_contain_text("3")
    expect(inbox_rows(inbox).locator(".badge")).to_have_text(["Lost", "Lost", "Lost", "New"])
    assert browser_errors == []  # among them any "Refused to … because it violates … Content Security Policy"


def test_j_k_move_x_selects_and_o_or_enter_opens(inbox: Page, browser_errors):
    expect(inbox.get_by_text("Keyboard shortcuts")).to_be_visible()  # the help, folded away below the table
    inbox.get_by_text("Keyboard shortcuts").click()
    expect(inbox.locator(".shortcuts")).to_contain_text("j next lead")

    inbox.locator("h1").click()  # nothing focused in the table yet
    inbox.keyboard.press("j")
    expect(inbox_rows(inbox).nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    inbox.keyboard.press("j")
    inbox.keyboard.press("j")
    inbox.keyboard.press("k")
    current = inbox.locator("tr.current")
    expect(current).to_have_count(1)
    expect(current.locator("td:nth-child(3)")).to_have_text(NAMES[1])
    expect(current.get_by_role("link").first).to_be_focused()
    expect(current.get_by_role("link").first).to_have_css("outline-style", "solid")  # focus is visible
    expect(current.get_by_role("link").first).to_have_css("outline-width", "3px")

    inbox.keyboard.press("x")
    assert checked(inbox) == [False, True, False, False]
    inbox.keyboard.press("x")
    assert checked(inbox) == [False, False, False, False]
    inbox.keyboard.press("j")
    inbox.keyboard.press("x")
    assert checked(inbox) == [False, False, True, False]

    # Keys typed into the search box are text, not commands.
    inbox.get_by_label("Email or domain").fill("")
    inbox.get_by_label("Email or domain").press_sequentially("jkxo")
    expect(inbox.get_by_label("Email or domain")).to_have_value("jkxo")
    assert checked(inbox) == [False, False, True, False]
    expect(inbox).to_have_url(re.compile(r"/admin/leads/$"))

    # Focus left the table; j goes on from the row it was on (the third), and o opens that lead.
    inbox.locator("h1").click()
    inbox.keyboard.press("j")
    expect(inbox.locator("tr.current td:nth-child(3)")).to_have_text(NAMES[3])
    inbox.keyboard.press("o")
    expect(inbox).to_have_url(LEAD_URL)
    expect(inbox.locator("p.lead")).to_contain_text(f"From {NAMES[3]}")
    # Back in the inbox, k past the top stays on the first lead, and Enter opens it.
    inbox.go_back()
    inbox.locator("h1").click()
    for _ in range(6):
        inbox.keyboard.press("k")
    expect(inbox.locator("tr.current td:nth-child(3)")).to_have_text(NAMES[0])
    inbox.keyboard.press("Enter")
    expect(inbox).to_have_url(LEAD_URL)
    expect(inbox.locator("p.lead")).to_contain_text(f"From {NAMES[0]}")
    # Enter on a row's checkbox opens that row's lead too.
    inbox.go_back()
    row_boxes(inbox).nth(2).focus()
    inbox.keyboard.press("Enter")
    expect(inbox).to_have_url(LEAD_URL)
    expect(inbox.locator("p.lead")).to_contain_text(f"From {NAMES[2]}")
    assert browser_errors == []


def test_without_javascript_the_inbox_selects_and_bulk_changes_with_its_own_boxes(chromium, app_server, inbox: Page):
    context = chromium.new_context(base_url=app_server.url, java_script_enabled=False,
                                   storage_state=inbox.context.storage_state())
    page = context.new_page()
    try:
        page.goto("/admin/leads/")
        expect(inbox_rows(page)).to_have_count(4)
        expect(page.get_by_role("checkbox", name="Select all")).to_have_count(0)  # the script would add it
        expect(page.get_by_text("Keyboard shortcuts")).to_have_count(0)
        page.keyboard.press("j")
        expect(page.locator("tr.current")).to_have_count(0)
        page.get_by_label(f"Select lead from {OTHER_LEADS[0]['email']}").check()
        page.get_by_label(f"Select lead from {OTHER_LEADS[1]['email']}").check()
        page.get_by_label("Status", exact=True).select_option(label="Qualified")
        page.get_by_role("button", name="Apply…").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Set 2 leads to")
        page.get_by_role("button", name="Yes, set status").click()
        expect(page).to_have_url(re.compile(r"/admin/leads/$"))
        expect(inbox_rows(page).locator(".badge")).to_have_text(["New", "New", "Qualified", "Qualified"])
        # The rest of the staff pages work too: open a lead, save it, go back through the (script-free) menu.
        page.get_by_role("link", name=NAMES[0], exact=True).click()
        page.get_by_label("Status", exact=True).select_option(label="Contacted")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("ul.messages")).to_have_text("Saved.")
        page.get_by_role("navigation", name="Staff").get_by_role("link", name="Leads", exact=True).click()
        expect(inbox_rows(page).locator(".badge")).to_have_text(["Contacted", "New", "Qualified", "Qualified"])
    finally:
        context.close()
