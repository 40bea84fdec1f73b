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


def test_the_audit_checks_the_response_time_rollups_and_repairs_them():
    """Leads stored before response times were recorded: nobody counted them as waiting; --repair does."""
    from datetime import timedelta

    from leads.domain import response_time, selectors, services
    from leads.storage.models import Lead, Tally, utcnow

    now = utcnow()
    make_lead("a@acme.com", when=now - timedelta(hours=3))
    answered = make_lead("b@acme.com", when=now - timedelta(hours=50))
    services.lead_update(lead_id=answered, expected_version=1, actor="sam@example.com", status="contacted")
    assert leads_audit()[0] == 0
    # Drift as an older version (or a lost write) would leave it: one wait, one hour and one response uncounted.
    Tally("tally#status#05").update(actions=[Tally.n_waiting.add(-1)])
    response_time.repair_hour(response_time.hour_of(now - timedelta(hours=3)), -1)
    lead = Lead.get(answered)
    response_time.repair_response(response_time.week_of(lead.first_response_at), 19, 1)
    code, out = leads_audit()
    assert code == 1
    assert "drift    waiting: stored 0, leads say 1" in out
    assert f"drift    waiting:{response_time.hour_of(now - timedelta(hours=3)):%Y-%m-%dT%H}: stored 0, leads say 1" in out
    assert f"response:{response_time.week_of(lead.first_response_at).isoformat()}:19: stored 1, leads say 0" in out
    assert leads_audit("--repair")[0] == 0
    assert leads_audit()[0] == 0
    stats = selectors.dashboard().response
    assert (stats.waiting, stats.waiting_over_a_day, stats.weeks[-1].answered) == (1, 0, 1)
    assert stats.weeks[-1].median == response_time.Percentile(2 * 86400, 3 * 86400)
