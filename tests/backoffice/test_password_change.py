"""Anyone signed in changes their own password: this browser stays signed in, every other session ends."""
import logging

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client

from leads.domain import services
from leads.storage.models import Staff, StaffSession
from tests.helpers import PASSWORD

URL = "/admin/account/password/"
NEW = "plum orchard by the river"


def sign_in(email="ann@example.com", password=PASSWORD, **extra) -> Client:
    client = Client(**extra)
    response = client.post("/admin/login/", {"email": email, "password": password})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def ann():
    return services.staff_create(email="ann@example.com", password=PASSWORD, role="sales", name="Ann Whitfield")


def change(client, current=PASSWORD, new=NEW, again=None):
    return client.post(URL, {"current_password": current, "new_password1": new, "new_password2": again or new})


def test_this_session_stays_and_every_other_one_ends(ann):
    here, elsewhere, third = sign_in(), sign_in(), sign_in()
    old_key = here.cookies["leads_session"].value
    response = change(here)
    assert response["Location"] == "/admin/"
    page = here.get("/admin/")
    assert page.status_code == 200
    assert "Your password was changed. You were signed out everywhere else." in page.content.decode()
    new_key = here.cookies["leads_session"].value
    assert new_key != old_key and StaffSession.count(old_key) == 0  # signed in again, under a new key
    for other in (elsewhere, third):
        assert other.get("/admin/leads/")["Location"].startswith("/admin/login/")
    staff = Staff.get("ann@example.com")
    assert check_password(NEW, staff.password)
    assert staff.session_keys == {new_key} and not staff.sessions_stale
    assert [s.session_key for s in StaffSession.by_staff.query("ann@example.com")] == [new_key]
    assert Client().post("/admin/login/", {"email": "ann@example.com", "password": PASSWORD}).status_code == 200
    sign_in(password=NEW)


def test_a_wrong_current_password_changes_nothing(ann):
    here, elsewhere = sign_in(), sign_in()
    response = change(here, current="not my password")
    assert response.status_code == 200
    html = response.content.decode()
    assert "That is not your current password." in html and "not my password" not in html and NEW not in html
    assert check_password(PASSWORD, Staff.get("ann@example.com").password)
    assert elsewhere.get("/admin/").status_code == 200


def test_guessing_the_current_password_is_throttled_like_signing_in(ann, settings):
    settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT = 3
    here = sign_in(REMOTE_ADDR="10.9.9.9")
    for _ in range(3):
        assert change(here, current="a guess at it").status_code == 200
    response = change(here)  # even the right one, now
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many wrong passwords. Please wait" in response.content.decode()
    assert check_password(PASSWORD, Staff.get("ann@example.com").password)


@pytest.mark.parametrize("new, message", [
    ("short pass", "This password is too short. It must contain at least 12 characters."),
    ("password1234", "This password is too common."),
    ("837261940573", "This password is entirely numeric."),
    ("ann whitfield", "The password is too similar to the name."),
    ("ann.example.com", "The password is too similar to the email address."),
])
def test_the_rules_refuse_a_weak_new_password_with_their_messages(ann, new, message):
    here = sign_in()
    response = change(here, new=new)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert check_password(PASSWORD, Staff.get("ann@example.com").password)


def test_the_new_password_must_be_typed_the_same_twice(ann):
    response = change(sign_in(), again=NEW + "?")
    assert "The two passwords do not match." in response.content.decode()
    assert check_password(PASSWORD, Staff.get("ann@example.com").password)


def test_sales_and_admins_reach_it_from_the_header_and_visitors_are_sent_to_sign_in(ann, admin_client):
    for client in (sign_in(), admin_client):
        header = client.get("/admin/").content.decode()
        assert f'<a href="{URL}">Your account</a>' in header
        page = client.get(URL).content.decode()
        assert "<h1>Change your password</h1>" in page and "at least 12 characters" in page
    assert Client().get(URL)["Location"] == "/admin/login/?next=%2Fadmin%2Faccount%2Fpassword%2F"
    assert Client().post(URL, {"current_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}).status_code == 302
    assert check_password(PASSWORD, Staff.get("ann@example.com").password)


def test_it_takes_a_csrf_token(ann):
    here = sign_in()
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = here.cookies
    assert change(strict).status_code == 403
    assert check_password(PASSWORD, Staff.get("ann@example.com").password)


def test_no_password_reaches_the_logs(ann, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="leads.request")
    here = sign_in()
    change(here, current="the wrong one entirely")
    change(here, new="short")
    change(here)
    assert "POST /admin/account/password/ 302" in caplog.text
    for secret in (PASSWORD, NEW, "the wrong one entirely", "ann@example.com", "Whitfield"):
        assert secret not in caplog.text
