"""Every public and staff page at phone widths (360, 390, 414 px) in real Chromium: no sideways scrolling,
touch targets of at least 24×24 px (WCAG 2.2 2.5.8), a short header whose menu opens without a script."""
import os
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_admin_flow import LEAD_URL, sign_in, submit_lead
from tests.integration.servers import ROOT

pytestmark = pytest.mark.browser

WIDTHS = (360, 390, 414)
SCREENSHOT_WIDTH = 390
HEADER_MAX_HEIGHT = 72  # brand and a "Menu" button on one line

# Every run saves the phone screenshots for inspection; UPDATE_SCREENSHOTS=1 also refreshes the README's copies.
ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Save the phone's screen as test-artifacts/<name> (and docs/<name> when UPDATE_SCREENSHOTS=1)."""
    for folder in [ARTIFACTS] + ([DOCS] if os.environ.get("UPDATE_SCREENSHOTS") == "1" else []):
        folder.mkdir(exist_ok=True)
        page.screenshot(path=folder / name, full_page=full_page)


LONG = dict(  # the widest things a visitor can send: long unbroken words and addresses
    name="Maximiliane Alexandrina Featherstonehaugh-Cholmondeley",
    email="maximiliane.featherstonehaugh-cholmondeley@procurement.internationalholdings.example",
    company="Featherstonehaugh International Procurement Holdings GmbH & Co. KG",
    subject="Requesting a quotation: https://procurement.internationalholdings.example/rfq/2026/leads-inbox-seats",
    message="Please see https://procurement.internationalholdings.example/rfq/2026/leads-inbox-seats-and-onboarding-"
            "for-the-whole-sales-organisation-in-three-countries for the details. Thank you!",
)
SHORT = [
    dict(name="Grace Hopper", email="grace.hopper@northwind.example", company="Northwind Traders",
         subject="Integration with our ERP", message="Do you have an API for syncing leads into our ERP?"),
    dict(name="Linus Okafor", email="linus@fabrikam.example", company="Fabrikam",
         subject="Demo next week?", message="Could you show the inbox to our sales team on Tuesday?"),
    dict(name="Mei Tanaka", email="mei.tanaka@contoso.example", company="Contoso",
         subject="Question about data residency", message="Where is the data stored, and can we choose the region?"),
]

