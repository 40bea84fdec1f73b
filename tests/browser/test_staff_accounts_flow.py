"""Staff accounts end to end in real Chromium: an admin invites, the invitee sets a password, enrols two-factor,
signs out and in again with a code, forgets the password and resets it through the emailed link — which
ends the session they still had open in another browser."""
import email
import email.policy
import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import CHROMIUM_ARGS, record_console_error  # noqa: F401  (shared set-up)

pytestmark = pytest.mark.browser

INVITEE = "Rosa.Quinn@Example.com"  # typed by the admin as people do; stored lower-cased
STORED = INVITEE.lower()
FIRST_PASSWORD = "Lighthouse-copper-93-fern"
NEW_PASSWORD = "Orchard-velvet-58-harbour"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def app_server_env(mail_dir) -> dict:
    """The server writes every email it sends into mail_dir (Django's file-based backend)."""
    return {"EMAIL_URL": f"filemail:///{mail_dir}", "DEFAULT_FROM_EMAIL": "leads@example.com"}


def emails_to(mail_dir: Path, address: str) -> list[email.message.EmailMessage]:
    """Every message sent to address so far, oldest first (the backend writes one file per connection)."""
    found = []
    for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                message = email.message_from_bytes(raw.strip() + b"\n", policy=email.policy.default)
                if address in message.get("To", "").lower():
                    found.append(message)
    return found


