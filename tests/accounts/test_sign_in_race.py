"""A change of role, password or `active` ends every session, including one whose sign-in is in flight."""
import pytest
from django.test import Client

from leads.backoffice import views as backoffice_views
from leads.accounts import auth
from leads.domain import services
from leads.storage.models import Staff, StaffSession
from tests.helpers import PASSWORD

TITLE = "A sign-in in flight outlives demotion or deactivation"
CHANGES = {"demoted": {"role": "sales"}, "deactivated": {"active": False}, "new password": {"password": "another long passphrase"}}


def sign_in(client, email="ann@example.com", password=PASSWORD):
    return client.post("/admin/login/", {"email": email, "password": password})


def sessions_of(email):
    return [item.session_key for item in StaffSession.scan() if item.staff_email == email]


@pytest.mark.security(hole=1, title=TITLE)
@pytest.mark.parametrize("change", CHANGES)
def test_a_change_between_the_staff_read_and_the_session_write_wins(monkeypatch, change):
    services.staff_create(email="ann@example.com", password=PASSWORD, role="admin")
    real_authenticate = auth.authenticate

    def authenticate_then_admin_acts(**kwargs):
        staff = real_authenticate(**kwargs)  # the Staff read: still an active admin with this password
        services.staff_update(email="ann@example.com", **CHANGES[change])  # the admin acts right now
        return staff

    monkeypatch.setattr(backoffice_views.auth, "authenticate", authenticate_then_admin_acts)
    client = Client()
    response = sign_in(client)
    assert response.status_code == 409
    assert "Your account was changed while you were signing in" in response.content.decode()
    assert sessions_of("ann@example.com") == []
    assert client.get("/admin/staff/").status_code == 302  # signed out, not an admin for 12 hours
    monkeypatch.undo()
    again = sign_in(Client(), password=CHANGES[change].get("password", PASSWORD))
    if change == "deactivated":
        assert again.status_code == 200 and "do not match an active account" in again.content.decode()
    else:
        assert again.status_code == 302  # signing in again gives the new role
        assert Client().get("/admin/").status_code == 302


@pytest.mark.security(hole=1, title=TITLE)
def test_a_session_written_just_before_the_change_is_ended_even_if_the_index_lags(monkeypatch):
    services.staff_create(email="ann@example.com", password=PASSWORD, role="admin")
    client = Client()
    assert sign_in(client).status_code == 302
    # The staff-index is eventually consistent: on AWS a session written a moment ago may not be in it yet.
    monkeypatch.setattr(StaffSession.by_staff, "query", lambda *args, **kwargs: iter(()))
    services.staff_update(email="ann@example.com", role="sales")
    assert client.get("/admin/").status_code == 302
    assert sessions_of("ann@example.com") == []
    assert not Staff.get("ann@example.com").session_keys  # and the record of ended sessions is emptied


def test_signing_out_drops_the_sessions_key_from_the_account():
    services.staff_create(email="ann@example.com", password=PASSWORD)
    client = Client()
    sign_in(client)
    key = client.cookies["leads_session"].value
    assert Staff.get("ann@example.com").session_keys == {key}
    client.post("/admin/logout/")
    assert not Staff.get("ann@example.com").session_keys


def test_a_renamed_account_keeps_its_sessions():
    services.staff_create(email="ann@example.com", password=PASSWORD)
    client = Client()
    sign_in(client)
    services.staff_update(email="ann@example.com", name="Ann B.")
    assert client.get("/admin/").status_code == 200
