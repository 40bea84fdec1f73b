"""The app's record of its DynamoDB calls: what the request log and the benchmark's request economy read."""
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
