"""Admins invite colleagues by email; the invitee chooses their own password through a one-time link."""
import json
import logging
import re
import threading
import time
from datetime import timedelta
from smtplib import SMTPRecipientsRefused
from types import SimpleNamespace

import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail, signing
from django.test import Client

from leads.domain import invitations, services
from leads.storage.models import Invitation, Staff, utcnow
from tests.helpers import PASSWORD, accept_invitation, invitation_link, invite

INVALID = "This invitation link has expired or was already used. Ask an admin for a new one."
NEW_PASSWORD = "plum orchard by the river"


def refused(response) -> bool:
    """The clear refusal page for a link that opens nothing (never a 500)."""
    return response.status_code == 404 and INVALID in response.content.decode()


def pending(admin_client) -> str:
    """The pending-invitations table of the staff page."""
    html = admin_client.get("/admin/staff/").content.decode()
    return re.search(r'<table id="invitations">.*?</table>', html, re.S).group(0)


def stored_invitations() -> list[Invitation]:
    return list(Invitation.scan(consistent_read=True))


def test_an_invitee_sets_their_own_password_and_is_signed_in(admin_client):
    response = admin_client.post("/admin/staff/", {"email": "Nia@Example.com", "name": "Nia Okoro", "role": "sales"})
    assert response["Location"] == "/admin/staff/"
    assert "Sent an invitation to nia@example.com." in admin_client.get("/admin/staff/").content.decode()
    # The email: to the invitee, from whom, as what, and the link.
    (message,) = mail.outbox
    assert message.to == ["nia@example.com"]
    assert "Boss invited you to the Leads admin as a sales user." in message.body
    link = invitation_link(message)
    assert "nia" not in link.lower() and "example" not in link  # the link names no address
    # Listed as pending, with who invited and until when; no account yet.
    row = pending(admin_client)
    expires = (utcnow() + timedelta(days=7)).strftime("%Y-%m-%d")
    assert "nia@example.com" in row and '<td data-label="Role">sales</td>' in row and "boss@example.com" in row and expires in row
    assert Staff.count("nia@example.com") == 0

    invitee = Client()
    page = invitee.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Set your password</h1>" in html and "nia@example.com" in html and "Welcome, Nia Okoro." in html
    assert "at least 12 characters" in html  # the rules are shown before they refuse anything
    response = invitee.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == "/admin/"
    dashboard = invitee.get("/admin/").content.decode()
    assert '<span class="who">Nia Okoro · sales</span>' in dashboard
    assert "Welcome, Nia Okoro. Your password is set and you are signed in." in dashboard

    staff = Staff.get("nia@example.com")
    assert (staff.role, staff.name, staff.active) == ("sales", "Nia Okoro", True)
    assert check_password(NEW_PASSWORD, staff.password)
    assert "No pending invitations." in pending(admin_client)
    assert Client().post("/admin/login/", {"email": "nia@example.com", "password": NEW_PASSWORD}).status_code == 302


def test_an_admin_invited_as_admin_can_manage_staff(admin_client):
    client = accept_invitation(invite(admin_client, "ada@example.com", role="admin", name="Ada"))
    assert client.get("/admin/staff/").status_code == 200


def test_a_used_link_is_refused_and_changes_nothing(admin_client):
    link = invite(admin_client, "nia@example.com")
    accept_invitation(link)
    assert refused(Client().get(link))
    # Another password through the same link: refused, and the account keeps the invitee's password.
    assert refused(Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}))
    assert check_password(PASSWORD, Staff.get("nia@example.com").password)


def test_a_resent_acceptance_is_sent_to_sign_in_not_signed_in(admin_client):
    """A double click, or the browser sending the form again after a lost answer: one account, no second sign-in."""
    link = invite(admin_client, "nia@example.com")
    accept_invitation(link)
    again = Client().post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert again["Location"] == "/admin/login/"
    assert Staff.count("nia@example.com") == 1


