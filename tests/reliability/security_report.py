"""pytest plugin: record every test marked `security(hole=N, title=...)` and its outcome, per backend.

With RELIABILITY_REPORT_DIR set, the session writes them to <dir>/security.json, keeping the other
backend's outcomes from an earlier run, for tests/reliability/report.py.
"""
import json
import os
from pathlib import Path

_marked: dict[str, dict] = {}
_outcomes: dict[str, str] = {}


def pytest_collection_modifyitems(items):
    for item in items:
        marker = item.get_closest_marker("security")
        if marker is not None:
            _marked[item.nodeid] = {"hole": marker.kwargs.get("hole"), "title": marker.kwargs.get("title", "")}


def pytest_runtest_logreport(report):
    if report.nodeid not in _marked:
        return
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif report.skipped:
        _outcomes.setdefault(report.nodeid, "skipped")
    elif report.when == "call":
        _outcomes.setdefault(report.nodeid, "passed")


def pytest_sessionfinish(session):
    directory = os.environ.get("RELIABILITY_REPORT_DIR")
    if not directory or not _outcomes:
        return
    backend = os.environ.get("LEADS_TEST_BACKEND", "moto")
    path = Path(directory, "security.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    document = json.loads(path.read_text()) if path.is_file() and path.stat().st_size else {"tests": {}}
    for nodeid, outcome in _outcomes.items():
        entry = document["tests"].setdefault(nodeid, {"outcomes": {}})
        entry.update(_marked[nodeid])
        entry["outcomes"][backend] = outcome
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
