"""Webhooks from the leads table's stream on Lambda (LEADS_NOTIFY_VIA=stream): once per event and webhook,
retried within the function's time, dead-lettered after the last try, and never blocking the stream."""
import json

import pytest

from leads.domain import services
from leads.management import stream_handler
from leads.public import tokens
from leads.storage.models import WEBHOOK_FAILURES, Lead, WebhookFailure
from tests.management.test_lambda import FakeContext, stream_record
from tests.webhook_receiver import Receiver, refused_url

SECRET = "a-webhook-secret-for-tests-only"


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def via_stream(settings):
    settings.LEADS_NOTIFY_VIA = "stream"  # nothing is sent from the request: only the stream sends
    settings.LEADS_WEBHOOK_TIMEOUT = 0.3
    return settings


def hooks(settings, url, kind="json"):
    settings.LEADS_WEBHOOKS = [dict(kind=kind, name="crm", url=url, secret=SECRET if kind == "json" else None)]


def stored_lead() -> Lead:
    lead_id = tokens.new_lead_id()
    services.lead_submit(lead_id=lead_id, name="Ann Visitor", email="ann@acme.example", company="Acme",
                         subject="A quote", message="Twelve seats.")
    return Lead.get(lead_id, consistent_read=True)


def modify_record(before: Lead, after: Lead, sequence="200") -> dict:
    record = stream_record(after, sequence, event_name="MODIFY")
    record["dynamodb"]["OldImage"] = before.serialize()
    return record


def handle(*records, remaining_ms=30_000):
    return stream_handler.handle({"Records": list(records)}, FakeContext(remaining_ms))


def test_a_new_lead_is_posted_once_however_often_its_record_comes(via_stream, receiver, mailoutbox):
    hooks(via_stream, receiver.url)
    lead = stored_lead()
    assert receiver.received == []  # not from the request
    record = stream_record(lead)
    assert handle(record) == {"batchItemFailures": []}
    assert handle(record) == {"batchItemFailures": []}  # Lambda's redelivery
    [got] = receiver.received
    assert json.loads(got.body)["id"] == f"{lead.lead_id}-v1"
    assert len(mailoutbox) == 1  # the email beside it, once too


def test_a_status_change_is_posted_and_other_edits_are_not(via_stream, receiver):
    hooks(via_stream, receiver.url)
    new = stored_lead()
    services.lead_update(lead_id=new.lead_id, expected_version=1, actor="sam@example.com", status="contacted")
    contacted = Lead.get(new.lead_id, consistent_read=True)
    services.lead_update(lead_id=new.lead_id, expected_version=2, actor="sam@example.com", notes="Called")
    noted = Lead.get(new.lead_id, consistent_read=True)
    assert handle(modify_record(new, contacted), modify_record(contacted, noted, "300")) == {"batchItemFailures": []}
    [got] = receiver.received
    document = json.loads(got.body)
    assert (document["id"], document["lead"]["previous_status"], document["lead"]["status"]) == (
        f"{new.lead_id}-v2", "new", "contacted")


def test_a_restored_lead_is_no_new_lead(via_stream, receiver):
    hooks(via_stream, receiver.url)
    lead = stored_lead()
    services.lead_delete(lead_id=lead.lead_id, actor="boss@example.com")
    restored = services.lead_restore(lead_id=lead.lead_id, actor="boss@example.com")
    assert handle(stream_record(Lead.get(restored.lead_id, consistent_read=True))) == {"batchItemFailures": []}
    assert receiver.received == []


def test_a_dead_receiver_is_dead_lettered_and_the_stream_moves_on(via_stream, mailoutbox):
    hooks(via_stream, refused_url(), kind="slack")
    lead = stored_lead()
    assert handle(stream_record(lead)) == {"batchItemFailures": []}
    [dead] = WebhookFailure.query(WEBHOOK_FAILURES, consistent_read=True)
    assert (dead.lead, dead.error, dead.attempts) == (lead.lead_id, "connection refused", 3)
    assert handle(stream_record(lead)) == {"batchItemFailures": []}  # failing again overwrites its own
    assert len(list(WebhookFailure.query(WEBHOOK_FAILURES, consistent_read=True))) == 1


def test_no_time_left_for_a_try_leaves_the_record_for_lambdas_retry(via_stream, receiver, settings):
    hooks(via_stream, receiver.url)
    settings.LEADS_NOTIFY_EMAILS = []
    lead = stored_lead()
    # Enough for the email step's check, none left for a webhook once the spare time is kept back.
    settings.EMAIL_TIMEOUT = 0
    record = stream_record(lead, "700")
    assert handle(record, remaining_ms=stream_handler.SPARE_MILLISECONDS) == {
        "batchItemFailures": [{"itemIdentifier": "700"}]}
    assert receiver.received == [] and list(WebhookFailure.query(WEBHOOK_FAILURES)) == []
    assert handle(record) == {"batchItemFailures": []}
    assert len(receiver.received) == 1
