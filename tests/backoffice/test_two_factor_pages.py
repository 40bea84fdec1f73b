"""The two-factor pages: enrolment with a server-rendered QR code, recovery codes, turning it off, an admin's reset."""
import logging
import re
from urllib.parse import unquote

import pytest
from django.test import Client

from leads.backoffice import two_factor_views
from leads.domain import two_factor
from leads.storage.models import Staff
from tests.helpers import PASSWORD, signed_in
from tests.two_factor_helpers import (  # noqa: F401  (clock is a fixture)
    clock, code_at, code_step, enrol, enrolment_form, password_step, recovery_codes_on, two_factor_account, wrong_code,
)

PAGE = "/admin/account/two-factor/"


def test_enrolment_shows_a_qr_code_rendered_here_as_svg_the_key_as_text_and_no_inline_script(sales_client):
    response = sales_client.get(PAGE)
    html = response.content.decode()
    assert response.status_code == 200
    image = re.search(r'<img class="qr" src="(data:image/svg\+xml[^"]+)"', html)
    assert image, "the QR code is an SVG image inlined as a data: URI"
    svg = unquote(image.group(1).split(",", 1)[1])
    assert "<svg" in svg and "<path" in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    secret, _ = enrolment_form(sales_client)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    # The staff pages' one script comes from this site; nothing inline, no inline handlers.
    assert re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S) == [""]
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.I)
    policy = response["Content-Security-Policy"]
    assert "img-src 'self' data:" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "script-src 'self';" in policy + ";"
    assert Staff.get("sam@example.com").totp_secret is None  # nothing stored until a code proves the app has it


def test_each_visit_offers_a_new_secret_until_one_is_confirmed(sales_client):
    assert enrolment_form(sales_client)[0] != enrolment_form(sales_client)[0]


def test_a_wrong_code_then_the_right_one_turns_it_on_and_shows_ten_recovery_codes_once(sales_client, clock, caplog):
    caplog.set_level(logging.INFO)
    secret, pending = enrolment_form(sales_client)
    response = sales_client.post(PAGE, {"pending": pending, "code": wrong_code(secret, clock.step)})
    html = response.content.decode()
    assert response.status_code == 200 and "That code is not right" in html
    assert " ".join(secret[i:i + 4] for i in range(0, 32, 4)) in html  # the same secret, to try again
    assert Staff.get("sam@example.com").totp_secret is None

    response = sales_client.post(PAGE, {"pending": pending, "code": code_at(secret, clock.step)})
    html = response.content.decode()
    codes = recovery_codes_on(html)
    assert response.status_code == 200 and "Two-factor sign-in is on." in html and "shown only now" in html
    assert len(set(codes)) == 10
    stored = Staff.get("sam@example.com")
    assert stored.totp_secret and secret not in stored.totp_secret  # encrypted at rest
    assert stored.totp_last_step == clock.step  # the enrolment's code cannot sign in afterwards
    assert len(stored.recovery_codes) == 10 and not set(codes) & stored.recovery_codes
    assert not any(code.replace("-", "") in hashed for code in codes for hashed in stored.recovery_codes)

    again = sales_client.get(PAGE).content.decode()
    assert "Two-factor sign-in is on" in again and "You have 10 unused recovery codes." in again
    assert not set(codes) & set(recovery_codes_on(again)) and secret[:8] not in again.replace(" ", "")
    logged = caplog.text
    assert "Two-factor sign-in turned on for account" in logged
    assert "sam@example.com" not in logged and secret not in logged and codes[0] not in logged


def test_a_tampered_expired_or_someone_elses_pending_secret_is_refused(sales_client, admin_client, clock):
    secret, _ = enrolment_form(sales_client)
    _, admins_pending = enrolment_form(admin_client)
    for pending in ["forged", admins_pending]:
        response = sales_client.post(PAGE, {"pending": pending, "code": code_at(secret, clock.step)})
        assert response["Location"] == PAGE
        assert "That set-up took too long" in sales_client.get(PAGE).content.decode()
    assert Staff.get("sam@example.com").totp_secret is None


