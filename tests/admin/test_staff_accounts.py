"""Admins manage staff accounts; the createstaff command makes the first one."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from leads.models import Staff
from tests.helpers import PASSWORD


def test_admin_adds_a_sales_account_that_can_sign_in(admin_client):
    response = admin_client.post("/admin/staff/", {"email": "New@Example.com", "name": "Nia", "role": "sales",
                                                   "password": "a much longer passphrase"})
    assert response["Location"] == "/admin/staff/"
    assert "new@example.com" in admin_client.get("/admin/staff/").content.decode()
    assert Client().post("/admin/login/", {"email": "new@example.com", "password": "a much longer passphrase"}).status_code == 302


def test_weak_passwords_and_duplicates_are_refused(admin_client):
    weak = admin_client.post("/admin/staff/", {"email": "n@example.com", "role": "sales", "password": "12345"})
    assert "This password is too short" in weak.content.decode()
    dup = admin_client.post("/admin/staff/", {"email": "boss@example.com", "role": "sales", "password": PASSWORD})
    assert "There is already an account with this email." in dup.content.decode()


def test_deactivating_someone_ends_their_sessions(admin_client, sales_client):
    assert sales_client.get("/admin/leads/").status_code == 200
    admin_client.post("/admin/staff/sam@example.com/", {"name": "Sam", "role": "sales", "password": ""})
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


def test_createstaff_noinput_without_environment_explains(monkeypatch):
    monkeypatch.delenv("LEADS_ADMIN_EMAIL", raising=False)
    with pytest.raises(CommandError, match="Set LEADS_ADMIN_EMAIL and LEADS_ADMIN_PASSWORD"):
        call_command("createstaff", "--noinput")


@pytest.mark.security(hole=5, title="A staff email containing / turns /admin/staff/ into a 500")
@pytest.mark.parametrize("email", ["o/neil@example.com", "a/b/c@example.com", "x%2fy?z#w&q=1@example.com"])
def test_any_valid_email_gets_a_working_staff_page(admin_client, email):
    from django.urls import reverse
    from django.utils.html import escape

    added = admin_client.post("/admin/staff/", {"email": email, "name": "Odd", "role": "sales",
                                                "password": "a much longer passphrase"})
    assert added.status_code == 302, added.content
    listing = admin_client.get("/admin/staff/")
    assert listing.status_code == 200
    edit_url = reverse("staff:staff_edit", kwargs={"email": email})
    assert f'href="{escape(edit_url)}"' in listing.content.decode()
    page = admin_client.get(edit_url)
    assert page.status_code == 200 and escape(email) in page.content.decode()
    saved = admin_client.post(edit_url, {"name": "Renamed", "role": "sales", "active": "on", "password": ""})
    assert saved.status_code == 302
    assert Staff.get(email).name == "Renamed"
