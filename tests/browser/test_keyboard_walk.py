"""The main flows with the keyboard alone: a visitor sends the form; staff sign in, filter, open, edit, bulk-change,
bulk-delete, delete one and restore it. Only Tab, Shift+Tab, Enter, Space and typing move things along, and
wherever focus lands, it can be seen."""
import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.servers import submit_contact_form

pytestmark = pytest.mark.browser

MAX_TABS = 60  # more presses than any page here has stops; a control never reached fails the walk

FOCUS_VISIBLE = """el => {
  const style = getComputedStyle(el);
  return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
}"""


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the target has focus, and check that focus shows."""
    for _ in range(MAX_TABS):
        if target.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    else:
        raise AssertionError(f"Tab never reached {target}")
    assert target.evaluate(FOCUS_VISIBLE), f"focus is not visible on {target}"


def rows(page: Page) -> Locator:
    return page.locator("table tbody tr")


def row_checkbox(page: Page, email: str) -> Locator:
    return page.get_by_role("checkbox", name=f"Select lead from {email}")


def test_visitor_and_staff_do_everything_with_the_keyboard(page: Page, app_server, admin, browser_errors):
    page.set_default_timeout(10_000)
    # A visitor sends the contact form.
    page.goto("/")
    fields = [("Name", "Kay Board"), ("Email", "kay@keys.example"), ("Company", "Keys Ltd"),
              ("Subject", "Keyboard only"), ("Message", "I never touch a mouse; please call me back.")]
    for label, text in fields:
        tab_to(page, page.get_by_label(label, exact=label != "Company"))  # "Company (optional)"
        page.keyboard.type(text)
    tab_to(page, page.get_by_role("button", name="Send message"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    for number in range(3):  # a few more leads to work with (not part of the walk)
        response = submit_contact_form(app_server.url, name=f"Other {number}", email=f"other{number}@keys.example",
                                       company="", subject=f"Other {number}", message="Hello there.")
        assert response.status_code == 302

    # Staff sign in.
    page.goto("/admin/leads/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    tab_to(page, page.get_by_label("Email", exact=True))
    page.keyboard.type(admin.email)
    tab_to(page, page.get_by_label("Password", exact=True))
    page.keyboard.type(admin.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    expect(rows(page)).to_have_count(4)

    # Filter by status.
    tab_to(page, page.locator("ul.filters a").filter(has_text=re.compile("^New")))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?status=new$"))
    expect(rows(page).locator(".badge")).to_have_text(["New"] * 4)

    # Open a lead, edit it and save.
    tab_to(page, page.get_by_role("link", name="Kay Board", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard only")
    tab_to(page, page.get_by_label("Status", exact=True))
    page.keyboard.type("Qualified")  # a closed select picks the option typed
    expect(page.get_by_label("Status", exact=True)).to_have_value("qualified")
    tab_to(page, page.get_by_role("button", name="Save", exact=True))
    page.keyboard.press("Enter")
    expect(page.locator("ul.messages")).to_have_text("Saved.")
    expect(page.locator("p.lead .badge")).to_have_text("Qualified")
    # A note for the timeline.
    tab_to(page, page.get_by_label("Note", exact=True))
    page.keyboard.type("Called back; wants a demo.")
    tab_to(page, page.get_by_role("button", name="Add note", exact=True))
    page.keyboard.press("Enter")
    expect(page.locator("ul.messages")).to_have_text("Note added.")
    expect(page.locator("#timeline li").first).to_contain_text("Called back; wants a demo.")

    # Back to the inbox (Shift+Tab: the link is above), bulk-select two leads with Space and change them.
    tab_to(page, page.get_by_role("link", name="← Leads"), backwards=True)
    page.keyboard.press("Enter")
    expect(rows(page)).to_have_count(4)
    for email in ("other0@keys.example", "other1@keys.example"):
        tab_to(page, row_checkbox(page, email))
        page.keyboard.press("Space")
        expect(row_checkbox(page, email)).to_be_checked()
    tab_to(page, page.get_by_label("Status", exact=True))
    page.keyboard.type("Contacted")
    tab_to(page, page.get_by_role("button", name="Apply…"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set 2 leads to Contacted?")
    tab_to(page, page.get_by_role("button", name="Yes, set status"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    for email in ("other0@keys.example", "other1@keys.example"):
        expect(rows(page).filter(has_text=email).locator(".badge")).to_have_text("Contacted")

    # Bulk-delete the same two.
    for email in ("other0@keys.example", "other1@keys.example"):
        tab_to(page, row_checkbox(page, email))
        page.keyboard.press("Space")
    tab_to(page, page.get_by_label("With selected"))
    page.keyboard.type("Delete")
    tab_to(page, page.get_by_role("button", name="Apply…"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete 2 leads?")
    tab_to(page, page.get_by_role("button", name="Yes, delete"))
    page.keyboard.press("Enter")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).filter(has_text="other0@keys.example")).to_have_count(0)

    # Delete one from its page.
    tab_to(page, page.get_by_role("link", name="Kay Board", exact=True))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("link", name="Delete…"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this lead?")
    tab_to(page, page.get_by_role("button", name="Yes, delete"))
    page.keyboard.press("Enter")
    expect(page.locator("ul.messages")).to_contain_text("Deleted the lead from kay@keys.example")
    expect(rows(page)).to_have_count(1)

    # Restore it from Recently deleted.
    tab_to(page, page.get_by_role("link", name="Recently deleted"), backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recently deleted")
    expect(rows(page)).to_have_count(3)
    kay = rows(page).filter(has_text="kay@keys.example")
    tab_to(page, kay.get_by_role("button", name="Restore"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard only")  # back on its page, as it was
    expect(page.locator("p.lead .badge")).to_have_text("Qualified")
    tab_to(page, page.get_by_role("link", name="← Leads"), backwards=True)
    page.keyboard.press("Enter")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).filter(has_text="kay@keys.example").locator(".badge")).to_have_text("Qualified")
    assert browser_errors == []