def wait_for_email(mail_dir: Path, address: str, *, count: int, timeout: float = 15) -> email.message.EmailMessage:
    """The count-th message to address, waiting for the server to send it (a reset email goes out after the page)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = emails_to(mail_dir, address)
        if len(messages) >= count:
            return messages[count - 1]
        time.sleep(0.1)
    raise AssertionError(f"no email #{count} to {address} within {timeout} s; got {len(emails_to(mail_dir, address))}")


def link_in(message: email.message.EmailMessage) -> str:
    [link] = LINK.findall(message.get_body(preferencelist=("plain",)).get_content())
    return link


def new_tab(chromium: Browser, base_url: str, errors: list[str]) -> Page:
    """A tab in a browser context of its own (its own cookies: another device)."""
    context = chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.on("console", lambda message: record_console_error(message, errors))
    tab.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    return tab


def sign_in_with_password(page: Page, *, email_address: str, password: str) -> None:
    page.goto("/admin/login/")
    page.get_by_label("Email", exact=True).fill(email_address)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def enter_code(page: Page, code: str) -> None:
    expect(page.get_by_text("Enter the 6-digit code from your app")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Sign in").click()


def a_code_not_used_yet(totp: pyotp.TOTP, used_step: int) -> str:
    """The app's code for the step after now (one step of drift is accepted), once that is later than used_step."""
    while int(time.time() // 30) + 1 <= used_step:
        time.sleep(0.5)
    return totp.at(time.time(), counter_offset=1)


def test_invite_set_password_enrol_sign_in_with_a_code_reset_and_the_old_session_is_gone(
        page, chromium, app_server, admin, mail_dir, browser_errors):
    base_url = app_server.url
    tabs = []
    try:
        # The admin invites Rosa.
        sign_in_with_password(page, email_address=admin.email, password=admin.password)
        expect(page).to_have_url(re.compile(r"/admin/$"))
        page.get_by_role("link", name="Staff", exact=True).click()
        page.get_by_label("Email", exact=True).fill(INVITEE)
        page.get_by_label("Name").fill("Rosa Quinn")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_text(f"Sent an invitation to {STORED}.")).to_be_visible()
        expect(page.locator("#invitations")).to_contain_text(STORED)
        invitation = wait_for_email(mail_dir, STORED, count=1)
        assert invitation["Subject"] == "You are invited to the Leads admin"
        invite_link = link_in(invitation)
        assert invite_link.startswith(base_url + "/admin/invitations/") and STORED not in invite_link

        # Rosa opens the link on her own computer and sets her password: she is signed in.
        rosa = new_tab(chromium, base_url, browser_errors)
        tabs.append(rosa)
        rosa.goto(invite_link)
        expect(rosa.get_by_role("heading", level=1)).to_have_text("Set your password")
        rosa.get_by_label("New password", exact=True).fill(FIRST_PASSWORD)
        rosa.get_by_label("Confirm new password", exact=True).fill(FIRST_PASSWORD)
        rosa.get_by_role("button", name="Set password").click()
        expect(rosa).to_have_url(re.compile(r"/admin/$"))
        expect(rosa.get_by_text("Welcome, Rosa Quinn.")).to_be_visible()

        # She turns on two-factor sign-in: the QR code is drawn by the server, the key is there to type.
        rosa.get_by_role("link", name="Two-factor", exact=True).click()
        expect(rosa.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
        qr = rosa.get_by_role("img", name="QR code for setting up two-factor sign-in")
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.complete && img.naturalWidth > 100")  # the SVG rendered under the CSP
        assert qr.get_attribute("src").startswith("data:image/svg+xml")
        secret = rosa.locator("#totp-secret").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)
        enrolled_at = int(time.time() // 30)
        rosa.get_by_label("6-digit code from your app").fill(totp.at(enrolled_at * 30))
        rosa.get_by_role("button", name="Turn on two-factor sign-in").click()
        expect(rosa.get_by_text("Two-factor sign-in is on.")).to_be_visible()
        recovery_codes = rosa.locator("ul.recovery-codes code").all_inner_texts()
        assert len(recovery_codes) == 10
        rosa.get_by_role("link", name="I have saved them").click()

        # She signs out, and back in: the password alone is not enough any more.
        rosa.get_by_role("button", name="Sign out").click()
        expect(rosa.get_by_text("You have signed out.")).to_be_visible()
        sign_in_with_password(rosa, email_address=INVITEE, password=FIRST_PASSWORD)
        expect(rosa).to_have_url(re.compile(r"/admin/login/code/$"))
        rosa.goto("/admin/leads/")  # half signed in: no page yet
        expect(rosa).to_have_url(re.compile(r"/admin/login/\?next="))
        rosa.goto("/admin/login/code/")
        signed_in_with = a_code_not_used_yet(totp, enrolled_at)
        enter_code(rosa, signed_in_with)
        expect(rosa).to_have_url(re.compile(r"/admin/$"))
        expect(rosa.locator("nav .who")).to_contain_text("Rosa Quinn")

        # Later, on another device, she has forgotten the password.
        laptop = new_tab(chromium, base_url, browser_errors)
        tabs.append(laptop)
        laptop.goto("/admin/login/")
        laptop.get_by_role("link", name="Forgot your password?").click()
        laptop.get_by_label("Email", exact=True).fill(INVITEE)
        laptop.get_by_role("button", name="Send reset link").click()
        expect(laptop.get_by_role("heading", level=1)).to_have_text("Check your email")
        reset = wait_for_email(mail_dir, STORED, count=2)
        assert reset["Subject"] == "Reset your Leads password"
        laptop.goto(link_in(reset))
        expect(laptop.get_by_role("heading", level=1)).to_have_text("Choose a new password")
        assert "/set-password/" in laptop.url  # the token left the address bar
        laptop.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        laptop.get_by_label("Confirm new password", exact=True).fill(NEW_PASSWORD)
        laptop.get_by_role("button", name="Set new password").click()
        expect(laptop).to_have_url(re.compile(r"/admin/login/"))

        # The session still open in the first browser is gone.
        rosa.goto("/admin/leads/")
        expect(rosa).to_have_url(re.compile(r"/admin/login/\?next="))
        expect(rosa.get_by_role("heading", level=1)).to_have_text("Sign in")

        # The old password no longer works; the new one does, with a code (a recovery code here: her phone is
        # in the other room), and that recovery code is spent.
        sign_in_with_password(laptop, email_address=INVITEE, password=FIRST_PASSWORD)
        expect(laptop.get_by_text("That email and password do not match an active account.")).to_be_visible()
        sign_in_with_password(laptop, email_address=INVITEE, password=NEW_PASSWORD)
        enter_code(laptop, recovery_codes[0])
        expect(laptop).to_have_url(re.compile(r"/admin/$"))
        expect(laptop.get_by_text("You signed in with a recovery code; 9 are left.")).to_be_visible()
        assert browser_errors == []  # no console errors: nothing the CSP blocked, no missing file

        # And the reset link cannot be used twice.
        response = laptop.goto(link_in(reset))
        assert response.status == 404
        expect(laptop.get_by_role("heading", level=1)).not_to_have_text("Choose a new password")
    finally:
        for tab in tabs:
            tab.context.close()
