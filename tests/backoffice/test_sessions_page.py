"""Where you're signed in: your sessions, signing one or all others out; admins end anyone's sessions."""
import re

import pytest
from django.test import Client

from leads.domain import services
from leads.storage.models import Staff, StaffSession
from tests.helpers import PASSWORD

CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
END_ONE = re.compile(r'<input type="hidden" name="session" value="([0-9a-f]+)">')


def sign_in(email, user_agent=CHROME_LINUX, address="203.0.113.77"):
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    response = client.post("/admin/login/", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def signed_in(client) -> bool:
    return client.get("/admin/leads/").status_code == 200


def rows(page: str) -> list[str]:
    if '<table id="sessions">' not in page:
        return []
    body = page.split('<table id="sessions">')[1].split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


@pytest.fixture
def ann():
    return services.staff_create(email="ann@example.com", password=PASSWORD, name="Ann")


def test_the_page_lists_each_session_with_its_browser_and_network(ann):
    laptop = sign_in("ann@example.com", CHROME_LINUX, "203.0.113.77")
    phone = sign_in("ann@example.com", SAFARI_IPHONE, "2001:db8:1234:5678::1")
    response = laptop.get("/admin/account/sessions/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Where you're signed in</h1>" in page
    listed = rows(page)
    assert len(listed) == 2
    assert "Chrome on Linux" in listed[0] and "203.0.113.x" in listed[0] and "This browser" in listed[0]
    assert "Safari on iPhone" in listed[1] and "2001:db8:1234::/48" in listed[1] and "This browser" not in listed[1]
    assert len(END_ONE.findall(page)) == 1  # a "Sign out" for the other session, none for this one
    assert "Sign out everywhere else" in page
    # Neither the session keys nor the addresses are in the page.
    for secret in (laptop.cookies["leads_session"].value, phone.cookies["leads_session"].value, "203.0.113.77"):
        assert secret not in page
    assert 'href="/admin/account/sessions/"' in page  # in the navigation


def test_signing_one_session_out(ann):
    laptop = sign_in("ann@example.com", CHROME_LINUX)
    phone = sign_in("ann@example.com", SAFARI_IPHONE)
    ref = END_ONE.search(laptop.get("/admin/account/sessions/").content.decode()).group(1)
    response = laptop.post("/admin/account/sessions/end/", {"session": ref})
    assert response.status_code == 302 and response["Location"] == "/admin/account/sessions/"
    page = laptop.get("/admin/account/sessions/").content.decode()
    assert "Signed that session out." in page
    assert not signed_in(phone)
    assert signed_in(laptop)
    assert len(rows(page)) == 1 and "Safari on iPhone" not in page
    assert Staff.get("ann@example.com").session_keys == {laptop.cookies["leads_session"].value}
    # Again: nothing left to end.
    again = laptop.post("/admin/account/sessions/end/", {"session": ref}, follow=True)
    assert "That session had already ended." in again.content.decode()


def test_sign_out_everywhere_else_keeps_this_browser(ann):
    laptop = sign_in("ann@example.com", CHROME_LINUX)
    others = [sign_in("ann@example.com", SAFARI_IPHONE), sign_in("ann@example.com", FIREFOX_WINDOWS)]
    response = laptop.post("/admin/account/sessions/end-others/", follow=True)
    assert "Signed out everywhere else." in response.content.decode()
    assert signed_in(laptop)
    assert not any(signed_in(other) for other in others)
    assert len(rows(laptop.get("/admin/account/sessions/").content.decode())) == 1
    key = laptop.cookies["leads_session"].value
    assert Staff.get("ann@example.com").session_keys == {key}
    assert [item.session_key for item in StaffSession.by_staff.query("ann@example.com")] == [key]


def test_nobody_can_end_another_persons_session_from_their_own_page(ann, sales_client):
    laptop = sign_in("ann@example.com")
    ref = END_ONE.search(sign_in("ann@example.com", SAFARI_IPHONE).get("/admin/account/sessions/").content.decode())
    response = sales_client.post("/admin/account/sessions/end/", {"session": ref.group(1)}, follow=True)
    assert "That session had already ended." in response.content.decode()
    assert signed_in(laptop)
    # And their own page lists their sessions only.
    page = sales_client.get("/admin/account/sessions/").content.decode()
    assert len(rows(page)) == 1


def test_sales_cannot_see_or_end_anyone_elses_sessions(ann, sales_client):
    laptop = sign_in("ann@example.com")
    assert sales_client.get("/admin/staff/ann@example.com/").status_code == 403
    assert sales_client.post("/admin/staff/ann@example.com/end-sessions/").status_code == 403
    assert signed_in(laptop)


def test_an_admin_sees_and_ends_someone_elses_sessions(ann, admin_client):
    laptop = sign_in("ann@example.com", CHROME_LINUX)
    phone = sign_in("ann@example.com", SAFARI_IPHONE, "198.51.100.20")
    access = Staff.get("ann@example.com").access
    page = admin_client.get("/admin/staff/ann@example.com/").content.decode()
    listed = rows(page)
    assert len(listed) == 2 and "This browser" not in page
    assert any("Safari on iPhone" in row and "198.51.100.x" in row for row in listed)
    assert not END_ONE.search(page)  # an admin ends them all at once
    response = admin_client.post("/admin/staff/ann@example.com/end-sessions/")
    assert response.status_code == 302 and response["Location"] == "/admin/staff/ann@example.com/"
    after = admin_client.get("/admin/staff/ann@example.com/").content.decode()
    assert "Ended every session of ann@example.com." in after and "No sessions." in after
    assert not signed_in(laptop) and not signed_in(phone)
    assert signed_in(admin_client)
    account = Staff.get("ann@example.com")
    assert account.access == (access or 0) + 1 and not account.session_keys and not account.sessions_stale
    assert signed_in(sign_in("ann@example.com"))  # they can sign in again


def test_an_admin_ending_their_own_sessions_is_signed_out_too(admin_client):
    response = admin_client.post("/admin/staff/boss@example.com/end-sessions/")
    assert response["Location"] == "/admin/login/"
    assert not signed_in(admin_client)


def test_ending_the_sessions_of_nobody_is_a_404(admin_client):
    assert admin_client.post("/admin/staff/nobody@example.com/end-sessions/").status_code == 404


def test_the_pages_need_a_signed_in_person_and_the_actions_a_post(ann):
    anonymous = Client()
    response = anonymous.get("/admin/account/sessions/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert anonymous.post("/admin/account/sessions/end-others/").status_code == 302
    laptop = sign_in("ann@example.com")
    assert laptop.get("/admin/account/sessions/end/").status_code == 405
    assert laptop.get("/admin/account/sessions/end-others/").status_code == 405


def test_the_actions_need_the_csrf_token(ann):
    browser = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=CHROME_LINUX)
    page = browser.get("/admin/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    browser.post("/admin/login/", {"email": "ann@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token})
    other = sign_in("ann@example.com", SAFARI_IPHONE)
    assert browser.post("/admin/account/sessions/end-others/").status_code == 403
    assert signed_in(other)


def test_a_malformed_session_reference_changes_nothing(ann):
    laptop = sign_in("ann@example.com")
    other = sign_in("ann@example.com", SAFARI_IPHONE)
    for ref in ("", "x" * 5000, "../../etc", laptop.cookies["leads_session"].value):
        response = laptop.post("/admin/account/sessions/end/", {"session": ref})
        assert response.status_code == 302
    assert signed_in(laptop) and signed_in(other)
