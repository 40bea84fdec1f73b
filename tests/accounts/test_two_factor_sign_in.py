"""Signing in with a code after the password: the half-signed-in step, throttling, replay, drift, recovery codes,
and LEADS_REQUIRE_2FA sending people to enrolment."""
from types import SimpleNamespace

import pytest
from django.core import signing
from django.test import Client

from leads.domain import services
from leads.storage.models import Staff, StaffSession
from tests.helpers import PASSWORD, signed_in
from tests.two_factor_helpers import (  # noqa: F401  (clock is a fixture)
    clock, code_at, code_step, enrol, password_step, two_factor_account, wrong_code,
)

STAFF_PAGES = ["/admin/", "/admin/leads/", "/admin/leads/export.csv", "/admin/account/two-factor/", "/admin/staff/"]


def test_after_the_password_the_code_page_asks_for_the_code_and_the_code_signs_in(clock):
    secret, _ = two_factor_account(clock)
    browser = Client()
    response = password_step(browser, next="/admin/leads/?status=new")
    assert response.status_code == 302 and response["Location"] == "/admin/login/code/"
    page = browser.get("/admin/login/code/")
    assert page.status_code == 200
    assert "Enter the 6-digit code from your app" in page.content.decode()
    assert "no-cache" in page["Cache-Control"]
    response = code_step(browser, code_at(secret, clock.step))
    assert response.status_code == 302 and response["Location"] == "/admin/leads/?status=new"
    assert browser.get("/admin/leads/").status_code == 200
    assert "leads_device" in response.cookies  # this browser is known to the account from now on


def test_half_signed_in_reaches_no_staff_page_and_holds_no_staff_keys(clock):
    two_factor_account(clock)
    browser = Client()
    password_step(browser)
    for url in STAFF_PAGES:
        response = browser.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next="), url
    item = StaffSession.get(browser.cookies["leads_session"].value)
    assert item.staff_email is None  # not a signed-in session: the staff index and the account know nothing of it
    assert "staff_email" not in browser.session and "staff_role" not in browser.session
    assert (item.expires_at - item.expires_at.now(item.expires_at.tzinfo)).total_seconds() <= 300


def test_the_code_page_without_a_password_first_sends_back_to_sign_in(clock):
    two_factor_account(clock)
    browser = Client()
    assert browser.get("/admin/login/code/")["Location"] == "/admin/login/"
    response = code_step(browser, "123456")
    assert response["Location"] == "/admin/login/"
    assert browser.get("/admin/").status_code == 302


def test_a_wrong_code_is_refused_and_the_account_stays_signed_out(clock):
    secret, _ = two_factor_account(clock)
    browser = Client()
    password_step(browser)
    response = code_step(browser, wrong_code(secret, clock.step))
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert browser.get("/admin/").status_code == 302
    response = code_step(browser, "12345")
    assert "Enter the 6-digit code from your app, or one of your recovery codes." in response.content.decode()


def test_wrong_codes_are_throttled_like_passwords_until_the_window_ends(clock, settings, monkeypatch):
    settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT = 3
    secret, _ = two_factor_account(clock)
    guesser = Client(REMOTE_ADDR="10.6.6.6")
    assert password_step(guesser).status_code == 302
    for _ in range(3):
        assert code_step(guesser, wrong_code(secret, clock.step)).status_code == 200
    response = code_step(guesser, code_at(secret, clock.step))  # even the right code
    assert response.status_code == 429
    assert "Too many wrong attempts. Please wait" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert guesser.get("/admin/").status_code == 302
    # The code's failures are the password's too: the password is refused from this client as well.
    assert password_step(guesser).status_code == 429
    # Once the window is over, the right code gets in.
    from leads.accounts import two_factor as sign_in
    from leads.storage.models import utcnow

    later = utcnow() + __import__("datetime").timedelta(seconds=settings.LEADS_LOGIN_LOCKOUT_SECONDS)
    monkeypatch.setattr(sign_in, "utcnow", lambda: later)
    response = code_step(guesser, code_at(secret, clock.step))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert guesser.get("/admin/").status_code == 200


def test_a_used_code_cannot_be_used_again_within_its_window(clock):
    secret, _ = two_factor_account(clock)
    code = code_at(secret, clock.step)
    first = Client()
    password_step(first)
    assert code_step(first, code).status_code == 302
    thief = Client(REMOTE_ADDR="10.7.7.7")  # saw the code over the shoulder, knows the password
    password_step(thief)
    response = code_step(thief, code)
    assert response.status_code == 200
    assert "That code was used already. Wait for the next code from your app." in response.content.decode()
    assert thief.get("/admin/").status_code == 302
    # Neither is the code of the step before (still inside the drift window): only later steps count.
    assert "used already" in code_step(thief, code_at(secret, clock.step - 1)).content.decode()
    clock.tick()
    assert code_step(thief, code_at(secret, clock.step)).status_code == 302


