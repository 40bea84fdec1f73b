"""lead_submit stores a lead exactly once, with its counters and history, or nothing at all."""
import json
import uuid
from datetime import datetime, timezone

import pytest

from leads.domain.exceptions import RateLimited, StorageUnavailable
from leads.storage import internals
from leads.storage.models import HistoryEvent, Lead
from leads.domain.services import lead_submit
from tests.faults import dynamodb_fault
from tests.helpers import day_count, status_count

# The real clock, not a fixed date: a rate-limit window's counter expires (TTL) an hour after the window
# ends, and DynamoDB Local 3.3.1 deletes expired items as AWS does, so a window long past could vanish
# between two submissions and let a client over its allowance.
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def submit(lead_id=None, **overrides):
    fields = dict(
        lead_id=lead_id or uuid.uuid4().hex,
        name="Ada",
        email="ada@acme.com",
        company="Acme",
        subject="Hello",
        message="Hi there",
        client="client-a",
        now=NOW,
    )
    fields.update(overrides)
    return lead_submit(**fields)



def test_stores_a_new_lead_with_index_keys():
    result = submit("a" * 32)
    assert result.created
    lead = Lead.get("a" * 32)
    assert (lead.status, lead.email, lead.email_domain) == ("new", "ada@acme.com", "acme.com")
    assert lead.status_email == "new#ada@acme.com"
    assert lead.created_at == NOW
    assert lead.version == 1


def test_timestamps_are_stored_as_utc_iso_8601():
    submit("b" * 32)
    raw = internals.table_connection(Lead).get_item("b" * 32)["Item"]
    assert raw["created_at"]["S"] == NOW.strftime("%Y-%m-%dT%H:%M:%S.000000Z")  # e.g. 2026-11-21T09:30:00.000000Z


def test_counts_status_and_day_in_the_same_write():
    submit()
    submit()
    assert status_count("new") == 2
    assert day_count(NOW.date()) == 2


def test_records_the_creation_in_history():
    submit("c" * 32)
    events = list(HistoryEvent.query("c" * 32))
    assert [(e.actor, e.action, json.loads(e.changes)) for e in events] == [("visitor", "created", {})]


def test_the_same_id_twice_stores_one_lead_and_counts_once():
    first = submit("d" * 32)
    second = submit("d" * 32, message="changed my mind")
    assert (first.created, second.created) == (True, False)
    assert Lead.get("d" * 32).message == "Hi there"
    assert status_count("new") == 1
    assert len(list(HistoryEvent.query("d" * 32))) == 1


def test_rate_limit_refuses_the_client_over_its_allowance(settings):
    settings.LEADS_RATELIMIT_COUNT = 3
    for _ in range(3):
        submit()
    with pytest.raises(RateLimited) as raised:
        submit()
    assert 0 < raised.value.retry_after <= settings.LEADS_RATELIMIT_WINDOW
    assert status_count("new") == 3
    # Another client is not affected.
    assert submit(client="client-b").created


def test_duplicates_do_not_use_up_the_allowance(settings):
    settings.LEADS_RATELIMIT_COUNT = 2
    submit("e" * 32)
    for _ in range(5):
        assert not submit("e" * 32).created
    assert submit().created


def test_rate_limit_can_be_disabled(settings):
    settings.LEADS_RATELIMIT_COUNT = 1
    settings.LEADS_RATELIMIT_DISABLED = True
    assert submit().created and submit().created


@pytest.mark.parametrize(
    "fault",
    [
        dict(code="ProvisionedThroughputExceededException"),
        dict(code="ThrottlingException"),
        dict(code="InternalServerError", status=500),
        dict(timeout=True),
    ],
    ids=["throughput", "throttling", "500", "timeout"],
)
def test_storage_failure_raises_and_writes_nothing(fault):
    with dynamodb_fault(operations={"TransactWriteItems"}, **fault) as log, pytest.raises(StorageUnavailable):
        submit("f" * 32)
    assert log.injected == 2  # the first try and the one retry the test settings allow
    with pytest.raises(Lead.DoesNotExist):
        Lead.get("f" * 32)
    assert status_count("new") == 0


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_a_transaction_cancelled_by_a_concurrent_one_is_run_again(reason):
    # Every new lead updates the shared status and day counters: on DynamoDB two submissions at once
    # can cancel each other with TransactionConflict, which botocore does not retry. The app does.
    with dynamodb_fault(operations={"TransactWriteItems"}, cancel=reason, times=2) as log:
        result = submit("9" * 32)
    assert result.created and log.injected == 2
    assert Lead.get("9" * 32) and status_count("new") == 1


def test_a_failed_condition_is_an_answer_and_never_run_again():
    # The injected cancellation blames the last item, the rate-limit counter: the client is over its limit.
    with dynamodb_fault(operations={"TransactWriteItems"}, cancel="ConditionalCheckFailed", times=1) as log:
        with pytest.raises(RateLimited):
            submit("7" * 32)
    assert log.injected == 1
