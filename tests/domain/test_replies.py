"""Replies emailed from the lead page: recorded, sent once, new → contacted in the same transaction, retried by hand."""
import pytest
from django.core import mail

from leads.domain import replies, selectors, services
from leads.domain.exceptions import LeadConflict, LeadNotFound, StorageUnavailable
from leads.storage.models import HistoryEvent, Lead
from tests.faults import dynamodb_fault
from tests.helpers import make_lead, status_count

SAM = replies.Sender(email="sam@example.com", name="Sam Seller")


def send(lead_id, *, text="Thanks, here is our offer.", form_id="a" * 32, version=None, subject="Re: Hello"):
    lead = selectors.lead_get(lead_id=lead_id)
    return replies.reply_send(lead=lead, expected_version=version or lead.version, sender=SAM, subject=subject,
                              text=text, form_id=form_id)


def replies_sent():
    """Emails to visitors (the new-lead emails to sales are not replies)."""
    return [message for message in mail.outbox if "sales@example.com" not in message.to]


def reply_entries(lead_id):
    return [e for e in selectors.lead_history(lead_id=lead_id) if e.action == "reply"]


@pytest.fixture
def broken_mail(monkeypatch):
    """Every send fails like an unreachable mail server; `fixed()` mends it."""
    class Switch:
        broken = True

    def send_messages(self, messages):
        if Switch.broken:
            raise ConnectionRefusedError("mail server down")
        mail.outbox.extend(messages)
        return len(messages)

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", send_messages)
    return Switch


def test_a_reply_is_emailed_from_the_staff_name_and_reply_to_them(settings):
    settings.DEFAULT_FROM_EMAIL = "Leads <leads@example.com>"
    lead_id = make_lead("ann@acme.com", subject="Hello")
    assert send(lead_id) == replies.SENT
    [message] = replies_sent()
    assert message.from_email == "Sam Seller <leads@example.com>"
    assert (message.to, message.reply_to, message.subject) == (["ann@acme.com"], ["sam@example.com"], "Re: Hello")
    assert message.body == "Thanks, here is our offer."


def test_the_prefilled_subject_is_re_the_leads_subject_once():
    lead_id = make_lead(subject="Pricing  for\nteams")
    assert replies.default_subject(Lead.get(lead_id)) == "Re: Pricing for teams"
    assert replies.default_subject(Lead(subject="RE: Pricing")) == "RE: Pricing"


def test_a_sent_reply_is_in_the_timeline_and_moves_a_new_lead_to_contacted_with_its_history():
    lead_id = make_lead()
    assert send(lead_id) == replies.SENT
    [entry] = reply_entries(lead_id)
    assert (entry.actor, entry.subject, entry.text, entry.delivery) == (
        "sam@example.com", "Re: Hello", "Thanks, here is our offer.", "sent")
    lead = Lead.get(lead_id)
    assert (lead.status, lead.version) == ("contacted", 2)
    assert (status_count("new"), status_count("contacted")) == (0, 1)
    [change] = [e for e in selectors.lead_history(lead_id=lead_id) if e.action == "changed"]
    assert (change.actor, change.changes, change.version) == ("sam@example.com", {"status": ["new", "contacted"]}, 2)


def test_the_setting_can_leave_the_status_alone(settings):
    settings.LEADS_REPLY_MARKS_CONTACTED = False
    lead_id = make_lead()
    assert send(lead_id) == replies.SENT
    assert Lead.get(lead_id).status == "new" and status_count("new") == 1


def test_a_reply_to_a_lead_past_new_keeps_its_status():
    lead_id = make_lead()
    services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status="qualified")
    assert send(lead_id) == replies.SENT
    assert Lead.get(lead_id).status == "qualified"
    assert (status_count("qualified"), status_count("contacted")) == (1, 0)


def test_the_same_form_is_never_sent_twice():
    lead_id = make_lead()
    assert send(lead_id, form_id="b" * 32) == replies.SENT
    assert send(lead_id, form_id="b" * 32, version=1) == replies.DUPLICATE  # a resend, its answer lost
    assert len(replies_sent()) == 1 and len(reply_entries(lead_id)) == 1


def test_a_change_by_someone_else_since_the_page_is_a_conflict_and_nothing_is_sent():
    lead_id = make_lead()
    lead = selectors.lead_get(lead_id=lead_id)
    services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", owner="boss@example.com")
    with pytest.raises(LeadConflict) as conflict:
        replies.reply_send(lead=lead, expected_version=1, sender=SAM, subject="Re: Hello", text="Hi", form_id="c" * 32)
    assert conflict.value.current.version == 2
    assert replies_sent() == [] and reply_entries(lead_id) == []


def test_a_reply_to_a_deleted_lead_is_not_found():
    lead_id = make_lead()
    lead = selectors.lead_get(lead_id=lead_id)
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    with pytest.raises(LeadNotFound):
        replies.reply_send(lead=lead, expected_version=1, sender=SAM, subject="Re: Hello", text="Hi", form_id="d" * 32)
    assert replies_sent() == []


