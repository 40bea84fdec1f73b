"""The benchmark code runs end to end (`python -m bench.run --quick`): tiny tables, one-second loads.

Not a benchmark: it checks that every part of `make bench` still works and that the report it writes
says what the run measured. The machine-independent findings are asserted here too — the economy
budget against DynamoDB Local (items read = items shown), the same CSV from the app and the bare loop,
no moto in the production import graph.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.backend("dynamodb-local", reason="the bench starts DynamoDB Local (and moto) itself"),
]

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_bench_runs_and_writes_its_report(tmp_path):
    if not (ROOT / ".tools" / "dynamodb-local" / "DynamoDBLocal.jar").is_file():
        pytest.skip("DynamoDB Local is not installed: make dynamodb-local")
    out = tmp_path / "BENCHMARKS.md"
    command = [sys.executable, "-m", "bench.run", "--quick", "--out", str(out), "--results", str(tmp_path / "r.json")]
    if shutil.which("wrk") is None:
        command += ["--skip", "load"]  # the bench installs wrk itself; a test never runs apt-get
    if not (ROOT / ".venv-deploy" / "bin" / "python").exists():
        command += ["--skip", "package"]  # make test builds .venv-deploy; the Lambda package is built with it
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]

    report = out.read_text()
    for heading in ("## Budgets at a glance", "## 1. DynamoDB request economy", "## 3. Cold start", "## 5. Export",
                    "## 6. Seeding", "## Closing note", "Quick smoke run"):
        assert heading in report
    assert not (ROOT / "BENCHMARKS.md").exists() or "Quick smoke run" not in (ROOT / "BENCHMARKS.md").read_text()

    results = json.loads((tmp_path / "r.json").read_text())
    small, large = (str(size) for size in results["meta"]["sizes"])
    pages = results["economy"]["pages"]
    for key in ("inbox", "inbox_next", "by_status", "by_email", "by_domain", "by_owner_me", "by_owner_none",
                "by_owner_status", "by_dates", "by_prefix"):
        for size in (small, large):
            page = pages[size][key]
            assert page["operations"] == ["GetItem", "Query", "Query"], (key, size, page["operations"])
            # What it shows, plus one look-ahead index entry when there is a next page (never more).
            assert page["lead_items_read"] - page["lookahead"] == page["shown"] > 0, (key, size, page)
            assert page["lookahead"] <= 1, (key, size, page)
    assert pages[large]["contact_json"]["operations"] == ["TransactWriteItems"]
    assert pages[large]["export"]["lead_items_read"] == 2 * pages[large]["export"]["shown"]
    assert results["export"]["same_csv"]
    assert results["coldstart"]["variants"]["app"]["forbidden"] == []
    after = results["writes"]["summary"]["after"]["20"]
    assert after["stored_total"] == after["posted_total"] == 20 and after["refused_503_total"] == 0, after
    assert "## 7. Write ceiling" in report
    if "package" in results:  # the Lambda package's cold starts all answered 200 (bench.package checks)
        assert "## 3b. The Lambda package" in report
        assert results["package"]["sizes"]["app"]["zipped"] <= 20 * 2**20
    if "load" in results:
        for page in results["load"]["pages"].values():
            for server in ("ceiling", "floor", "app"):
                assert page[server]["rps"] > 0 and page[server]["non_2xx_3xx"] == 0, page
        assert results["memory"]["app"]["peak_hwm_mb"] > 0
