"""Notes as timeline entries: one per note with author and time, once per form, carried over from the old field."""
from datetime import datetime, timezone
from io import StringIO

import pytest
from django.core.management import call_command

from leads.domain import selectors, services, subjects, timeline
from leads.domain.erasure import subject_erase
from leads.domain.exceptions import LeadConflict, LeadNotFound
from leads.storage.models import HistoryEvent, Lead
from tests.faults import dynamodb_fault
from tests.helpers import make_lead


def notes_of(lead_id):
    return [(e.actor, e.text) for e in selectors.lead_history(lead_id=lead_id) if e.action == "note"]


def test_each_note_is_its_own_entry_with_author_and_time_newest_first():
    lead_id = make_lead()
    assert timeline.note_add(lead_id=lead_id, actor="sam@example.com", text="Called, no answer", form_id="a" * 32)
    assert timeline.note_add(lead_id=lead_id, actor="boss@example.com", text="Called again: wants a demo",
                             form_id="b" * 32)
    assert notes_of(lead_id) == [("boss@example.com", "Called again: wants a demo"), ("sam@example.com", "Called, no answer")]
    entries = [e for e in selectors.lead_history(lead_id=lead_id) if e.action == "note"]
    assert all(e.at.tzinfo is not None for e in entries) and entries[0].at >= entries[1].at
    lead = Lead.get(lead_id)
    assert lead.version == 1 and lead.notes is None  # a note never touches the lead: no conflict for editors


def test_the_same_form_stores_its_note_once():
    lead_id = make_lead()
    assert timeline.note_add(lead_id=lead_id, actor="sam@example.com", text="Once", form_id="c" * 32) is True
    assert timeline.note_add(lead_id=lead_id, actor="sam@example.com", text="Once", form_id="c" * 32) is False
    assert notes_of(lead_id) == [("sam@example.com", "Once")]


def test_a_note_on_a_deleted_lead_is_not_found_and_stores_nothing():
    lead_id = make_lead()
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    with pytest.raises(LeadNotFound):
        timeline.note_add(lead_id=lead_id, actor="sam@example.com", text="Too late", form_id="d" * 32)
    assert notes_of(lead_id) == []


def test_an_outage_stores_nothing_and_the_same_form_stores_it_after():
    lead_id = make_lead()
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        with pytest.raises(services.StorageUnavailable):
            timeline.note_add(lead_id=lead_id, actor="sam@example.com", text="Later", form_id="e" * 32)
    assert notes_of(lead_id) == []
    assert timeline.note_add(lead_id=lead_id, actor="sam@example.com", text="Later", form_id="e" * 32)
    assert notes_of(lead_id) == [("sam@example.com", "Later")]


def test_an_edit_with_notes_commits_the_note_in_the_edits_transaction():
    lead_id = make_lead()
    lead, changes, noted = timeline.lead_edit(lead_id=lead_id, expected_version=1, actor="sam@example.com",
                                              status="qualified", owner=None, notes="Budget approved")
    assert (changes, noted) == ({"status": ("new", "qualified")}, True)
    assert notes_of(lead_id) == [("sam@example.com", "Budget approved")]
    # The resend of the same edit (its answer lost) adds nothing.
    assert timeline.lead_edit(lead_id=lead_id, expected_version=1, actor="sam@example.com", status="qualified",
                              owner=None, notes="Budget approved")[1:] == ({}, False)
    assert notes_of(lead_id) == [("sam@example.com", "Budget approved")]


def test_a_conflicting_edit_stores_neither_the_change_nor_its_note():
    lead_id = make_lead()
    services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status="lost")
    with pytest.raises(LeadConflict):
        timeline.lead_edit(lead_id=lead_id, expected_version=1, actor="sam@example.com", status="qualified",
                           owner=None, notes="Mine")
    assert notes_of(lead_id) == []


def test_an_edit_whose_note_is_all_it_changes_adds_just_the_note():
    lead_id = make_lead()
    lead, changes, noted = timeline.lead_edit(lead_id=lead_id, expected_version=1, actor="sam@example.com",
                                              status="new", owner=None, notes="Only a note")
    assert (changes, noted, Lead.get(lead_id).version) == ({}, True, 1)
    assert notes_of(lead_id) == [("sam@example.com", "Only a note")]


