"""Admins manage staff accounts (everyone else is invited: tests/backoffice/test_invitations.py); the createstaff
command makes the first one."""
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from leads.domain import services
from leads.storage import internals
from leads.storage.models import Staff
from tests.helpers import PASSWORD, accept_invitation, invite

LONGER = "a much longer passphrase"


def add(admin_client, email, *, name="", role="sales", password=LONGER):
    """Add someone the only way there is: invite them, and they set their password through the link."""
    return accept_invitation(invite(admin_client, email, role=role, name=name), password)


def test_admin_adds_a_sales_account_that_can_sign_in(admin_client):
    link = invite(admin_client, "New@Example.com", name="Nia")
    assert "new@example.com" in admin_client.get("/admin/staff/").content.decode()  # pending
    accept_invitation(link, LONGER)
    assert Client().post("/admin/login/", {"email": "new@example.com", "password": LONGER}).status_code == 302


def test_the_add_form_takes_no_password_and_duplicates_are_refused(admin_client):
    page = admin_client.get("/admin/staff/").content.decode()
    assert 'type="password"' not in page
    # A password posted anyway is ignored: nobody has an account until they accept.
    admin_client.post("/admin/staff/", {"email": "n@example.com", "role": "sales", "password": PASSWORD})
    assert Staff.count("n@example.com") == 0
    dup = admin_client.post("/admin/staff/", {"email": "boss@example.com", "role": "sales"})
    assert "There is already an account with this email." in dup.content.decode()


def test_an_admin_cannot_set_someone_elses_password(admin_client, sales_client):
    page = admin_client.get("/admin/staff/sam@example.com/").content.decode()
    assert 'type="password"' not in page and "Only they can set their password." in page
    saved = admin_client.post("/admin/staff/sam@example.com/", {"name": "Sam", "role": "sales", "active": "on",
                                                                "password": "chosen by the admin"})
    assert saved.status_code == 302
    assert Client().post("/admin/login/", {"email": "sam@example.com", "password": "chosen by the admin"}).status_code == 200
    assert sales_client.get("/admin/leads/").status_code == 200  # nothing changed that ends their session


def test_deactivating_someone_ends_their_sessions(admin_client, sales_client):
    assert sales_client.get("/admin/leads/").status_code == 200
    admin_client.post("/admin/staff/sam@example.com/", {"name": "Sam", "role": "sales"})
    assert sales_client.get("/admin/leads/").status_code == 302
    assert Staff.get("sam@example.com").active is False


def test_an_admin_cannot_lock_themselves_out(admin_client):
    response = admin_client.post("/admin/staff/boss@example.com/", {"role": "sales", "active": "on"})
    assert "You cannot remove your own admin access" in response.content.decode()
    assert Staff.get("boss@example.com").role == "admin"


def test_createstaff_noinput_reads_the_environment_and_is_idempotent(monkeypatch):
    monkeypatch.setenv("LEADS_ADMIN_EMAIL", "Owner@Example.com")
    monkeypatch.setenv("LEADS_ADMIN_PASSWORD", PASSWORD)
    out = StringIO()
    call_command("createstaff", "--noinput", stdout=out)
    call_command("createstaff", "--noinput", stdout=out)
    assert out.getvalue().splitlines() == ["Created admin owner@example.com.", "owner@example.com already exists."]
    assert Staff.get("owner@example.com").role == "admin"
    monkeypatch.setenv("LEADS_ADMIN_PASSWORD", "another long passphrase")
    call_command("createstaff", "--noinput", stdout=out)
    assert "Updated owner@example.com: password." in out.getvalue()
    assert Client().post("/admin/login/", {"email": "owner@example.com", "password": "another long passphrase"}).status_code == 302


