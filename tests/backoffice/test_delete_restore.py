"""Deleting a lead: confirm, delete, 404; restorable for 30 days from Recently deleted."""
import json
from datetime import timedelta

from leads.domain import services
from leads.storage.models import HistoryEvent, Lead, TrashedLead
from tests.helpers import day_count, make_lead, status_count


def test_get_asks_for_confirmation_and_deletes_nothing(admin_client):
    lead_id = make_lead("ann@acme.com", subject="Pricing")
    response = admin_client.get(f"/admin/leads/{lead_id}/delete/")
    assert "Delete this lead?" in response.content.decode() and "Pricing" in response.content.decode()
    assert Lead.get(lead_id)


def test_post_deletes_then_the_lead_is_404_and_counters_drop(admin_client):
    lead_id = make_lead()
    day = Lead.get(lead_id).created_at.date()
    response = admin_client.post(f"/admin/leads/{lead_id}/delete/")
    assert response["Location"] == "/admin/leads/"
    assert "Deleted the lead from ann@acme.com" in admin_client.get("/admin/leads/").content.decode()
    assert admin_client.get(f"/admin/leads/{lead_id}/").status_code == 404
    again = admin_client.post(f"/admin/leads/{lead_id}/delete/")  # a resend of one's own delete: done, once
    assert (again.status_code, again["Location"]) == (302, "/admin/leads/")
    assert status_count("new") == 0 and day_count(day) == 0
    actions = [e.action for e in HistoryEvent.query(lead_id)]
    assert actions == ["created", "deleted"]


def test_recently_deleted_lists_it_and_restore_brings_everything_back(admin_client):
    lead_id = make_lead("ann@acme.com", message="Keep every word")
    admin_client.post(f"/admin/leads/{lead_id}/", {"status": "qualified", "notes": "n", "owner": "", "version": 1})
    admin_client.post(f"/admin/leads/{lead_id}/delete/")
    trash = admin_client.get("/admin/leads/deleted/").content.decode()
    assert "ann@acme.com" in trash and "boss@example.com" in trash
    response = admin_client.post(f"/admin/leads/{lead_id}/restore/")
    assert response["Location"] == f"/admin/leads/{lead_id}/"
    lead = Lead.get(lead_id)
    assert (lead.message, lead.status) == ("Keep every word", "qualified")
    assert [e.text for e in HistoryEvent.query(lead_id) if e.action == "note"] == ["n"]  # the timeline came back too
    assert status_count("qualified") == 1
    assert "Nothing was deleted in the last 30 days." in admin_client.get("/admin/leads/deleted/").content.decode()
    page = admin_client.get(f"/admin/leads/{lead_id}/").content.decode()
    assert "restored" in page and "deleted" in page
    # Restoring twice (a resend whose first answer was lost) lands on the lead, restored once.
    again = admin_client.post(f"/admin/leads/{lead_id}/restore/")
    assert again["Location"] == f"/admin/leads/{lead_id}/"
    assert [e.action for e in HistoryEvent.query(lead_id)].count("restored") == 1


def test_trash_items_expire_after_30_days(admin_client):
    lead_id = make_lead()
    admin_client.post(f"/admin/leads/{lead_id}/delete/")
    item = TrashedLead.get(lead_id)
    assert timedelta(days=29) < item.expires_at - item.deleted_at <= timedelta(days=30)
    item.update(actions=[TrashedLead.expires_at.set(item.deleted_at - timedelta(seconds=1))])
    admin_client.get("/admin/leads/")  # show (and so clear) the "deleted" message first
    assert "Nothing was deleted in the last 30 days." in admin_client.get("/admin/leads/deleted/").content.decode()
    admin_client.post(f"/admin/leads/{lead_id}/restore/")
    assert admin_client.get(f"/admin/leads/{lead_id}/").status_code == 404


def test_trash_keeps_the_whole_item(admin_client):
    lead_id = make_lead(company="Acme")
    admin_client.post(f"/admin/leads/{lead_id}/delete/")
    assert json.loads(TrashedLead.get(lead_id).item)["company"] == {"S": "Acme"}


def test_every_message_about_the_restore_window_follows_the_one_constant(admin_client, monkeypatch):
    monkeypatch.setattr(services, "TRASH_DAYS", 1)
    lead_id = make_lead("ann@acme.com")
    assert "restore it for 1 day." in admin_client.get(f"/admin/leads/{lead_id}/delete/").content.decode()
    response = admin_client.post(f"/admin/leads/{lead_id}/delete/")
    assert "Recently deleted for 1 day." in admin_client.get(response["Location"]).content.decode()
    assert "can be restored for 1 day," in admin_client.get("/admin/leads/deleted/").content.decode()