# What the page measures: sideways overflow (of the page, or of a box that scrolls inside it), and every visible target that is under 24×24 px and not
# excused by WCAG 2.5.8's exceptions — spacing (a 24 px circle on its centre touches no other target nor
# another small target's circle) or inline (a link inside a sentence, sized by the line).
MEASURE = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    return el.checkVisibility({visibilityProperty: true}) && box.width > 0 && box.height > 0 && box.right > 0
      && box.bottom > 0 && el.closest('[aria-hidden=true]') === null;
  };
  const targets = [...document.querySelectorAll(selector)].filter(visible).map((el) => {
    const box = el.getBoundingClientRect();
    const block = el.parentElement.closest('p, li, dd, td, div');
    const inline = el.tagName === 'A' && getComputedStyle(el).display === 'inline' && block !== null
      && block.textContent.trim().length > el.textContent.trim().length + 10;
    return {el, box, inline, cx: box.left + box.width / 2, cy: box.top + box.height / 2,
            name: (el.tagName + ' ' + (el.getAttribute('aria-label') || el.textContent || el.name || '')).trim().slice(0, 60)};
  });
  const small = targets.filter((t) => t.box.width < 23.5 || t.box.height < 23.5);
  const circleHits = (t, box) => {
    const x = Math.max(box.left, Math.min(t.cx, box.right)), y = Math.max(box.top, Math.min(t.cy, box.bottom));
    return Math.hypot(t.cx - x, t.cy - y) < 12;
  };
  const problems = small.filter((t) => !t.inline).filter((t) =>
    targets.some((o) => o !== t && !o.el.contains(t.el) && !t.el.contains(o.el) && circleHits(t, o.box))
    || small.some((o) => o !== t && Math.hypot(t.cx - o.cx, t.cy - o.cy) < 24)
  ).map((t) => `${t.name} is ${Math.round(t.box.width)}x${Math.round(t.box.height)}`);
  const header = document.querySelector('.topbar');
  return {
    scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth,
    scrollers: [...document.querySelectorAll('body *')].filter((el) => el.scrollWidth > el.clientWidth + 1
      && ['auto', 'scroll'].includes(getComputedStyle(el).overflowX)).map((el) => el.tagName + '.' + el.className),
    small: problems, header: header ? header.getBoundingClientRect().height : 0,
  };
}"""


def phone_problems(page: Page, where: str, *, header_max: float | None = HEADER_MAX_HEIGHT) -> list[str]:
    """What does not fit a phone on the page as shown now, each problem naming the page and width."""
    # Against the phone's width, not innerWidth: a mobile browser widens its layout viewport to fit what
    # overflows, so innerWidth grows with the overflow it should reveal.
    width = page.viewport_size["width"]
    page.wait_for_load_state("load")  # after a click, the stylesheet may still be on its way
    found = page.evaluate(MEASURE)
    problems = []
    if max(found["scrollWidth"], found["innerWidth"]) > width:
        problems.append(f"{where} @{width}: scrolls sideways ({found['scrollWidth']}, {found['innerWidth']} > {width})")
    problems += [f"{where} @{width}: {scroller} scrolls sideways inside" for scroller in found["scrollers"]]
    problems += [f"{where} @{width}: {target}" for target in found["small"]]
    if header_max is not None and found["header"] > header_max:
        problems.append(f"{where} @{width}: header is {found['header']:.0f} px high")
    return problems


def phone(chromium: Browser, base_url: str, width: int, errors: list[str], storage_state=None) -> Page:
    """A tab like a phone's: this width, touch, and the page's own viewport meta honoured."""
    context = chromium.new_context(
        base_url=base_url, viewport={"width": width, "height": 780}, is_mobile=True, has_touch=True,
        device_scale_factor=2 if width == SCREENSHOT_WIDTH else 1, storage_state=storage_state,
    )
    tab = context.new_page()
    tab.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    tab.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    return tab


def test_every_page_fits_a_phone_without_sideways_scrolling_and_with_big_enough_targets(
        page: Page, chromium, app_server, admin, browser_errors):
    # Leads to show, one with the longest unbroken text a visitor can send; one deleted, for the trash.
    for lead in [*SHORT, LONG]:
        submit_lead(page, **lead)
    page.goto("/admin/leads/")
    sign_in(page, email=admin.email, password=admin.password)
    page.get_by_role("link", name=LONG["name"], exact=True).click()
    expect(page).to_have_url(LEAD_URL)
    lead_path = page.url.removeprefix(app_server.url)
    page.goto("/admin/leads/")
    page.get_by_role("link", name="Mei Tanaka", exact=True).click()
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Yes, delete").click()
    signed_in = page.context.storage_state()

    staff_pages = {
        "dashboard": "/admin/", "inbox": "/admin/leads/", "inbox, searched": "/admin/leads/?q=%40nowhere.example",
        "lead": lead_path, "lead delete": f"{lead_path}delete/", "trash": "/admin/leads/deleted/",
        "staff": "/admin/staff/", "staff edit": f"/admin/staff/{admin.email}/", "privacy": "/admin/privacy/",
        "sessions": "/admin/account/sessions/", "two-factor": "/admin/account/two-factor/",
        "password": "/admin/account/password/", "preferences": "/admin/account/preferences/",
        "due today": "/admin/follow-ups/today/", "overdue": "/admin/follow-ups/overdue/",
    }
    public_pages = {"contact": "/", "thanks": "/thanks/", "sign in": "/admin/login/",
                    "password reset": "/admin/password-reset/"}
    problems = []
    for width in WIDTHS:
        visitor = phone(chromium, app_server.url, width, browser_errors)
        for where, path in public_pages.items():
            assert visitor.goto(path).status == 200, where
            problems += phone_problems(visitor, where)
        visitor.goto("/")
        visitor.get_by_role("button", name="Send message").click()  # the form with every error showing
        expect(visitor.locator(".field-error").first).to_be_visible()
        problems += phone_problems(visitor, "contact, with errors")
        visitor.context.close()

        staff = phone(chromium, app_server.url, width, browser_errors, storage_state=signed_in)
        for where, path in staff_pages.items():
            assert staff.goto(path).status == 200, where
            expect(staff.get_by_role("link", name="Dashboard")).to_be_hidden()  # the menu starts closed
            problems += phone_problems(staff, where)
            if width == SCREENSHOT_WIDTH and where in ("inbox", "lead"):
                screenshot(staff, f"phone-{where}.png")

        # The menu opens without a script and lists every staff page, one under the other.
        staff.goto("/admin/leads/")
        staff.get_by_text("Menu", exact=True).click()
        nav = staff.get_by_role("navigation", name="Staff")
        for label in ("Dashboard", "Leads", "Recently deleted", "Staff", "Privacy", "Sessions"):
            expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
        lefts = {round(box["x"]) for box in (link.bounding_box() for link in nav.get_by_role("link").all())}
        if len(lefts) != 1:
            problems.append(f"menu @{width}: links should stack in one column, start at {sorted(lefts)}")
        problems += phone_problems(staff, "menu open", header_max=None)
        if width == SCREENSHOT_WIDTH:
            screenshot(staff, "phone-menu.png")
        nav.get_by_role("link", name="Dashboard").click()
        expect(staff).to_have_url(re.compile(r"/admin/$"))

        # The bulk confirmation, reached through the inbox's cards.
        staff.goto("/admin/leads/")
        staff.get_by_label("Select lead from grace.hopper@northwind.example").check()
        staff.get_by_label("Select lead from linus@fabrikam.example").check()
        staff.get_by_label("Status", exact=True).select_option(label="Qualified")
        staff.get_by_role("button", name="Apply…").click()
        expect(staff.get_by_role("heading", level=1)).to_contain_text("Set 2 leads to")
        problems += phone_problems(staff, "bulk confirm")
        staff.context.close()

    assert problems == []
    assert browser_errors == []


def test_the_inbox_shows_each_lead_as_a_labelled_card_on_a_phone(page: Page, chromium, app_server, admin):
    submit_lead(page, **SHORT[0])
    page.goto("/admin/leads/")
    sign_in(page, email=admin.email, password=admin.password)
    errors: list[str] = []
    staff = phone(chromium, app_server.url, 360, errors, storage_state=page.context.storage_state())
    staff.goto("/admin/leads/")
    card = staff.locator("table tbody tr").first
    # Each cell is labelled with its column, the label beside the value, the value whole.
    email_cell = card.locator("td[data-label=Email]")
    label = email_cell.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == '"Email"'
    expect(email_cell).to_have_text(SHORT[0]["email"])
    expect(card.locator("td[data-label=Subject]")).to_be_visible()  # shown on a phone now, not dropped
    rows = card.locator("td").evaluate_all("cells => cells.map(cell => Math.round(cell.getBoundingClientRect().left))")
    assert len(set(rows)) == 1, "cells stack one under the other inside the card"
    expect(staff.locator("table thead th").nth(1)).to_be_hidden()  # column headers give way to the labels
    # At desktop width it is still a table with its header row.
    page.goto("/admin/leads/")
    expect(page.get_by_role("columnheader", name="Email")).to_be_visible()
    assert errors == []
