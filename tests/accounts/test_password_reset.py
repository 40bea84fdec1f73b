"""Forgot your password?: the same answer for every address, throttling, and a link that works once."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from leads.domain import password_reset, services
from leads.domain.exceptions import ResetLinkInvalid
from leads.storage.models import Staff
from tests.helpers import PASSWORD

NEW_PASSWORD = "a brand new passphrase 42"
LINK = re.compile(r"http://testserver(/admin/password-reset/[^/\s]+/[^/\s]+/)")
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def ann():
    return services.staff_create(email="ann@example.com", password=PASSWORD, name="Ann")


def ask(email, client=None):
    return (client or Client()).post("/admin/password-reset/", {"email": email})


def emailed_link(index=-1) -> str:
    return LINK.search(mail.outbox[index].body).group(1)


def set_password(client, link, password=NEW_PASSWORD, again=None):
    """Follow an emailed link and choose a password; return the answer to the form's post."""
    opened = client.get(link)
    assert opened.status_code == 302, opened.content
    form_url = opened["Location"]
    return client.post(form_url, {"new_password1": password, "new_password2": again or password})


def can_sign_in(email, password) -> bool:
    return Client().post("/admin/login/", {"email": email, "password": password}).status_code == 302


def test_the_sign_in_page_offers_a_reset():
    page = Client().get("/admin/login/").content.decode()
    assert '<a href="/admin/password-reset/">Forgot your password?</a>' in page
    form = Client().get("/admin/password-reset/")
    assert form.status_code == 200 and 'name="email"' in form.content.decode()


def test_known_unknown_and_inactive_addresses_get_the_same_answer(ann):
    services.staff_create(email="ian@example.com", password=PASSWORD)
    services.staff_update(email="ian@example.com", active=False)
    answers = [ask(email) for email in ("ann@example.com", "nobody@example.com", "ian@example.com")]
    assert {answer.status_code for answer in answers} == {200}
    bodies = {CSRF.sub(b"", answer.content) for answer in answers}
    assert len(bodies) == 1
    assert "If an account exists for that address, we have sent a link" in answers[0].content.decode()
    # Only the active account got an email.
    assert [message.to for message in mail.outbox] == [["ann@example.com"]]
    assert mail.outbox[0].subject == "Reset your Leads password"


def test_the_address_is_matched_as_sign_in_matches_it(ann):
    ask("  Ann@Example.COM ")
    assert [message.to for message in mail.outbox] == [["ann@example.com"]]


def test_a_malformed_address_is_a_form_error():
    response = ask("not an address")
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


