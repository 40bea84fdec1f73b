"""Rewrite RELIABILITY.md from the results files the test run wrote: `python -m tests.reliability.report`.

Reads test-artifacts/reliability/ (or RELIABILITY_REPORT_DIR): faults-<backend>.json from the fault
matrix, security.json from the security-marker plugin, load.json from the load tests. Every figure in
the page comes from those files; the prose around them is the template below.
"""
import json
import os
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("moto", "dynamodb-local")
KINDS = ("throttling", "500", "timeout", "cancelled")
LOST = ("answer lost (first)", "answer lost (all)")

INTRO = """# Reliability and security evidence

What Leads promises — no lead is ever lost or half-written, no save silently overwrites another, nobody
gets into the admin who should not — and the tests in `make test` that would catch a regression.
This page is generated: `make test` writes the results files under `test-artifacts/reliability/` and
then runs `.venv/bin/python -m tests.reliability.report`, which rewrites it. No figure here is typed
by hand.
"""

FAULTS_PROSE = """## 1. Faults, one DynamoDB call at a time (`tests/reliability/test_faults.py`)

Each write path is sent once with a pass-through botocore hook that records its DynamoDB calls, call by
call, in order. Then, on fresh tables, the same request is sent again for each call #k and each fault
kind with **exactly that call failing** — on every attempt botocore makes for it, so its own retries
fail too — while every other call reaches the store. Fault kinds: throttling
(`ThrottlingException`), HTTP 500, a read timeout, and, for `TransactWriteItems`, a cancellation
(`TransactionConflict`), which botocore never retries and `leads.storage.transactions.commit` runs again.

Every case asserts: never a 500; a 503 only because DynamoDB was unavailable, and then the person's
input is kept (the contact form with its text and the same one-time token, the sign-in form with the
email, the edit form with status, owner, notes and version — or, where a read failed before any form
could be built, the storage-unavailable page with `Retry-After`, the browser keeping the posted form);
nothing half-written (`leads_audit`'s `audit()` finds no counter drift, and every lead's last history
event matches the stored lead, in the leads table or the trash); and once the fault is lifted the very
same request succeeds, leaving exactly the fault-free result (one lead, one history event, the visitor's
rate-limit counter charged once, one session).

Then the **ambiguous outcomes**: each write call reaches the store and is applied, but its answer is
lost (a read timeout after the real call). *First*: only the first answer is lost, botocore resends
(transactions with the same `ClientRequestToken`). *All*: every answer is lost, the app gives up with a
503 and the person sends the same form again. Nothing may be duplicated or lost either way.
DynamoDB Local 3.3.1 honours `ClientRequestToken` idempotency as AWS does; moto ignores the token, so on
moto the test layer models AWS's documented behaviour (a repeated token of a committed transaction
answers success and applies nothing; other parameters under the same token are refused).
"""

FAULT_NOTES = """Cells read *status of the faulted request → status of the resend*; "kept" marks a 503 that
re-rendered the person's form (or, for JSON clients, a JSON error), "page" the storage-unavailable page; a single status means the request
succeeded despite the fault (the commit loop's next attempt, botocore's resend with the same token, or
a sign-in whose refund of its reservation failed). "=" marks a cell identical on every backend measured.

Known limits, kept on purpose: a sign-in whose attempt reservation landed while every answer was lost
counts that attempt against the allowance (refunding an attempt nobody can prove was made would
hand out free guesses); a session put whose every answer was lost leaves an item under a key never sent
to anyone, removed by TTL and ended by `staff_end_sessions` like every other.
"""

LOAD_PROSE = """## 2. Load and concurrency against a real server (`tests/reliability/test_load.py`)

The production gunicorn command (2 workers × 4 threads) with production settings, on loopback, against
Amazon's DynamoDB Local behind `tests/conflict_proxy.py`: real DynamoDB cancels a transaction that touches
an item another transaction holds (`TransactionConflict`), the emulators serialise instead, so the proxy
cancels overlapping transactions exactly as AWS documents and keeps each in flight for the time shown.
Every visitor is its own connection and client address (through a trusted proxy's `X-Forwarded-For`),
with the rate limit on. Counts are read back from the tables, never from the responses alone.
"""

SECURITY_PROSE = """## 3. Security holes found from outside (issue 9 §4)

Each fix has regression tests marked `@pytest.mark.security(hole=N, title=...)`; the outcome of every
such test, on each backend it ran on, is recorded by `tests/reliability/security_report.py`.
"""

