"""The inbox's counts: every status shard in ONE Query on the counters' tally-index (issue 15, capacity units).

A BatchGetItem of the 32 shards was billed as 32 eventually consistent reads, 16 read units on every list page
(AWS reads each key of a batch as a GetItem, rounded up to 4 KB); a Query is billed on the size of what it
returns, and 32 small shards are under 4 KB: half a unit.
"""
import pytest
from django.core.management import call_command

from leads.domain import selectors, tallies
from leads.storage import call_count
from leads.storage.models import Tally
from tests.helpers import make_lead


def test_the_counts_are_one_query_on_the_tally_index_and_count_every_lead():
    for n in range(12):  # a shard each, at random: some shards get several
        make_lead(f"visitor{n}@acme.com")
    with call_count.counting() as calls:
        counts = selectors.status_counts()
    assert [(call.operation, call.tables, call.index) for call in calls] == [("Query", ["counters"], "tally-index")]
    assert counts["new"] == 12 and counts["contacted"] == 0


def test_a_shard_written_before_the_index_counts_once_leads_backfill_keys_has_run():
    """Shards stored by an older version lack the index key, so the Query misses them until the backfill."""
    make_lead("ann@acme.com")
    Tally(tallies.status_shard_key(tallies.shard_count() - 1), n_new=5, n_lost=2).save()  # as the old version left it
    assert selectors.status_counts()["new"] == 1
    call_command("leads_backfill_keys", stdout=open("/dev/null", "w"))
    assert (selectors.status_counts()["new"], selectors.status_counts()["lost"]) == (6, 2)
    call_command("leads_backfill_keys", stdout=open("/dev/null", "w"))  # safe to run again
    assert selectors.status_counts()["new"] == 6


@pytest.mark.backend("dynamodb-local", reason="moto charges a whole unit an eventually consistent item")
def test_reading_every_status_shard_costs_half_a_read_unit_not_sixteen():
    for key in tallies.status_keys():  # all 32 shards written, as on any busy inbox
        Tally(key, n_new=1, n_contacted=1, n_qualified=1, n_converted=1, n_lost=1, n_waiting=1,
              tally_kind=tallies.STATUS_TALLY).save()
    with call_count.counting() as calls:
        counts = selectors.status_counts()
    (query,) = calls
    assert counts["new"] == len(tallies.status_keys()) == 32
    assert (query.operation, query.capacity) == ("Query", 0.5)
