"""The app's record of its DynamoDB calls: what the request log and the benchmark's request economy read."""
import pytest

from leads.domain import selectors
from leads.storage import call_count
from tests.helpers import make_lead


def test_a_call_is_recorded_with_its_table_index_and_the_items_read():
    lead_id = make_lead("ann@acme.com")
    with call_count.counting() as calls:
        selectors.lead_get(lead_id=lead_id)
    assert [(call.operation, call.tables, call.index, call.read) for call in calls] == [
        ("GetItem", ["leads"], None, {"leads": 1})]


def test_nested_recordings_each_see_every_call():
    """A page measured by the benchmark is also counted by the request log inside it: neither loses the call."""
    make_lead("ann@acme.com")
    with call_count.counting() as outer:
        with call_count.counting() as inner:
            selectors.storage_is_reachable()
        selectors.storage_is_reachable()
    assert len(inner) == 1 and len(outer) == 2
    assert outer[0] is inner[0]


def test_nothing_is_recorded_outside_a_recording():
    with call_count.counting() as calls:
        pass
    selectors.storage_is_reachable()
    assert calls == []


@pytest.mark.backend("dynamodb-local", reason="moto charges half a unit for a strongly consistent read; AWS and DynamoDB Local one")
def test_the_capacity_units_charged_are_recorded_reads_apart_from_writes():
    """A consistent GetItem of a lead (under 4 KB) is one read unit; a submission's transaction is billed in writes."""
    with call_count.counting() as calls:
        lead_id = make_lead("ann@acme.com")
        selectors.lead_get(lead_id=lead_id)
    submit, read = calls
    assert (read.operation, read.writes, read.capacity) == ("GetItem", False, 1.0)
    # Four items (lead, history event, two tally shards) at 2 units a KB in a transaction: 8, and more for the
    # lead's index entries, which DynamoDB charges in the same TOTAL.
    assert submit.operation == "TransactWriteItems" and submit.writes and submit.capacity > 8, submit.capacity


@pytest.mark.backend("dynamodb-local", reason="moto charges a whole unit an eventually consistent item; DynamoDB Local "
                                       "half a unit for the whole batch; AWS half a unit an item (modelled)")
def test_a_batch_read_is_charged_per_item_as_aws_does():
    """AWS reads each key of a BatchGetItem as a GetItem, found or not: 32 tally shards cost 16 units, not 0.5."""
    from leads.domain import tallies
    from leads.storage.models import Tally

    keys = tallies.status_keys()
    for key in keys[:10]:  # the other 22 shards have not been written yet
        Tally(key, n_new=1).save()
    with call_count.counting() as calls:
        found = list(Tally.batch_get(keys))
    (batch,) = calls
    assert (batch.operation, len(keys), len(found), batch.capacity) == ("BatchGetItem", 32, 10, 16.0)