def test_an_edit_posting_the_old_notes_unchanged_adds_no_note():
    lead_id = make_lead()
    Lead(lead_id).update(actions=[Lead.notes.set("From the old days")], add_version_condition=False)
    lead, changes, noted = timeline.lead_edit(lead_id=lead_id, expected_version=2, actor="sam@example.com",
                                              status="new", owner=None, notes="From the old days")
    assert (changes, noted) == ({}, False)


# --- manage.py migrate_notes ---------------------------------------------------------------------

def migrate_notes() -> str:
    out = StringIO()
    call_command("migrate_notes", stdout=out)
    return out.getvalue()


def test_migrate_notes_carries_old_notes_over_once_however_often_it_runs():
    edited = make_lead("ann@acme.com")
    services.lead_update(lead_id=edited, expected_version=1, actor="sam@example.com", notes="Called twice")
    seeded = make_lead("bob@acme.com")
    Lead(seeded).update(actions=[Lead.notes.set("Imported note")], add_version_condition=False)
    untouched = make_lead("cy@acme.com")
    assert "2 lead(s) with notes: 2 carried into the timeline, 0 already there." in migrate_notes()
    assert "2 lead(s) with notes: 0 carried into the timeline, 2 already there." in migrate_notes()
    # The author and time the history knows; nobody known (and the lead's creation) otherwise.
    assert notes_of(edited) == [("sam@example.com", "Called twice")]
    [entry] = [e for e in selectors.lead_history(lead_id=edited) if e.action == "note"]
    [change] = [e for e in selectors.lead_history(lead_id=edited) if e.action == "changed"]
    assert entry.at == change.at
    assert notes_of(seeded) == [("", "Imported note")]
    assert notes_of(untouched) == []
    # The page no longer shows the old field separately once it is in the timeline.
    assert timeline.legacy_notes(Lead.get(seeded), selectors.lead_history(lead_id=seeded)) is None


def test_migrate_notes_before_it_ran_the_page_still_has_the_old_notes():
    lead_id = make_lead()
    Lead(lead_id).update(actions=[Lead.notes.set("Not carried yet")], add_version_condition=False)
    assert timeline.legacy_notes(Lead.get(lead_id), selectors.lead_history(lead_id=lead_id)) == "Not carried yet"


def test_migrate_notes_reads_again_when_the_old_field_changes_under_it(monkeypatch):
    lead_id = make_lead()
    Lead(lead_id).update(actions=[Lead.notes.set("First text")], add_version_condition=False)
    real = timeline._legacy_author
    calls = []

    def racing(lead, text):
        calls.append(text)
        if len(calls) == 1:  # an old server overwrites the field between the read and the write
            Lead(lead_id).update(actions=[Lead.notes.set("Second text")], add_version_condition=False)
        return real(lead, text)

    monkeypatch.setattr(timeline, "_legacy_author", racing)
    assert timeline.legacy_note_migrate(lead_id=lead_id) is True
    assert calls == ["First text", "Second text"]
    assert notes_of(lead_id) == [("", "Second text")]


def test_retention_on_a_carried_note_expires_no_sooner_than_its_lead(settings):
    settings.LEADS_RETENTION_DAYS = 30
    lead_id = make_lead(when=datetime(2020, 1, 1, tzinfo=timezone.utc))
    Lead(lead_id).update(actions=[Lead.notes.set("Old")], add_version_condition=False)
    timeline.legacy_note_migrate(lead_id=lead_id)
    [entry] = [e for e in HistoryEvent.query(lead_id) if e.action == "note"]
    assert entry.expires_at > datetime.now(timezone.utc)


# --- One person's data ---------------------------------------------------------------------------

def test_a_persons_export_has_their_notes_and_erasure_removes_them():
    lead_id = make_lead("ann@acme.com")
    timeline.note_add(lead_id=lead_id, actor="sam@example.com", text="Ann prefers calls after 4", form_id="f" * 32)
    data = subjects.subject_find(email="ann@acme.com")
    document = subjects.subject_document(data, exported_at=datetime.now(timezone.utc), exported_by="boss@example.com",
                                         request_id="r")
    [history] = [lead["history"] for lead in document["leads"]]
    assert [event["text"] for event in history if event["action"] == "note"] == ["Ann prefers calls after 4"]
    record = subject_erase(email="ann@acme.com", actor="boss@example.com")
    assert record.history == 2  # "created" and the note
    assert list(HistoryEvent.query(lead_id)) == []