def test_one_step_of_clock_drift_either_way_is_accepted_and_no_more(clock):
    secret, _ = two_factor_account(clock)
    clock.tick(3)
    browser = Client()
    password_step(browser)
    assert "not right" in code_step(browser, code_at(secret, clock.step - 2)).content.decode()
    assert "not right" in code_step(browser, code_at(secret, clock.step + 2)).content.decode()
    assert code_step(browser, code_at(secret, clock.step - 1)).status_code == 302  # the phone is 30 s slow
    browser.post("/admin/logout/")
    password_step(browser)
    assert code_step(browser, code_at(secret, clock.step + 1)).status_code == 302  # the phone is 30 s fast
    assert Staff.get("ann@example.com").totp_last_step == clock.step + 1


def test_a_recovery_code_signs_in_once(clock):
    _, codes = two_factor_account(clock)
    browser = Client()
    password_step(browser)
    typed = " " + codes[3].upper().replace("-", " ") + " "  # as read off paper
    response = code_step(browser, typed)
    assert response.status_code == 302
    page = browser.get("/admin/").content.decode()
    assert "You signed in with a recovery code; 9 are left." in page
    assert len(Staff.get("ann@example.com").recovery_codes) == 9
    browser.post("/admin/logout/")
    password_step(browser)
    response = code_step(browser, codes[3])
    assert response.status_code == 200 and "That code is not right" in response.content.decode()
    assert code_step(browser, codes[4]).status_code == 302


def test_the_half_signed_in_state_expires(clock, monkeypatch):
    secret, _ = two_factor_account(clock)
    browser = Client()
    password_step(browser)
    real_time = signing.time.time
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: real_time() + 301))
    response = code_step(browser, code_at(secret, clock.step))
    assert response.status_code == 302 and response["Location"] == "/admin/login/"
    page = browser.get("/admin/login/").content.decode()
    assert "Your sign-in expired or your account changed. Please sign in again." in page
    assert browser.get("/admin/").status_code == 302
    assert Staff.get("ann@example.com").totp_last_step < clock.step  # the code was not even checked


@pytest.mark.parametrize("change", [dict(role="admin"), dict(active=False)])
def test_the_half_signed_in_state_ends_when_the_account_changes(clock, change):
    secret, _ = two_factor_account(clock)
    browser = Client()
    password_step(browser)
    services.staff_update(email="ann@example.com", **change)
    response = code_step(browser, code_at(secret, clock.step))
    assert response["Location"] == "/admin/login/"
    assert browser.get("/admin/").status_code == 302


def test_an_account_without_two_factor_signs_in_with_the_password_alone(clock):
    services.staff_create(email="bob@example.com", password=PASSWORD)
    browser = Client()
    response = password_step(browser, "bob@example.com")
    assert response["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200


def test_require_2fa_everyone_sends_a_new_sign_in_to_enrolment_until_enrolled(clock, settings):
    settings.LEADS_REQUIRE_2FA = "everyone"
    services.staff_create(email="ann@example.com", password=PASSWORD)
    browser = Client()
    response = password_step(browser, next="/admin/leads/")
    assert response["Location"] == "/admin/account/two-factor/"
    for url in ["/admin/", "/admin/leads/", "/admin/leads/export.csv"]:
        assert browser.get(url)["Location"] == "/admin/account/two-factor/", url
    page = browser.get("/admin/account/two-factor/").content.decode()
    assert "Your account needs two-factor sign-in" in page
    enrol(browser, clock)
    assert browser.get("/admin/leads/").status_code == 200
    # Required: it cannot be turned off, even with the password.
    response = browser.post("/admin/account/two-factor/disable/", {"off-answer": PASSWORD})
    assert Staff.get("ann@example.com").totp_secret
    assert "cannot be turned off" in browser.get(response["Location"]).content.decode()


def test_require_2fa_admins_leaves_sales_alone(clock, settings):
    settings.LEADS_REQUIRE_2FA = "admins"
    sales = signed_in("sam@example.com", "sales")
    assert sales.get("/admin/leads/").status_code == 200
    services.staff_create(email="boss@example.com", password=PASSWORD, role="admin")
    admin = Client()
    assert password_step(admin, "boss@example.com")["Location"] == "/admin/account/two-factor/"
    assert admin.get("/admin/staff/")["Location"] == "/admin/account/two-factor/"


def test_a_session_from_before_two_factor_was_required_is_sent_to_enrolment(clock, settings):
    sales = signed_in("sam@example.com", "sales")
    settings.LEADS_REQUIRE_2FA = "everyone"
    assert sales.get("/admin/leads/")["Location"] == "/admin/account/two-factor/"


def test_changing_ones_password_keeps_the_session_signed_in_with_a_code(clock, settings):
    settings.LEADS_REQUIRE_2FA = "everyone"
    secret, _ = two_factor_account(clock)
    browser = Client()
    password_step(browser)
    code_step(browser, code_at(secret, clock.step))
    new = "Quartz-meadow-71-lantern"
    response = browser.post("/admin/account/password/", {
        "current_password": PASSWORD, "new_password1": new, "new_password2": new,
    })
    assert response["Location"] == "/admin/"
    assert browser.get("/admin/leads/").status_code == 200  # not sent back to enrolment