def test_createstaff_noinput_refuses_a_password_the_rules_refuse(monkeypatch):
    monkeypatch.setenv("LEADS_ADMIN_EMAIL", "owner@example.com")
    monkeypatch.setenv("LEADS_ADMIN_PASSWORD", "ownerexample")
    with pytest.raises(CommandError) as refused:
        call_command("createstaff", "--noinput", stdout=StringIO())
    assert str(refused.value) == "The password was refused: The password is too similar to the email address."
    assert Staff.count("owner@example.com") == 0
    monkeypatch.setenv("LEADS_ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError, match="This password is too short. It must contain at least 12 characters."):
        call_command("createstaff", "--noinput", stdout=StringIO())


def test_createstaff_noinput_leaves_an_account_alone_whose_password_already_matches(monkeypatch):
    """Rules tightened after the account was made never stop `make run`: nothing is set, nothing is checked."""
    services.staff_create(email="owner@example.com", password="tenletters", role="admin")
    monkeypatch.setenv("LEADS_ADMIN_EMAIL", "owner@example.com")
    monkeypatch.setenv("LEADS_ADMIN_PASSWORD", "tenletters")
    out = StringIO()
    call_command("createstaff", "--noinput", stdout=out)
    assert out.getvalue() == "owner@example.com already exists.\n"


def test_createstaff_asks_again_until_the_rules_accept_the_password(monkeypatch):
    answers = iter(["ownerexample", "ownerexample", "short", "short", "plum orchard by the river", "plum orchard by the river"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    out, err = StringIO(), StringIO()
    call_command("createstaff", "--email", "owner@example.com", "--name", "Owner", stdout=out, stderr=err)
    assert err.getvalue().splitlines() == [
        "The password is too similar to the email address.",
        "This password is too short. It must contain at least 12 characters.",
    ]
    assert out.getvalue() == "Created admin owner@example.com.\n"
    assert Client().post("/admin/login/", {"email": "owner@example.com", "password": "plum orchard by the river"}).status_code == 302


def test_createstaff_noinput_without_environment_explains(monkeypatch):
    monkeypatch.delenv("LEADS_ADMIN_EMAIL", raising=False)
    with pytest.raises(CommandError, match="Set LEADS_ADMIN_EMAIL and LEADS_ADMIN_PASSWORD"):
        call_command("createstaff", "--noinput")


@pytest.mark.security(hole=5, title="A staff email containing / turns /admin/staff/ into a 500")
@pytest.mark.parametrize("email", ["o/neil@example.com", "a/b/c@example.com", "x%2fy?z#w&q=1@example.com"])
def test_any_valid_email_gets_a_working_staff_page(admin_client, email):
    from django.urls import reverse
    from django.utils.html import escape

    add(admin_client, email, name="Odd")
    listing = admin_client.get("/admin/staff/")
    assert listing.status_code == 200
    edit_url = reverse("backoffice:staff_edit", kwargs={"email": email})
    assert f'href="{escape(edit_url)}"' in listing.content.decode()
    page = admin_client.get(edit_url)
    assert page.status_code == 200 and escape(email) in page.content.decode()
    saved = admin_client.post(edit_url, {"name": "Renamed", "role": "sales", "active": "on"})
    assert saved.status_code == 302
    assert Staff.get(email).name == "Renamed"


def stored_item(email: str) -> dict:
    """The staff item exactly as DynamoDB holds it."""
    return internals.table_connection(Staff).get_item(email, consistent_read=True)["Item"]


def test_a_staff_member_without_a_name_is_stored_with_an_empty_one_and_shown_by_email(admin_client):
    add(admin_client, "anon@example.com", name="")
    assert stored_item("anon@example.com")["name"] == {"S": ""}  # DynamoDB takes empty strings since 2020
    assert Staff.get("anon@example.com").name == ""
    listing = admin_client.get("/admin/staff/").content.decode()
    assert re.search(r">anon@example\.com</a></td><td[^>]*></td><td[^>]*>sales</td>", listing)
    assert ">None</td>" not in listing
    anon = Client()
    assert anon.post("/admin/login/", {"email": "anon@example.com", "password": LONGER}).status_code == 302
    assert '<span class="who">anon@example.com · sales</span>' in anon.get("/admin/leads/").content.decode()


def test_clearing_a_name_stores_an_empty_one(admin_client):
    add(admin_client, "nia@example.com", name="Nia")
    saved = admin_client.post("/admin/staff/nia@example.com/", {"name": "", "role": "sales", "active": "on"})
    assert saved.status_code == 302, saved.content
    assert stored_item("nia@example.com")["name"] == {"S": ""}
    page = admin_client.get("/admin/staff/nia@example.com/").content.decode()
    assert 'name="name" maxlength="100"' in page and 'value="Nia"' not in page


def test_an_account_stored_without_a_name_reads_as_an_empty_one():
    internals.table_connection(Staff).put_item("old@example.com", attributes={
        "roster": {"S": "staff"}, "password": {"S": "!"}, "role": {"S": "sales"}, "active": {"BOOL": True},
        "created_at": {"S": "2026-01-01T00:00:00.000000Z"},
    })
    old = Staff.get("old@example.com")
    assert (old.name, old.display_name) == ("", "old@example.com")
