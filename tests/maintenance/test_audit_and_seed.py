"""leads_audit finds and repairs counter drift; seed_demo stores consistent demo data."""
from io import StringIO

import pytest
from django.core.management import call_command

from leads import counters
from leads.models import Counter, HistoryEvent, Lead
from tests.helpers import make_lead


def audit(*args):
    out = StringIO()
    code = 0
    try:
        call_command("leads_audit", *args, stdout=out)
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue()


def test_consistent_tables_pass_the_audit():
    make_lead()
    make_lead()
    code, out = audit()
    assert code == 0 and out.strip().endswith("2 leads scanned; 0 counter(s) drifted.")


def test_drift_is_reported_then_repaired():
    make_lead()
    Counter(counters.status_key("new")).update(actions=[Counter.tally.add(5)])
    Counter(counters.status_key("lost")).update(actions=[Counter.tally.add(1)])
    code, out = audit()
    assert code == 1
    assert "drift    status#new: stored 6, leads say 1" in out and "status#lost: stored 1, leads say 0" in out
    code, out = audit("--repair")
    assert code == 0 and "2 counter(s) repaired." in out
    assert audit()[0] == 0


@pytest.mark.parametrize("count", [1, 1234])
def test_seed_demo_stores_leads_history_and_counters(count):
    out = StringIO()
    call_command("seed_demo", "--count", str(count), "--verbosity", "0", stdout=out)
    assert f"Stored {count} demo leads." in out.getvalue()
    assert Lead.count() == count
    assert HistoryEvent.count() == count
    assert audit()[0] == 0
    lead = next(Lead.scan(limit=1))
    assert lead.version == 1 and lead.email == lead.email.lower()