def test_new_recovery_codes_need_the_password_or_a_code_and_replace_the_old_ones(clock):
    secret, old_codes = two_factor_account(clock)
    browser = Client()
    password_step(browser)
    code_step(browser, code_at(secret, clock.step))
    response = browser.post("/admin/account/two-factor/recovery-codes/", {"codes-answer": "not my password"})
    assert response.status_code == 200
    assert "That is neither a current code from your app nor your password." in response.content.decode()
    response = browser.post("/admin/account/two-factor/recovery-codes/", {"codes-answer": PASSWORD})
    new_codes = recovery_codes_on(response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    browser.post("/admin/logout/")
    password_step(browser)
    assert "not right" in code_step(browser, old_codes[0]).content.decode()
    assert code_step(browser, new_codes[0]).status_code == 302


def test_turning_it_off_needs_a_current_code_or_the_password(clock):
    secret, _ = two_factor_account(clock)
    browser = Client()
    password_step(browser)
    code_step(browser, code_at(secret, clock.step))
    used = code_at(secret, clock.step)
    response = browser.post("/admin/account/two-factor/disable/", {"off-answer": used})  # used at sign-in: no proof
    assert response.status_code == 200 and "neither a current code" in response.content.decode()
    assert Staff.get("ann@example.com").totp_secret
    clock.tick()
    response = browser.post("/admin/account/two-factor/disable/", {"off-answer": code_at(secret, clock.step)})
    assert response["Location"] == PAGE
    stored = Staff.get("ann@example.com")
    assert stored.totp_secret is None and stored.recovery_codes is None and stored.totp_last_step is None
    browser.post("/admin/logout/")
    assert password_step(browser)["Location"] == "/admin/"


def test_guessing_at_the_confirmation_is_throttled(clock, settings):
    settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT = 2
    secret, _ = two_factor_account(clock)
    browser = Client()
    password_step(browser)
    code_step(browser, code_at(secret, clock.step))
    for guess in ["guess-one", "guess-two"]:
        assert browser.post("/admin/account/two-factor/disable/", {"off-answer": guess}).status_code == 200
    response = browser.post("/admin/account/two-factor/disable/", {"off-answer": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert Staff.get("ann@example.com").totp_secret


def test_an_admin_resets_someones_two_factor_which_signs_them_out(admin_client, clock, caplog):
    caplog.set_level(logging.INFO)
    secret, _ = two_factor_account(clock)
    ann = Client()
    password_step(ann)
    code_step(ann, code_at(secret, clock.step))
    assert ann.get("/admin/").status_code == 200
    page = admin_client.get("/admin/staff/ann@example.com/").content.decode()
    assert "Reset two-factor sign-in" in page
    roster = admin_client.get("/admin/staff/").content.decode()
    assert re.search(r"ann@example\.com</a></td>.*?<td[^>]*>on</td></tr>", roster)
    assert re.search(r"boss@example\.com</a></td>.*?<td[^>]*>off</td></tr>", roster)
    response = admin_client.post("/admin/staff/ann@example.com/two-factor/reset/")
    assert response["Location"] == "/admin/staff/ann@example.com/"
    assert "Two-factor sign-in is off for ann@example.com" in admin_client.get(response["Location"]).content.decode()
    assert ann.get("/admin/").status_code == 302  # signed out everywhere
    stored = Staff.get("ann@example.com")
    assert stored.totp_secret is None and stored.recovery_codes is None
    assert password_step(Client())["Location"] == "/admin/"  # the password alone, until they enrol again
    audit = [r.getMessage() for r in caplog.records if "reset for account" in r.getMessage()]
    assert len(audit) == 1 and "@" not in audit[0]


def test_only_admins_reset_two_factor_and_not_their_own_from_the_staff_page(sales_client, admin_client, clock):
    two_factor_account(clock, email="ann@example.com")
    assert sales_client.post("/admin/staff/ann@example.com/two-factor/reset/").status_code == 403
    enrol(admin_client, clock)
    response = admin_client.post("/admin/staff/boss@example.com/two-factor/reset/")
    assert response["Location"] == "/admin/staff/boss@example.com/"
    assert Staff.get("boss@example.com").totp_secret and Staff.get("ann@example.com").totp_secret
    assert admin_client.post("/admin/staff/nobody@example.com/two-factor/reset/").status_code == 404


def test_anonymous_visitors_get_the_sign_in_page_for_every_two_factor_page(client):
    for url in [PAGE, "/admin/account/two-factor/disable/", "/admin/account/two-factor/recovery-codes/"]:
        assert client.get(url)["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("secret_key_fallbacks, works", [([], False), (["tests-only-not-a-secret"], True)])
def test_a_secret_key_rotation_keeps_two_factor_working_only_with_the_old_key_as_a_fallback(
        clock, settings, secret_key_fallbacks, works):
    secret, codes = two_factor_account(clock)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key", secret_key_fallbacks
    staff = Staff.get("ann@example.com")
    if works:
        assert two_factor.two_factor_verify(staff=staff, code=code_at(secret, clock.step)) == "app"
        assert two_factor.two_factor_verify(staff=staff, code=codes[0]) == "recovery"
    else:
        with pytest.raises(two_factor.InvalidCode):
            two_factor.two_factor_verify(staff=staff, code=code_at(secret, clock.step))
        with pytest.raises(two_factor.InvalidCode):
            two_factor.two_factor_verify(staff=staff, code=codes[0])


def test_the_enrolment_sent_again_shows_new_recovery_codes_and_another_secret_is_refused(sales_client, clock):
    secret, pending = enrolment_form(sales_client)
    form = {"pending": pending, "code": code_at(secret, clock.step)}
    first = recovery_codes_on(sales_client.post(PAGE, form).content.decode())
    again = recovery_codes_on(sales_client.post(PAGE, form).content.decode())  # its answer was lost; sent again
    assert len(again) == 10 and not set(first) & set(again)
    stored = Staff.get("sam@example.com").recovery_codes
    assert stored == {two_factor._recovery_hashes("sam@example.com", code)[0] for code in again}
    other_secret = two_factor.new_secret()
    forged_elsewhere = {"pending": two_factor_views._pending_secret("sam@example.com", other_secret),
                        "code": code_at(other_secret, clock.step)}
    response = sales_client.post(PAGE, forged_elsewhere)  # another tab's enrolment, after this one
    assert response["Location"] == PAGE
    assert "Two-factor sign-in is already on." in sales_client.get(PAGE).content.decode()
    assert Staff.get("sam@example.com").recovery_codes == stored


@pytest.mark.parametrize("url, field", [
    (PAGE, "code"), (PAGE, "pending"), ("/admin/account/two-factor/recovery-codes/", "codes-answer"),
    ("/admin/account/two-factor/disable/", "off-answer"), ("/admin/login/code/", "code"),
])
def test_codes_secrets_and_passwords_posted_are_hidden_from_error_reports(sales_client, url, field):
    from django.views.debug import SafeExceptionReporterFilter

    request = sales_client.post(url, {field: "do-not-show-me"}).wsgi_request
    assert SafeExceptionReporterFilter().get_post_parameters(request)[field] != "do-not-show-me"