HOSTILE_PROSE = """## 4. Hostile and malformed input (`tests/reliability/test_hostile_input.py`)

- **Property-based** (hypothesis): the HTML form (urlencoded and multipart) with arbitrary unicode,
  control characters, RTL marks, huge and missing fields; JSON mode with wrong types, nested objects,
  malformed bodies, `Idempotency-Key`s; random bytes under many content types. Never a 500; every lead
  that was stored renders in the inbox, its page and its history, its notification has no injected
  header, and the CSV export parses with one row per lead and every formula-leading cell prefixed
  with `'`.
- **Targeted**: header injection never adds a header and `Reply-To` is exactly the visitor; HTML/JS
  payloads appear escaped on every page that shows them; tampered, expired and foreign cursors give
  400; forged session cookies mean "signed out"; oversized bodies and too many fields give 400 on the
  contact form and every staff POST; unexpected methods never give 500; a missing or wrong CSRF token
  on every staff POST gives 403 and changes nothing.
- **Access control**: every URL in the URLconf is tried anonymously and as `sales`, walked from the
  URLconf so a new page cannot forget its check.

## 5. A second DynamoDB implementation

moto is our own test double; real DynamoDB is stricter. `make test` runs every test that uses a DynamoDB
a second time against Amazon's DynamoDB Local 3.3.1 (`LEADS_TEST_BACKEND=dynamodb-local`, started and
stopped by the fixtures on a free loopback port, `-inMemory`) — the production gunicorn and the browser
test included — and the load tests use it as their backend.
"""


def load(directory: Path, name: str):
    path = directory / name
    if not path.is_file() or not path.stat().st_size:
        return None
    return json.loads(path.read_text())


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def cell(case: dict) -> str:
    status = str(case["status"])
    if case["status"] == 503:
        status += " " + ("page" if case["page"] == "generic" else "kept")
    if case["status_after_retry"] is not None:
        status += f" → {case['status_after_retry']}"
    return status


def totals(cases: list[dict]) -> dict:
    writing = [c for c in cases if c["writes_lead"]]
    return {
        "cases": len(cases),
        "requests": sum(c["requests"] for c in cases),
        "DynamoDB calls failed (attempts answered with a fault)": sum(c["faults_injected"] for c in cases),
        "writes applied with their answer lost": sum(c["writes_landed_unanswered"] for c in cases),
        "answered 503 (then the resend succeeded)": sum(c["status"] == 503 for c in cases),
        "succeeded despite the fault": sum(c["status"] != 503 for c in cases),
        "responses with status 500": sum(c["status"] == 500 or c["status_after_retry"] == 500 for c in cases),
        "cases that write a lead": len(writing),
        "leads lost (over those cases)": sum(c["leads_lost"] or 0 for c in writing),
        "counter drift found by audit()": sum(c["drift"] for c in cases),
    }


def fault_section(runs: dict) -> str:
    out = [FAULTS_PROSE]
    if not runs:
        return "\n".join(out) + "\n*No fault results in this run (faults-<backend>.json missing).*\n"
    out.append("Measured with:\n")
    out.append(table(["backend", "measured (UTC)", "versions", "settings"], [
        [b, r["measured_at"], ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
         ", ".join(f"{k}: {v}" for k, v in r["settings"].items())] for b, r in runs.items()]))
    out.append("\n### Totals per backend\n")
    sums = {b: totals(r["cases"]) for b, r in runs.items()}
    out.append(table(["", *runs], [[k, *(sums[b][k] for b in runs)] for k in next(iter(sums.values()))]))
    by_key = {b: {(c["path"], c["call"], c["fault"]): c for c in r["cases"]} for b, r in runs.items()}
    first = next(iter(runs))
    calls = {}
    for c in runs[first]["cases"]:
        calls.setdefault((c["path"], c["call"]), (c["operation"], c["tables"], c["calls"]))

    def render(path, call, fault):
        cells = {b: by_key[b].get((path, call, fault)) for b in runs}
        shown = {b: cell(c) for b, c in cells.items() if c}
        if not shown:
            return "—"
        if len(set(shown.values())) == 1 and len(shown) == len(runs):
            return shown[first] + (" =" if len(runs) > 1 else "")
        return "; ".join(f"{b}: {v}" for b, v in shown.items())

    for title, kinds in (("Each call failed on its own", KINDS), ("Each write applied, its answer lost", LOST)):
        out.append(f"\n### {title}\n")
        rows = []
        for (path, call), (operation, tables, count) in calls.items():
            if not any(by_key[first].get((path, call, k)) for k in kinds):
                continue
            rows.append([path, f"{call} of {count}", f"{operation} ({', '.join(tables)})",
                         *(render(path, call, k) for k in kinds)])
        out.append(table(["write path", "call", "operation (tables)", *kinds], rows))
    out.append("\n" + FAULT_NOTES)
    return "\n".join(out)


