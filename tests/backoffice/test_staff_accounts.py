"""Admins manage staff accounts; the createstaff command makes the first one."""
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from leads.storage import internals
from leads.storage.models import Staff
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
    edit_url = reverse("backoffice:staff_edit", kwargs={"email": email})
    assert f'href="{escape(edit_url)}"' in listing.content.decode()
    page = admin_client.get(edit_url)
    assert page.status_code == 200 and escape(email) in page.content.decode()
    saved = admin_client.post(edit_url, {"name": "Renamed", "role": "sales", "active": "on", "password": ""})
    assert saved.status_code == 302
    assert Staff.get(email).name == "Renamed"


def stored_item(email: str) -> dict:
    """The staff item exactly as DynamoDB holds it."""
    return internals.table_connection(Staff).get_item(email, consistent_read=True)["Item"]


def test_a_staff_member_without_a_name_is_stored_with_an_empty_one_and_shown_by_email(admin_client):
    added = admin_client.post("/admin/staff/", {"email": "anon@example.com", "name": "", "role": "sales",
                                                "password": "a much longer passphrase"})
    assert added.status_code == 302, added.content
    assert stored_item("anon@example.com")["name"] == {"S": ""}  # DynamoDB takes empty strings since 2020
    assert Staff.get("anon@example.com").name == ""
    listing = admin_client.get("/admin/staff/").content.decode()
    assert re.search(r">anon@example\.com</a></td><td></td><td>sales</td>", listing)
    assert "<td>None</td>" not in listing
    anon = Client()
    assert anon.post("/admin/login/", {"email": "anon@example.com", "password": "a much longer passphrase"}).status_code == 302
    assert '<span class="who">anon@example.com · sales</span>' in anon.get("/admin/leads/").content.decode()


def test_clearing_a_name_stores_an_empty_one(admin_client):
    admin_client.post("/admin/staff/", {"email": "nia@example.com", "name": "Nia", "role": "sales",
                                        "password": "a much longer passphrase"})
    saved = admin_client.post("/admin/staff/nia@example.com/", {"name": "", "role": "sales", "active": "on",
                                                                "password": ""})
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
