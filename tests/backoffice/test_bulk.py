"""Bulk actions: confirm what will change, then apply with transactions and counters."""
from leads.domain import tallies
from leads.storage.models import Lead
from tests.helpers import day_count, make_lead, status_count


def test_bulk_status_asks_for_confirmation_listing_the_leads(sales_client):
    ids = [make_lead(f"p{n}@acme.com") for n in range(3)]
    response = sales_client.post("/admin/leads/bulk/", {"ids": ids[:2], "action": "set_status", "status": "contacted"})
    html = response.content.decode()
    assert "Set 2 leads to" in html and "p0@acme.com" in html and "p1@acme.com" in html and "p2@acme.com" not in html
    assert all(Lead.get(i).status == "new" for i in ids)


def test_confirmed_bulk_status_applies_with_counters_and_history(sales_client):
    ids = [make_lead(f"p{n}@acme.com") for n in range(3)]
    response = sales_client.post("/admin/leads/bulk/", {"ids": ids[:2], "action": "set_status", "status": "contacted",
                                                        "confirm": "1", "back": "/admin/leads/?status=new"})
    assert response["Location"] == "/admin/leads/?status=new"
    assert "Set 2 leads to Contacted." in sales_client.get(response["Location"]).content.decode()
    assert [Lead.get(i).status for i in ids] == ["contacted", "contacted", "new"]
    assert (status_count("new"), status_count("contacted")) == (1, 2)
    assert "“new” → “contacted”" in sales_client.get(f"/admin/leads/{ids[0]}/").content.decode()


def test_bulk_delete_by_admin_moves_leads_to_trash(admin_client):
    ids = [make_lead(f"p{n}@acme.com") for n in range(3)]
    confirm = admin_client.post("/admin/leads/bulk/", {"ids": ids, "action": "delete"}).content.decode()
    assert "Delete 3 leads?" in confirm
    admin_client.post("/admin/leads/bulk/", {"ids": ids, "action": "delete", "confirm": "1"})
    assert all(admin_client.get(f"/admin/leads/{i}/").status_code == 404 for i in ids)
    assert status_count("new") == 0
    trash = admin_client.get("/admin/leads/deleted/").content.decode()
    assert all(f"p{n}@acme.com" in trash for n in range(3))


def test_nothing_selected_says_so(sales_client):
    response = sales_client.post("/admin/leads/bulk/", {"action": "set_status", "status": "lost"})
    assert "Select at least one lead first." in sales_client.get(response["Location"]).content.decode()


def test_bulk_status_needs_a_status(sales_client):
    lead_id = make_lead()
    response = sales_client.post("/admin/leads/bulk/", {"ids": [lead_id], "action": "set_status", "status": ""})
    assert "Choose the status to set." in sales_client.get(response["Location"]).content.decode()


def test_deleted_or_unknown_ids_are_reported_not_fatal(sales_client):
    lead_id = make_lead()
    response = sales_client.post("/admin/leads/bulk/", {"ids": [lead_id, "a" * 32], "action": "set_status",
                                                        "status": "lost", "confirm": "1"})
    html = sales_client.get(response["Location"]).content.decode()
    assert "Set 1 lead to Lost." in html and "1 lead no longer exists." in html


def test_back_url_cannot_point_off_site(sales_client):
    lead_id = make_lead()
    response = sales_client.post("/admin/leads/bulk/", {"ids": [lead_id], "action": "set_status", "status": "lost",
                                                        "confirm": "1", "back": "https://evil.example/admin/leads/"})
    assert response["Location"] == "/admin/leads/"
