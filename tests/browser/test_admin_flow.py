"""A visitor sends the contact form; an admin finds, updates and deletes the lead — all in real Chromium."""
import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.servers import ROOT

pytestmark = pytest.mark.browser

# Every run saves the inbox for inspection; UPDATE_SCREENSHOTS=1 also refreshes the README's copy.
SCREENSHOTS = [ROOT / "test-artifacts" / "admin-inbox.png"] + (
    [ROOT / "docs" / "admin-inbox.png"] if os.environ.get("UPDATE_SCREENSHOTS") == "1" else []
)
BRAND_BLUE = "rgb(36, 87, 197)"  # --brand in static/leads/site.css
PAGE_WASH = "rgb(245, 247, 250)"  # --wash in static/leads/site.css
LEAD_URL = re.compile(r"/admin/leads/[0-9a-f]{32}/$")

ADA = dict(
    name="Ada Browser", email="Ada.Browser@Example.COM", company="Analytical Engines Ltd",
    subject="Pricing for a team of twelve",
    message="Hello, we would like a quote for twelve seats and onboarding in March.",
)
# With Ada's, five posts: exactly the default per-client rate limit (LEADS_RATELIMIT_COUNT=5).
OTHER_LEADS = [
    dict(name="Grace Hopper", email="grace.hopper@northwind.example", company="Northwind Traders",
         subject="Integration with our ERP", message="Do you have an API for syncing leads into our ERP?"),
    dict(name="Linus Okafor", email="linus@fabrikam.example", company="Fabrikam",
         subject="Demo next week?", message="Could you show the inbox to our sales team on Tuesday?"),
    dict(name="Mei Tanaka", email="mei.tanaka@contoso.example", company="Contoso",
         subject="Question about data residency", message="Where is the data stored, and can we choose the region?"),
    dict(name="Jonas Weber", email="j.weber@tailspin.example", company="",
         subject="Partnership", message="We build websites for clinics and would like to offer your form."),
]


def submit_lead(page: Page, *, name: str, email: str, company: str, subject: str, message: str) -> None:
    """Fill in the contact form by its labels, send it and land on the thank-you page."""
    page.goto("/")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Company").fill(company)
    page.get_by_label("Subject", exact=True).fill(subject)
    page.get_by_label("Message", exact=True).fill(message)
    page.get_by_role("button", name="Send message").click()
    expect(page).to_have_url(re.compile(r"/thanks/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")


def sign_in(page: Page, *, email: str, password: str) -> None:
    """Fill in and send the staff sign-in form."""
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def inbox_rows(page: Page):
    """The lead rows of the inbox table."""
    return page.locator("table tbody tr")


def row_for(page: Page, email: str):
    """The inbox row showing this (stored, lower-cased) email."""
    return inbox_rows(page).filter(has=page.get_by_role("cell", name=email, exact=True))


def status_filter(page: Page, label: str):
    """The status filter link with this label (its text also carries a count)."""
    return page.locator("ul.filters a").filter(has_text=re.compile(rf"^{label}"))


def open_lead(page: Page, name: str) -> str:
    """Click the lead's name in the inbox and return the detail page's URL."""
    page.get_by_role("link", name=name, exact=True).click()
    expect(page).to_have_url(LEAD_URL)
    return page.url


def set_status(page: Page, label: str) -> None:
    """On a lead's page, choose a status and save it."""
    page.get_by_label("Status", exact=True).select_option(label=label)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("ul.messages")).to_have_text("Saved.")


def expect_stylesheet_applied(page: Page) -> None:
    """site.css is loaded: the page has its grey wash and a bold brand name in the top bar."""
    expect(page.locator("html")).to_have_css("background-color", PAGE_WASH)
    expect(page.locator(".topbar .brand")).to_have_css("font-weight", "700")


