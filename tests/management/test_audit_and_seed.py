"""leads_audit finds and repairs counter drift; seed_demo stores consistent demo data."""
from io import StringIO

import pytest
from django.core.management import call_command

from leads.domain import tallies
from leads.storage.models import HistoryEvent, Lead, Tally
from tests.helpers import day_count, leads_audit, make_lead, status_count


def test_consistent_tables_pass_the_audit():
    make_lead()
    make_lead()
    code, out = leads_audit()
    assert code == 0 and out.strip().endswith("2 leads scanned; 0 counter(s) drifted.")


def test_drift_is_reported_then_repaired():
    lead = Lead.get(make_lead())
    # Drift spread over shards, as a bug or a manual edit might leave it: the sums are what count.
    Tally(tallies.status_shard_key(7)).update(actions=[Tally.n_new.add(2)])
    Tally(tallies.status_shard_key(31)).update(actions=[Tally.n_new.add(3)])
    Tally(tallies.status_shard_key(3)).update(actions=[Tally.n_lost.add(1)])
    day = lead.created_at.date()
    Tally(tallies.month_shard_key(tallies.month_of(day), 5)).update(
        actions=[getattr(Tally, tallies.day_attribute(day)).add(-1)])
    code, out = leads_audit()
    assert code == 1
    assert "drift    status:new: stored 6, leads say 1" in out and "status:lost: stored 1, leads say 0" in out
    assert f"drift    day:{day.isoformat()}: stored 0, leads say 1" in out
    code, out = leads_audit("--repair")
    assert code == 0 and "3 counter(s) repaired." in out
    assert leads_audit()[0] == 0
    assert status_count("new") == 1 and status_count("lost") == 0 and day_count(day) == 1


@pytest.mark.parametrize("count", [1, 1234])
def test_seed_demo_stores_leads_history_and_counters(count):
    out = StringIO()
    call_command("seed_demo", "--count", str(count), "--verbosity", "0", stdout=out)
    assert f"Stored {count} demo leads." in out.getvalue()
    assert Lead.count() == count
    assert HistoryEvent.count() == count
    assert leads_audit()[0] == 0
    lead = next(Lead.scan(limit=1))
    assert lead.version == 1 and lead.email == lead.email.lower()