def flatten(value, prefix=""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, json.dumps(value) if isinstance(value, (list, bool)) or value is None else value


def headlines(report: dict) -> list[str]:
    """One sentence per scenario, every number read from load.json."""
    lines = []
    if v := report.get("visitors"):
        lines.append(
            f"**{v['visitors_at_once']} visitors posting at the same moment** ({v['client_connections']} connections, "
            f"{v['distinct_client_addresses']} client addresses, rate limit {v['rate_limit']}, "
            f"{v['transaction_hold_ms']:g} ms transactions): **{v['leads_stored']} leads stored, {v['lost']} lost, "
            f"{v['duplicated']} duplicated, {v['responses_503']} × 503**; the `new` tally rose by "
            f"{v['new_tally_added']}; {v['transactions_cancelled_for_conflict']} transactions were cancelled by a "
            f"conflict and retried; post latency p50 {v['post_latency']['p50_ms']:g} ms, "
            f"p95 {v['post_latency']['p95_ms']:g} ms; `leads_audit` exit {v['audit_exit']}.")
    if s := report.get("staff_saves"):
        lines.append(
            f"**{s['staff_at_once']} staff saving {s['different_leads']} different leads at once**: "
            f"**{s['saves_stored']} saves stored, {s['responses_503']} × 503**; tallies moved "
            f"{s['new_tally_change']:+d} new / {s['contacted_tally_change']:+d} contacted; "
            f"{s['transactions_cancelled_for_conflict']} conflicts retried; save latency p50 "
            f"{s['save_latency']['p50_ms']:g} ms, p95 {s['save_latency']['p95_ms']:g} ms; `leads_audit` exit {s['audit_exit']}.")
    if c := report.get("staff_conflicts"):
        lines.append(
            f"**{c['rounds']} rounds of two staff saving one lead at once**: {c['saves_committed']} saves committed, "
            f"{c['conflicts_409']} × 409 with the loser's text kept, final version {c['final_version']} "
            f"({c['changed_events']} history events): no save silently overwrote another.")
    if f := report.get("same_form_five_times"):
        lines.append(f"**One form posted {f['posts']} times at once**: {f['leads_stored']} lead stored, "
                     f"the `new` tally rose by {f['new_tally_added']}.")
    return [f"- {line}" for line in lines]


def load_section(report) -> str:
    out = [LOAD_PROSE]
    if not report:
        return "\n".join(out) + "\n*No load results in this run (load.json missing).*\n"
    out += headlines(report) + ["", "Every figure each scenario wrote:"]
    for section, numbers in report.items():
        out.append(f"\n### {section}\n")
        out.append(table(["measure", "value"], [[k, v] for k, v in flatten(numbers)]))
    return "\n".join(out)


def security_section(report) -> str:
    out = [SECURITY_PROSE]
    if not report or not report.get("tests"):
        return "\n".join(out) + "\n*No security results in this run (security.json missing).*\n"
    tests = sorted(report["tests"].items(), key=lambda t: (t[1].get("hole") or 0, t[0]))
    backends = sorted({b for _, t in tests for b in t["outcomes"]}, key=lambda b: (b not in BACKENDS, b))
    outcomes = Counter(o for _, t in tests for o in t["outcomes"].values())
    out.append(f"{len(tests)} tests over {len({t.get('hole') for _, t in tests})} holes; outcomes: "
               + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) + ".\n")
    rows = [[t.get("hole"), t.get("title", ""), f"`{nodeid}`", *(t["outcomes"].get(b, "not run") for b in backends)]
            for nodeid, t in tests]
    out.append(table(["hole", "title", "test", *backends], rows))
    return "\n".join(out)


def render(directory: Path) -> str:
    runs = {b: r for b in BACKENDS if (r := load(directory, f"faults-{b}.json"))}
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    backends = ", ".join(f"{b} ({', '.join(f'{k} {v}' for k, v in r['versions'].items())})" for b, r in runs.items())
    head = INTRO + f"\nGenerated {generated} from `{directory.relative_to(ROOT) if directory.is_relative_to(ROOT) else directory}`"
    head += f"; backends measured: {backends or 'none'}.\n"
    return "\n".join([head, fault_section(runs), load_section(load(directory, "load.json")),
                      security_section(load(directory, "security.json")), HOSTILE_PROSE])


def main() -> int:
    directory = Path(os.environ.get("RELIABILITY_REPORT_DIR", ROOT / "test-artifacts" / "reliability")).resolve()
    target = ROOT / "RELIABILITY.md"
    target.write_text(render(directory).rstrip() + "\n")
    print(f"wrote {target.relative_to(ROOT)} from {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