def test_the_link_sets_a_new_password_once(ann):
    ask("ann@example.com")
    link = emailed_link()
    browser = Client()
    opened = browser.get(link)
    # The token moves into the session: the page where the password is typed does not carry it.
    assert opened.status_code == 302
    uid, token = link.strip("/").split("/")[-2:]
    assert opened["Location"] == f"/admin/password-reset/{uid}/set-password/"
    page = browser.get(opened["Location"])
    assert page.status_code == 200
    assert "Choose a new password" in page.content.decode() and token not in page.content.decode()
    done = browser.post(opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/admin/login/"
    assert "Your password has been changed" in browser.get("/admin/login/").content.decode()
    assert can_sign_in("ann@example.com", NEW_PASSWORD)
    assert not can_sign_in("ann@example.com", PASSWORD)
    # Used: the same link, in this browser or any other, no longer opens anything.
    for client in (browser, Client()):
        again = client.get(link)
        assert again.status_code == 404
        assert "This password-reset link does not work" in again.content.decode()
    assert browser.get(opened["Location"]).status_code == 404


def test_new_passwords_pass_the_password_rules_and_the_link_still_works_after_a_refusal(ann):
    ask("ann@example.com")
    browser = Client()
    refused = set_password(browser, emailed_link(), password="short")
    assert refused.status_code == 200
    assert "This password is too short" in refused.content.decode()
    mismatch = browser.post(refused.request["PATH_INFO"], {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert "The two passwords do not match." in mismatch.content.decode()
    done = browser.post(refused.request["PATH_INFO"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert can_sign_in("ann@example.com", NEW_PASSWORD)


def test_a_password_change_meanwhile_kills_the_link(ann):
    ask("ann@example.com")
    services.staff_update(email="ann@example.com", password="changed by other means 7")
    assert Client().get(emailed_link()).status_code == 404


def test_signing_in_meanwhile_kills_the_link(ann):
    ask("ann@example.com")
    assert Staff.get("ann@example.com").last_login is None
    assert can_sign_in("ann@example.com", PASSWORD)
    assert Staff.get("ann@example.com").last_login is not None
    assert Client().get(emailed_link()).status_code == 404


def test_a_link_in_use_dies_when_the_password_changes_between_page_and_post(ann):
    ask("ann@example.com")
    browser = Client()
    form_url = browser.get(emailed_link())["Location"]
    services.staff_update(email="ann@example.com", password="changed by other means 7")
    refused = browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert refused.status_code == 404
    assert can_sign_in("ann@example.com", "changed by other means 7")


def test_the_link_expires(ann, settings, monkeypatch):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    ask("ann@example.com")
    link = emailed_link()
    made = password_reset.tokens._now()
    monkeypatch.setattr(password_reset.tokens, "_now", lambda: made + timedelta(seconds=3599))
    assert Client().get(link).status_code == 302
    monkeypatch.setattr(password_reset.tokens, "_now", lambda: made + timedelta(seconds=3602))
    expired = Client().get(link)
    assert expired.status_code == 404
    assert "Ask for a new link" in expired.content.decode()


def test_the_email_says_how_long_the_link_works(ann, settings):
    settings.PASSWORD_RESET_TIMEOUT = 1800
    ask("ann@example.com")
    assert "for 30 minutes" in mail.outbox[0].body


@pytest.mark.parametrize("path", [
    "/admin/password-reset/!!!/abc-def/",
    "/admin/password-reset/bm9ib2R5QGV4YW1wbGUuY29t/abc-def/",  # nobody@example.com
    "/admin/password-reset/_w/abc-def/",  # base64 of bytes that are not UTF-8
    "/admin/password-reset/" + "QUFB" * 200 + "/abc-def/",
    "/admin/password-reset/YW5uQGV4YW1wbGUuY29t/x/",  # ann@example.com with a token of the wrong shape
    "/admin/password-reset/YW5uQGV4YW1wbGUuY29t/zz-zz/",
    "/admin/password-reset/YW5uQGV4YW1wbGUuY29t/set-password/",  # no token in this browser's session
    "/admin/password-reset/YW5uQGV4YW1wbGUuY29t/" + "a" * 5000 + "/",
])
def test_tampered_links_get_a_clear_page(ann, path):
    response = Client().get(path)
    assert response.status_code == 404
    assert "This password-reset link does not work" in response.content.decode()
    assert Client().post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 404
    assert can_sign_in("ann@example.com", PASSWORD)


def test_a_token_for_one_account_does_not_open_another(ann):
    services.staff_create(email="bob@example.com", password=PASSWORD)
    ask("ann@example.com")
    token = emailed_link().strip("/").split("/")[-1]
    bob = password_reset.uid_for("bob@example.com")
    assert Client().get(f"/admin/password-reset/{bob}/{token}/").status_code == 404


def test_a_changed_character_in_the_token_is_refused(ann):
    ask("ann@example.com")
    link = emailed_link()
    tampered = link[:-2] + ("0" if link[-2] != "0" else "1") + "/"
    assert Client().get(tampered).status_code == 404


def test_an_account_deactivated_meanwhile_cannot_be_reset(ann):
    ask("ann@example.com")
    services.staff_update(email="ann@example.com", active=False)
    assert Client().get(emailed_link()).status_code == 404


def test_a_reset_signs_the_account_out_everywhere(ann):
    elsewhere = Client()
    assert elsewhere.post("/admin/login/", {"email": "ann@example.com", "password": PASSWORD}).status_code == 302
    assert elsewhere.get("/admin/leads/").status_code == 200
    access = Staff.get("ann@example.com").access
    ask("ann@example.com")
    assert set_password(Client(), emailed_link()).status_code == 302
    assert elsewhere.get("/admin/leads/").status_code == 302  # signed out
    account = Staff.get("ann@example.com")
    assert account.access == (access or 0) + 1
    assert not account.session_keys and not account.sessions_stale


def test_resetting_from_a_browser_signed_in_to_the_account_signs_it_out_too(ann):
    browser = Client()
    browser.post("/admin/login/", {"email": "ann@example.com", "password": PASSWORD})
    # The link was asked for before this sign-in would have killed it: ask now, while signed in.
    ask("ann@example.com", browser)
    done = set_password(browser, emailed_link())
    assert done.status_code == 302 and done["Location"] == "/admin/login/"
    assert browser.get("/admin/leads/").status_code == 302
    assert can_sign_in("ann@example.com", NEW_PASSWORD)


def test_of_two_submissions_of_one_link_only_one_sets_a_password(ann, monkeypatch):
    ask("ann@example.com")
    uid, token = emailed_link().strip("/").split("/")[-2:]
    checked = password_reset.staff_for_link(uid, token)  # both submissions passed the check…
    password_reset.reset_password(uid=uid, token=token, password=NEW_PASSWORD)  # …and the first one lands
    monkeypatch.setattr(password_reset, "staff_for_link", lambda *_: checked)
    with pytest.raises(ResetLinkInvalid):
        password_reset.reset_password(uid=uid, token=token, password="the second one loses 9")
    assert can_sign_in("ann@example.com", NEW_PASSWORD)


def test_requests_are_throttled_per_address_whether_or_not_it_has_an_account(ann, settings):
    settings.LEADS_PASSWORD_RESET_MAX_PER_ADDRESS = 2
    for email in ("ann@example.com", "nobody@example.com"):
        answers = [ask(email, Client(REMOTE_ADDR=f"10.0.0.{n}")) for n in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert "Too many reset requests" in answers[2].content.decode()
        assert int(answers[2]["Retry-After"]) > 0
    assert len(mail.outbox) == 2  # ann's first two; none for the refused one


def test_requests_are_throttled_per_client(ann, settings):
    settings.LEADS_PASSWORD_RESET_MAX_PER_CLIENT = 3
    client = Client(REMOTE_ADDR="10.9.9.9")
    answers = [ask(f"guess{n}@example.com", client).status_code for n in range(3)]
    assert answers == [200, 200, 200]
    assert ask("ann@example.com", client).status_code == 429
    assert mail.outbox == []
    assert ask("ann@example.com", Client(REMOTE_ADDR="10.1.1.1")).status_code == 200
    assert len(mail.outbox) == 1


def test_a_failing_mail_server_changes_nothing_in_the_answer(ann, settings, caplog):
    settings.EMAIL_BACKEND = "tests.accounts.test_password_reset.FailingBackend"
    answers = [ask(email) for email in ("ann@example.com", "nobody@example.com")]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert CSRF.sub(b"", answers[0].content) == CSRF.sub(b"", answers[1].content)
    assert "Could not send a password-reset email" in caplog.text
    assert "ann@example.com" not in caplog.text


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_sessions_a_reset_could_not_end_are_ended_by_the_next_sign_in(ann, monkeypatch, caplog):
    from leads.domain.exceptions import StorageUnavailable

    elsewhere = Client()
    elsewhere.post("/admin/login/", {"email": "ann@example.com", "password": PASSWORD})
    finish = services.staff_finish_access_change

    def outage(**kwargs):
        raise StorageUnavailable("DynamoDB is having a moment")

    ask("ann@example.com")
    monkeypatch.setattr(services, "staff_finish_access_change", outage)
    assert set_password(Client(), emailed_link()).status_code == 302  # the password is changed all the same
    assert "the next sign-in will" in caplog.text
    assert Staff.get("ann@example.com").sessions_stale
    monkeypatch.setattr(services, "staff_finish_access_change", finish)
    assert can_sign_in("ann@example.com", NEW_PASSWORD)
    assert elsewhere.get("/admin/leads/").status_code == 302
    assert not Staff.get("ann@example.com").sessions_stale


def test_the_form_sent_again_after_its_reset_landed_unanswered_finishes_it(ann):
    from django.contrib.auth.hashers import make_password

    elsewhere = Client()
    elsewhere.post("/admin/login/", {"email": "ann@example.com", "password": PASSWORD})
    ask("ann@example.com")
    browser = Client()
    form_url = browser.get(emailed_link())["Location"]
    # What the reset's write leaves when its answer is lost and the page said 503: the new password, the
    # access stamp moved, the sessions still to end.
    Staff("ann@example.com").update(actions=[Staff.password.set(make_password(NEW_PASSWORD)),
                                             Staff.sessions_stale.set(True), Staff.access.add(1)])
    other = browser.post(form_url, {"new_password1": "not what was sent 77", "new_password2": "not what was sent 77"})
    assert other.status_code == 404  # only the very same form finishes it
    again = browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert again.status_code == 302 and again["Location"] == "/admin/login/"
    assert elsewhere.get("/admin/leads/").status_code == 302
    assert not Staff.get("ann@example.com").sessions_stale
    # Once finished, nothing more comes of sending it.
    assert Client().post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 404


def test_nothing_personal_or_secret_reaches_the_logs(caplog):
    import json
    import logging

    from pythonjsonlogger.json import JsonFormatter

    services.staff_create(email="ann.private@example.com", password=PASSWORD, name="Ann Private")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="leads.request")
    ask("ann.private@example.com")
    ask("nobody.private@example.com")
    link = emailed_link()
    uid, token = link.strip("/").split("/")[-2:]
    browser = Client()
    form_url = browser.get(link)["Location"]
    browser.post(form_url, {"new_password1": "short", "new_password2": "short"})
    browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    Client().get(link)  # spent: Django logs "Not Found: <path>"
    Client().get(f"/admin/password-reset/{uid}/{token[:-2]}xx/")
    text = caplog.text
    assert "GET /admin/password-reset/<uidb64>/<token>/ 404" in text
    for secret in ("ann.private", "nobody.private", "Ann Private", uid, token, NEW_PASSWORD, "short"):
        assert secret not in text, secret
    formatter = JsonFormatter("%(message)s")
    for record in caplog.records:
        line = formatter.format(record)
        assert uid not in line and token not in line, line
        json.loads(line)