def test_an_outage_before_sending_stores_and_sends_nothing():
    lead_id = make_lead()
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        with pytest.raises(StorageUnavailable):
            send(lead_id, form_id="e" * 32)
    assert replies_sent() == [] and reply_entries(lead_id) == []
    assert send(lead_id, form_id="e" * 32) == replies.SENT  # the same form, once DynamoDB is back


def test_a_failed_send_keeps_the_text_and_a_retry_sends_it_once(broken_mail):
    lead_id = make_lead()
    assert send(lead_id) == replies.FAILED
    [entry] = reply_entries(lead_id)
    assert (entry.delivery, entry.text) == ("failed", "Thanks, here is our offer.")
    assert Lead.get(lead_id).status == "new"  # not contacted until it went out
    broken_mail.broken = False
    retry = dict(lead_id=lead_id, event_id=entry.event_id, sender_for=lambda actor: SAM)
    assert replies.reply_retry(**retry) == replies.SENT
    assert replies.reply_retry(**retry) == replies.BUSY  # a second click sends nothing
    assert len(replies_sent()) == 1 and replies_sent()[0].body == "Thanks, here is our offer."
    assert reply_entries(lead_id)[0].delivery == "sent"
    assert Lead.get(lead_id).status == "contacted"


def test_an_edit_between_sending_and_recording_is_read_again_not_lost(monkeypatch):
    lead_id = make_lead()
    real = replies.sent_writes
    raced = []

    def racing(**kwargs):
        if not raced:
            raced.append(True)
            services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", owner="boss@example.com")
        return real(**kwargs)

    monkeypatch.setattr(replies, "sent_writes", racing)
    assert send(lead_id) == replies.SENT
    lead = Lead.get(lead_id)
    assert (lead.status, lead.owner, lead.version) == ("contacted", "boss@example.com", 3)
    assert reply_entries(lead_id)[0].delivery == "sent" and len(replies_sent()) == 1


def test_sent_but_not_recorded_is_said_and_never_sent_again(monkeypatch):
    lead_id = make_lead()
    monkeypatch.setattr(replies, "_record_sent", lambda lead, entry: (_ for _ in ()).throw(StorageUnavailable("down")))
    assert send(lead_id) == replies.UNRECORDED
    [entry] = reply_entries(lead_id)
    assert entry.delivery == "sending"  # shown as not confirmed; no Retry
    assert replies.reply_retry(lead_id=lead_id, event_id=entry.event_id, sender_for=lambda a: SAM) == replies.BUSY
    assert len(replies_sent()) == 1


def test_the_sent_transaction_is_one_list_of_writes():
    lead_id = make_lead()
    lead = Lead.get(lead_id)
    entry = HistoryEvent(lead_id, "x", delivery="sending")
    writes = replies.sent_writes(lead=lead, entry=entry, now=lead.created_at)
    assert len(writes) == 4  # the entry, the lead, its history event, the tallies


def test_newlines_in_the_subject_or_the_staff_name_never_make_headers():
    lead_id = make_lead()
    lead = selectors.lead_get(lead_id=lead_id)
    sender = replies.Sender(email="sam@example.com", name="Sam\r\nBcc: evil@example.com")
    assert replies.reply_send(lead=lead, expected_version=1, sender=sender, subject="Re: Hi\r\nBcc: evil@example.com",
                              text="Body", form_id="f" * 32) == replies.SENT
    [message] = replies_sent()
    raw = message.message().as_string()
    assert "\nBcc:" not in raw and message.recipients() == ["ann@acme.com"]


def test_a_reply_is_the_leads_first_response_and_keeps_every_listing_right(settings):
    """The reply's own transaction answers the lead (response time) and moves it in every status index."""
    from leads.domain import response_time
    from leads.storage.models import UNASSIGNED

    settings.LEADS_REPLY_MARKS_CONTACTED = True
    lead_id = make_lead("ann@acme.com")
    assert send(lead_id) == replies.SENT
    stored = Lead.get(lead_id, consistent_read=True)
    assert stored.status == "contacted" and stored.first_response_at is not None
    assert not response_time.is_waiting(stored)
    assert stored.owner_status == f"{UNASSIGNED}#contacted"
    assert [lead.lead_id for lead in selectors.lead_list(owner=UNASSIGNED, status="contacted").leads] == [lead_id]
    assert selectors.lead_list(owner=UNASSIGNED, status="new").leads == []


def test_a_reply_that_keeps_the_status_still_answers_the_lead(settings):
    settings.LEADS_REPLY_MARKS_CONTACTED = False
    lead_id = make_lead("ann@acme.com")
    assert send(lead_id) == replies.SENT
    stored = Lead.get(lead_id, consistent_read=True)
    assert stored.status == "new" and stored.first_response_at is not None
    response = selectors.dashboard().response
    assert (response.waiting, response.weeks[-1].answered) == (0, 1)  # answered, though still New
    assert status_count("new") == 1