def test_visitor_sends_a_lead_and_an_admin_works_it_through_to_deletion(page: Page, admin, browser_errors):
    # 1. A visitor sends the contact form; a few more visitors follow.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contact us")
    expect_stylesheet_applied(page)
    expect(page.get_by_role("button", name="Send message")).to_have_css("background-color", BRAND_BLUE)
    submit_lead(page, **ADA)
    for lead in OTHER_LEADS:
        submit_lead(page, **lead)

    # 2. The inbox asks staff to sign in first, then comes back to the inbox.
    page.goto("/admin/leads/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=%2Fadmin%2Fleads%2F$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    sign_in(page, email=admin.email, password=admin.password)
    expect(page).to_have_url(re.compile(r"/admin/leads/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    expect_stylesheet_applied(page)
    expect(inbox_rows(page)).to_have_count(5)

    # Work two leads on, so the inbox shows more than one status.
    open_lead(page, "Grace Hopper")
    set_status(page, "Qualified")
    page.get_by_role("link", name="← Leads").click()
    open_lead(page, "Linus Okafor")
    set_status(page, "Converted")
    page.get_by_role("link", name="← Leads").click()

    # 5 (done first: the unfiltered inbox is the nicer picture). Newest first, email stored lower-cased.
    expect(inbox_rows(page)).to_have_count(5)
    expect(inbox_rows(page).locator("td:nth-child(3)")).to_have_text(
        ["Jonas Weber", "Mei Tanaka", "Linus Okafor", "Grace Hopper", "Ada Browser"])
    expect(row_for(page, "ada.browser@example.com").locator(".badge")).to_have_text("New")
    expect(row_for(page, "grace.hopper@northwind.example").locator(".badge")).to_have_text("Qualified")
    for path in SCREENSHOTS:
        path.parent.mkdir(exist_ok=True)
        page.screenshot(path=path, full_page=True)

    # 3. The "New" filter shows the three new leads, Ada's among them, and nothing else.
    expect(status_filter(page, "New").locator(".count")).to_have_text("3")
    status_filter(page, "New").click()
    expect(page).to_have_url(re.compile(r"/admin/leads/\?status=new$"))
    expect(status_filter(page, "New")).to_have_attribute("aria-current", "true")
    expect(inbox_rows(page)).to_have_count(3)
    expect(inbox_rows(page).locator(".badge")).to_have_text(["New", "New", "New"])
    expect(row_for(page, "ada.browser@example.com")).to_have_count(1)
    expect(row_for(page, "grace.hopper@northwind.example")).to_have_count(0)

    # 4. Searching the email in another case finds exactly Ada's lead.
    page.get_by_label("Email or domain").fill("ADA.browser@EXAMPLE.com")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"[?&]q=ADA\.browser%40EXAMPLE\.com"))
    expect(inbox_rows(page)).to_have_count(1)
    expect(inbox_rows(page).get_by_role("cell", name="ada.browser@example.com", exact=True)).to_be_visible()

    # 6. Open the lead and mark it contacted.
    lead_url = open_lead(page, "Ada Browser")
    expect(page.get_by_role("heading", level=1)).to_have_text(ADA["subject"])
    expect(page.locator("p.lead .badge")).to_have_text("New")
    set_status(page, "Contacted")
    expect(page).to_have_url(lead_url)
    expect(page.locator("p.lead .badge")).to_have_text("Contacted")
    expect(page.get_by_label("Status", exact=True)).to_have_value("contacted")
    history = page.locator("section").filter(has=page.get_by_role("heading", name="History"))
    expect(history.locator("li").first).to_contain_text("status: “new” → “contacted”")

    # 7. Delete it: the inbox confirms, and its page is gone.
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this lead?")
    page.get_by_role("button", name="Yes, delete").click()
    expect(page).to_have_url(re.compile(r"/admin/leads/$"))
    expect(page.locator("ul.messages")).to_contain_text("Deleted the lead from ada.browser@example.com")
    expect(inbox_rows(page)).to_have_count(4)
    expect(row_for(page, "ada.browser@example.com")).to_have_count(0)
    assert browser_errors == []  # checked now: the 404 below is logged to the console on purpose
    response = page.goto(lead_url)
    assert response.status == 404
    # DEBUG is on under `make run`, so this is Django's "Page not found (404)" page.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Page not found")
