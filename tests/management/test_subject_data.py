"""manage.py subject_data: the privacy page's export and erasure for scripts, with exit codes that say how it went."""
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.domain import services, subjects
from leads.management.maintenance import audit
from leads.storage.models import PRIVACY_LOG, Lead, PrivacyRequest, utcnow
from tests.faults import dynamodb_fault
from tests.helpers import make_lead, status_count

ADDRESS = "xavier@acme.com"
OTHER = "xavier@acme.co"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    import botocore.endpoint
    from types import SimpleNamespace

    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda seconds: None))


def person(email):
    ids = [make_lead(email, name="Xavier", message=f"Private {n}") for n in range(3)]
    services.delivery_mark(lead_id=ids[0], expires_at=utcnow() + timedelta(days=1))  # DynamoDB Local runs TTL for real
    services.lead_delete(lead_id=ids[2], actor="boss@example.com")
    return ids


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("subject_data", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_writes_every_item_of_the_address_to_stdout_and_nothing_of_anyone_else():
    mine, theirs = person(ADDRESS), person(OTHER)
    out, err = run("export", " Xavier@Acme.com")
    document = json.loads(out)
    assert document["email"] == ADDRESS and document["counts"] == {"leads": 2, "history": 4, "trash": 1, "markers": 1}
    assert sorted(e["lead"]["lead_id"] for e in document["leads"]) == sorted(mine[:2])
    assert not any(lead_id in out for lead_id in theirs) and '"xavier@acme.co"' not in out
    assert "Exported 2 lead(s)" in err and document["request_id"] in err and ADDRESS not in err
    [record] = PrivacyRequest.query(PRIVACY_LOG)
    assert record.kind == "export" and record.subject == subjects.subject_hash(ADDRESS)


def test_export_to_a_file_readable_by_its_owner_only(tmp_path):
    person(ADDRESS)
    target = tmp_path / "subject.json"
    out, _ = run("export", ADDRESS, "--output", str(target), "--actor", "dpo@example.com")
    assert out == ""
    assert json.loads(target.read_text())["exported_by"] == "dpo@example.com"
    assert (os.stat(target).st_mode & 0o777) == 0o600


def test_erase_with_yes_erases_everything_exactly(monkeypatch):
    mine, theirs = person(ADDRESS), person(OTHER)
    out, _ = run("erase", ADDRESS, "--actor", "dpo@example.com", "--yes")
    assert out.startswith("Erased 2 lead(s), 4 history event(s), 1 deleted lead(s), 1 delivery marker(s). Request ")
    assert ADDRESS not in out
    assert subjects.subject_find(email=ADDRESS).empty and audit()[1] == []
    assert status_count("new") == 2 and all(Lead.count(i) == 1 for i in theirs[:2])
    again, _ = run("erase", ADDRESS, "--actor", "dpo@example.com", "--yes")
    assert "Erased 0 lead(s)" in again and "nothing was stored" in again and status_count("new") == 2


def test_erase_asks_and_anything_but_yes_erases_nothing(monkeypatch):
    person(ADDRESS)
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "no")
    with pytest.raises(CommandError, match="Not erased"):
        run("erase", ADDRESS, "--actor", "dpo@example.com")
    assert prompts[0].startswith("Erase 2 lead(s), 4 history event(s)") and ADDRESS not in prompts[0]
    assert subjects.subject_find(email=ADDRESS).counts["leads"] == 2
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    run("erase", ADDRESS, "--actor", "dpo@example.com")
    assert subjects.subject_find(email=ADDRESS).empty


def test_bad_arguments_are_errors():
    with pytest.raises(CommandError, match="--actor"):
        run("erase", ADDRESS, "--yes")
    with pytest.raises(CommandError, match="not a valid email"):
        run("erase", "nobody", "--actor", "dpo@example.com", "--yes")
    with pytest.raises(CommandError, match="--actor is not a valid"):
        run("erase", ADDRESS, "--actor", "dpo", "--yes")


def test_an_erase_cut_short_exits_non_zero_and_running_it_again_finishes_it():
    person(ADDRESS)
    with dynamodb_fault(operations={"TransactWriteItems"}, code="InternalServerError", status=500, skip=2):
        with pytest.raises(CommandError, match="run the same command again"):
            run("erase", ADDRESS, "--actor", "dpo@example.com", "--yes")
    assert audit()[1] == []
    out, _ = run("erase", ADDRESS, "--actor", "dpo@example.com", "--yes")
    assert out.startswith("Erased 2 lead(s), 4 history event(s), 1 deleted lead(s), 1 delivery marker(s).")
    [record] = PrivacyRequest.query(PRIVACY_LOG)
    assert (record.state, record.runs) == ("finished", 2)


@pytest.mark.backend("moto", reason="checks the exit status of the command line itself; no DynamoDB is reached")
def test_the_command_line_exits_non_zero_on_failure():
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "manage.py", "subject_data", "erase", "not-an-address", "--yes",
                             "--actor", "dpo@example.com"], cwd=root, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"})
    assert result.returncode == 1 and "not a valid email address" in result.stderr