def shifted_signing_clock(monkeypatch, by: timedelta) -> None:
    """Make django.core.signing (only) believe it is `by` later, as a browser opening an old link would."""
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + by.total_seconds()))


def test_a_link_past_its_days_is_refused(admin_client, monkeypatch, settings):
    settings.LEADS_INVITATION_DAYS = 2
    link = invite(admin_client, "nia@example.com")
    shifted_signing_clock(monkeypatch, timedelta(days=2, minutes=1))
    assert refused(Client().get(link))
    assert refused(Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}))
    assert Staff.count("nia@example.com") == 0


def test_a_link_just_within_its_days_works(admin_client, monkeypatch):
    link = invite(admin_client, "nia@example.com")
    shifted_signing_clock(monkeypatch, timedelta(days=6, hours=23))
    assert Client().get(link).status_code == 200


def test_an_expired_invitation_is_refused_and_not_listed_even_before_ttl_removes_it(admin_client):
    invitation, token = invitations.invitation_create(
        email="nia@example.com", role="sales", invited_by="boss@example.com", now=utcnow() - timedelta(days=8))
    assert Invitation.count(invitation.invitation_id) == 1  # DynamoDB's TTL has not removed it yet
    link = f"/admin/invitations/{token}/"  # freshly signed, so only the stored expiry refuses it
    assert refused(Client().get(link))
    assert refused(Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}))
    assert Staff.count("nia@example.com") == 0
    assert "No pending invitations." in pending(admin_client)


def test_a_withdrawn_invitation_is_refused(admin_client):
    link = invite(admin_client, "nia@example.com")
    (invitation,) = stored_invitations()
    response = admin_client.post(f"/admin/staff/invitations/{invitation.invitation_id}/withdraw/")
    assert response["Location"] == "/admin/staff/"
    assert "Withdrew the invitation. Its link no longer works." in admin_client.get("/admin/staff/").content.decode()
    assert "No pending invitations." in pending(admin_client)
    assert refused(Client().get(link))
    assert refused(Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}))
    assert Staff.count("nia@example.com") == 0
    # Withdrawing again says so.
    admin_client.post(f"/admin/staff/invitations/{invitation.invitation_id}/withdraw/")
    assert "That invitation is no longer pending" in admin_client.get("/admin/staff/").content.decode()


def test_resend_sends_a_new_link_and_the_old_one_stops_working(admin_client):
    old = invite(admin_client, "nia@example.com")
    (invitation,) = stored_invitations()
    response = admin_client.post(f"/admin/staff/invitations/{invitation.invitation_id}/resend/")
    assert response["Location"] == "/admin/staff/"
    assert "Sent a new invitation to nia@example.com. The earlier link no longer works." in \
        admin_client.get("/admin/staff/").content.decode()
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["nia@example.com"]
    new = invitation_link(mail.outbox[1])
    assert new != old
    assert refused(Client().get(old))
    assert pending(admin_client).count("nia@example.com") == 1
    accept_invitation(new)
    assert Staff.count("nia@example.com") == 1


def test_inviting_the_same_address_again_replaces_the_invitation(admin_client):
    first = invite(admin_client, "nia@example.com", role="sales")
    second = invite(admin_client, "NIA@example.com", role="admin")
    assert refused(Client().get(first))
    assert pending(admin_client).count("nia@example.com") == 1 and '<td data-label="Role">admin</td>' in pending(admin_client)
    accept_invitation(second)
    assert Staff.get("nia@example.com").role == "admin"


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
    lambda token: "x" + token[1:],  # the payload
    lambda token: token.split(":")[0],  # no signature at all
    lambda token: "not-a-token",
    lambda token: "a" * 3000,
    lambda token: signing.dumps({"i": "0" * 32, "n": "x"}, salt="leads.cursor"),  # signed, for something else
    lambda token: signing.dumps(["i", "n"], salt="leads.domain.invitations"),  # right salt, wrong shape
    lambda token: signing.dumps({"i": "0" * 32, "n": "x"}, salt="leads.domain.invitations"),  # no such invitation
])
def test_a_tampered_or_made_up_link_is_refused(admin_client, tamper):
    link = invite(admin_client, "nia@example.com")
    token = link.split("/")[-2]
    forged = f"/admin/invitations/{tamper(token)}/"
    assert refused(Client().get(forged))
    assert refused(Client().post(forged, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}))
    assert Staff.count("nia@example.com") == 0


