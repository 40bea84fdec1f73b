"""A record someone else deletes between a page's read and its write is a 404 (or a clear message), never the
503 "storage unavailable" page, which is kept for real outages."""
import pytest

from leads.domain import selectors, services
from leads.storage.models import Lead, Staff, TrashedLead
from tests.helpers import PASSWORD, make_lead

pytestmark = pytest.mark.security(hole=8, title="A record deleted between read and write gives the 503 page")


def after_first_call(monkeypatch, owner, name, then):
    """Make owner.name run `then()` right after its first call returns: the deletion lands in between."""
    real = getattr(owner, name)
    fired = []

    def hooked(*args, **kwargs):
        result = real(*args, **kwargs)
        if not fired:
            fired.append(True)
            then()
        return result

    monkeypatch.setattr(owner, name, hooked)


def delete_lead(lead_id):
    return lambda: Lead.get(lead_id).delete()


def test_saving_a_lead_deleted_meanwhile_is_404(admin_client, monkeypatch):
    lead_id = make_lead()
    after_first_call(monkeypatch, selectors, "lead_get", delete_lead(lead_id))
    response = admin_client.post(f"/admin/leads/{lead_id}/", {"status": "lost", "notes": "", "owner": "", "version": 1})
    assert response.status_code == 404


def test_deleting_a_lead_deleted_meanwhile_is_404(admin_client, monkeypatch):
    lead_id = make_lead()
    after_first_call(monkeypatch, services, "lead_get", delete_lead(lead_id))
    assert admin_client.post(f"/admin/leads/{lead_id}/delete/").status_code == 404
    assert TrashedLead.count(lead_id) == 0  # nothing half-written for a lead that was gone


def test_restoring_a_lead_purged_meanwhile_says_so(admin_client, monkeypatch):
    lead_id = make_lead()
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    after_first_call(monkeypatch, TrashedLead, "get", lambda: TrashedLead.get(lead_id).delete())
    response = admin_client.post(f"/admin/leads/{lead_id}/restore/")
    assert response.status_code == 302 and response["Location"] == "/admin/leads/deleted/"
    assert "can no longer be restored" in admin_client.get("/admin/leads/deleted/").content.decode()
    assert Lead.count(lead_id) == 0


def test_bulk_status_on_a_lead_deleted_meanwhile_counts_it_as_gone(admin_client, monkeypatch):
    kept, gone = make_lead("a@acme.com"), make_lead("b@acme.com")
    after_first_call(monkeypatch, services, "leads_get_many", delete_lead(gone))
    response = admin_client.post("/admin/leads/bulk/", {"action": "set_status", "status": "lost", "ids": [kept, gone],
                                                         "confirm": "1"})
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert "1 lead no longer exists." in page
    assert Lead.get(kept).status == "lost"


def test_bulk_delete_of_a_lead_deleted_meanwhile_counts_it_as_gone(admin_client, monkeypatch):
    kept, gone = make_lead("a@acme.com"), make_lead("b@acme.com")
    after_first_call(monkeypatch, services, "lead_get", delete_lead(gone))
    response = admin_client.post("/admin/leads/bulk/", {"action": "delete", "ids": [gone, kept], "confirm": "1"})
    assert response.status_code == 302
    assert "1 lead no longer exists." in admin_client.get(response["Location"]).content.decode()
    assert Lead.count(kept) == 0 and TrashedLead.count(gone) == 0


@pytest.mark.parametrize("moment", ["before the service reads", "between the service's read and write"])
def test_editing_a_staff_member_removed_meanwhile_is_404(admin_client, monkeypatch, moment):
    services.staff_create(email="sam@example.com", password=PASSWORD)
    remove = lambda: Staff.get("sam@example.com").delete()  # noqa: E731
    if moment == "before the service reads":
        after_first_call(monkeypatch, selectors, "staff_get", remove)
    else:
        real_get = Staff.get
        calls = []

        def get(*args, **kwargs):
            found = real_get(*args, **kwargs)
            calls.append(1)
            if len(calls) == 2:  # the view's read, then the service's
                remove()
            return found

        monkeypatch.setattr(Staff, "get", get)
    response = admin_client.post("/admin/staff/sam@example.com/", {"name": "Sam", "role": "admin", "active": "on",
                                                                   "password": ""})
    assert response.status_code == 404
    monkeypatch.undo()
    assert Staff.count("sam@example.com") == 0  # an update must not bring a removed account back


def test_staff_pages_never_log_the_email_in_their_path(admin_client, caplog):
    services.staff_create(email="sam@example.com", password=PASSWORD)
    caplog.set_level("INFO", logger="leads.request")
    assert admin_client.get("/admin/staff/sam@example.com/").status_code == 200
    assert admin_client.get("/admin/staff/nobody@example.com/").status_code == 404
    assert "/admin/staff/<email>/" in caplog.text
    assert "@example.com" not in caplog.text