def test_the_nonce_of_another_invitation_opens_nothing(admin_client):
    invite(admin_client, "nia@example.com")
    invite(admin_client, "sam@example.com")
    nia, sam = sorted(stored_invitations(), key=lambda i: i.email)
    # A genuine signature over Nia's key with Sam's nonce: nobody could make one, but neither would it open.
    forged = signing.dumps({"i": nia.invitation_id, "n": sam.nonce}, salt="leads.domain.invitations")
    assert refused(Client().get(f"/admin/invitations/{forged}/"))


def test_two_clicks_at_once_make_one_account(admin_client, serialized_moto, monkeypatch):
    link = invite(admin_client, "nia@example.com")
    # Both requests read the pending invitation before either writes: the transaction alone decides.
    both_read = threading.Barrier(2, timeout=10)
    read = invitations.invitation_for_token

    def read_then_wait(*args, **kwargs):
        invitation = read(*args, **kwargs)
        both_read.wait()
        return invitation

    monkeypatch.setattr(invitations, "invitation_for_token", read_then_wait)
    clients, responses = [Client(), Client()], [None, None]

    def click(n, password):
        responses[n] = clients[n].post(link, {"new_password1": password, "new_password2": password})

    threads = [threading.Thread(target=click, args=(0, PASSWORD)), threading.Thread(target=click, args=(1, NEW_PASSWORD))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(invitations, "invitation_for_token", read)
    winners = [n for n in (0, 1) if responses[n].status_code == 302 and responses[n]["Location"] == "/admin/"]
    assert len(winners) == 1
    loser = 1 - winners[0]
    assert refused(responses[loser])  # another password: not theirs to set
    assert [s.email for s in Staff.scan(consistent_read=True)].count("nia@example.com") == 1
    assert check_password([PASSWORD, NEW_PASSWORD][winners[0]], Staff.get("nia@example.com").password)
    assert clients[winners[0]].get("/admin/").status_code == 200
    assert clients[loser].get("/admin/").status_code == 302


def test_accepting_in_a_browser_signed_in_as_someone_else_signs_them_out(admin_client):
    link = invite(admin_client, "nia@example.com", name="Nia")
    accept_invitation(link, client=admin_client)
    assert '<span class="who">Nia · sales</span>' in admin_client.get("/admin/").content.decode()
    assert not Staff.get("boss@example.com").session_keys


def test_an_address_with_an_account_cannot_be_invited(admin_client):
    services.staff_create(email="sam@example.com", password=PASSWORD, role="sales")
    response = admin_client.post("/admin/staff/", {"email": "Sam@Example.com", "name": "", "role": "admin"})
    assert response.status_code == 200
    assert "There is already an account with this email." in response.content.decode()
    assert mail.outbox == [] and stored_invitations() == []
    assert Staff.get("sam@example.com").role == "sales"


def test_resending_to_an_address_that_has_an_account_by_now_says_so(admin_client):
    invite(admin_client, "sam@example.com")
    services.staff_create(email="sam@example.com", password=PASSWORD, role="sales")  # createstaff, say
    (invitation,) = stored_invitations()
    admin_client.post(f"/admin/staff/invitations/{invitation.invitation_id}/resend/")
    assert "That address has an account by now." in admin_client.get("/admin/staff/").content.decode()
    assert len(mail.outbox) == 1


def test_sales_staff_cannot_invite_resend_or_withdraw(admin_client, sales_client):
    invite(admin_client, "nia@example.com")
    (invitation,) = stored_invitations()
    before = (invitation.nonce, len(mail.outbox))
    assert sales_client.post("/admin/staff/", {"email": "eve@example.com", "role": "admin"}).status_code == 403
    for action in ("resend", "withdraw"):
        assert sales_client.post(f"/admin/staff/invitations/{invitation.invitation_id}/{action}/").status_code == 403
    assert [(i.email, i.nonce) for i in stored_invitations()] == [("nia@example.com", before[0])]
    assert len(mail.outbox) == before[1]
    assert "Your account" in sales_client.get("/admin/").content.decode()


def test_resend_and_withdraw_take_posts_with_a_csrf_token_only(admin_client):
    invite(admin_client, "nia@example.com")
    (invitation,) = stored_invitations()
    url = f"/admin/staff/invitations/{invitation.invitation_id}/withdraw/"
    assert admin_client.get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = admin_client.cookies
    assert strict.post(url).status_code == 403
    assert strict.post("/admin/staff/", {"email": "eve@example.com", "role": "admin"}).status_code == 403
    assert [i.email for i in stored_invitations()] == ["nia@example.com"]
    assert 'name="csrfmiddlewaretoken"' in pending(admin_client)
    assert admin_client.post("/admin/staff/invitations/" + "0" * 31 + "/withdraw/").status_code == 404


@pytest.mark.parametrize("password, message", [
    ("short pass", "This password is too short. It must contain at least 12 characters."),
    ("password1234", "This password is too common."),
    ("948372615094", "This password is entirely numeric."),
    ("nia.okoro.example", "The password is too similar to the email address."),
    ("Okoro Nia Okoro", "The password is too similar to the name."),
])
def test_accepting_refuses_weak_passwords_with_the_rules_messages(admin_client, password, message):
    link = invite(admin_client, "nia.okoro@example.com", name="Okoro Nia")
    response = Client().post(link, {"new_password1": password, "new_password2": password})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html and password not in html  # never echoed back
    assert Staff.count("nia.okoro@example.com") == 0
    assert Client().get(link).status_code == 200  # still pending


def test_accepting_refuses_two_different_passwords(admin_client):
    link = invite(admin_client, "nia@example.com")
    response = Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "!"})
    assert "The two passwords do not match." in response.content.decode()
    assert Staff.count("nia@example.com") == 0


def test_a_mail_server_that_refuses_leaves_the_invitation_to_resend_and_logs_no_address(admin_client, monkeypatch,
                                                                                       caplog):
    def refuse(self, fail_silently=False):
        raise SMTPRecipientsRefused({"nia@example.com": (550, b"No such user nia@example.com")})

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    admin_client.post("/admin/staff/", {"email": "nia@example.com", "name": "Nia", "role": "sales"})
    html = admin_client.get("/admin/staff/").content.decode()
    assert "The invitation to nia@example.com is saved, but the email could not be sent. Use Resend" in html
    assert "nia@example.com" in pending(admin_client)
    assert "Could not send an invitation email (SMTPRecipientsRefused)" in caplog.text
    assert "nia" not in caplog.text


def test_nothing_personal_or_secret_reaches_the_logs(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="leads.request")
    link = invite(admin_client, "nia.private@example.com", name="Nia Private")
    token = link.split("/")[-2]
    client = Client()
    client.get(link)
    client.post(link, {"new_password1": "short", "new_password2": "short"})
    accept_invitation(link, NEW_PASSWORD, client=client)
    Client().get(link)  # refused: Django logs "Not Found: <path>"
    Client().get(f"/admin/invitations/{token[:-2]}xx/")
    text = caplog.text
    assert "GET /admin/invitations/<token>/ 404" in text
    for secret in ("nia.private", "Nia Private", token, token.split(":")[0], NEW_PASSWORD, "short"):
        assert secret not in text, secret
    # The JSON formatter writes Django's extra `request` attribute too: it must hold no token either.
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter("%(message)s")
    for record in caplog.records:
        line = formatter.format(record)
        assert token.split(":")[0] not in line and "nia.private" not in line, line
        json.loads(line)
