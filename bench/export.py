"""5. Export: the app's CSV vs a bare PynamoDB loop writing the same CSV, in fresh processes (`python -m bench.export app|floor ROWS`)."""
import csv
import hashlib
import itertools
import json
import os
import sys
import time

from .common import HTTPS, SESSION_COOKIE, child_json, django_client, interleaved, median, ratio, vm_kb

COLUMNS = ["lead_id", "created_at", "name", "email", "company", "subject", "message", "status", "owner", "notes", "updated_at"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # cells a spreadsheet would run: the app prefixes them with '
CHUNK = 100


class Sink:
    """Where the CSV goes: counted (a write a row, both sides), hashed, then dropped."""

    def __init__(self):
        self.writes, self.bytes, self.hash = 0, 0, hashlib.sha256()

    def write(self, data):
        data = data.encode() if isinstance(data, str) else data
        self.writes, self.bytes = self.writes + 1, self.bytes + len(data)
        self.hash.update(data)


def app_export(rows: int, sink: Sink) -> None:
    response = django_client(os.environ["BENCH_SESSION"]).get("/admin/leads/export.csv")
    assert response.status_code == 200, f"export: HTTP {response.status_code}"
    for chunk in itertools.islice(response.streaming_content, rows + 1):  # the header, then a chunk a row; never held
        sink.write(chunk)
    response.close()


def floor_export(rows: int, sink: Sink) -> None:
    from datetime import UTC, datetime

    from bench.baseline.models import Lead

    def cell(name: str, value) -> str:
        if name in ("created_at", "updated_at"):
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).isoformat()
        return "" if value is None else ("'" + value if value.startswith(FORMULA_START) else value)

    writer, done = csv.writer(sink), 0
    writer.writerow(["id", *COLUMNS[1:]])
    keys = (item.lead_id for item in Lead.created_index.query("all", scan_index_forward=False, page_size=CHUNK))
    while done < rows and (chunk := list(itertools.islice(keys, CHUNK))):  # a BatchGetItem per index page, as the app
        found = {lead.lead_id: lead for lead in Lead.batch_get(chunk)}
        for lead in list(filter(None, map(found.get, chunk)))[:rows - done]:
            writer.writerow([cell(name, getattr(lead, name)) for name in COLUMNS])
            done += 1


def child(kind: str, rows: int) -> dict:
    sink, started = Sink(), time.perf_counter()
    (app_export if kind == "app" else floor_export)(rows, sink)
    seconds, done = time.perf_counter() - started, sink.writes - 1  # less the header
    return {"kind": kind, "rows": done, "seconds": seconds, "rows_per_s": done / seconds if seconds else None,
            "bytes": sink.bytes, "sha256": sink.hash.hexdigest(), "hwm_mb": vm_kb(os.getpid(), "VmHWM") / 1024}


def run(*, app_env: dict, baseline_env: dict, session: str, rows: int, small_rows: int, rounds: int) -> dict:
    """A small export of each (memory before it grows, the same CSV?), then full ones in alternating order."""
    envs = {"app": {**app_env, "BENCH_SESSION": session}, "floor": baseline_env}
    spawn = lambda kind, n: child_json(["-m", "bench.export", kind, str(n)], envs[kind])  # noqa: E731
    small = {kind: spawn(kind, small_rows) for kind in envs}
    full = interleaved(rounds, envs, lambda _, kind, __: spawn(kind, rows))[None]
    summary = {kind: {"rows": runs[0]["rows"], "rows_per_s": median([r["rows_per_s"] for r in runs]),
                      "seconds": median([r["seconds"] for r in runs]), "hwm_mb_full": median([r["hwm_mb"] for r in runs]),
                      "hwm_mb_small": small[kind]["hwm_mb"], "small_rows": small[kind]["rows"]} for kind, runs in full.items()}
    for figures in summary.values():
        figures["hwm_growth_mb"] = figures["hwm_mb_full"] - figures["hwm_mb_small"]
    return {"rounds": rounds, **summary, "rows_per_s_vs_floor": ratio(summary["app"]["rows_per_s"], summary["floor"]["rows_per_s"]),
            "same_csv": small["app"]["sha256"] == small["floor"]["sha256"]}


def over_http(server, session: str) -> dict:
    """The same export through gunicorn (context only): rows/s as a client sees them, the worker's memory growth."""
    import requests

    before, started, lines, size = server.worker_memory()["peak_hwm_mb"] or 0, time.perf_counter(), 0, 0
    with requests.get(f"{server.url}/admin/leads/export.csv", headers=HTTPS, cookies={SESSION_COOKIE: session},
                      stream=True, timeout=1800) as response:
        response.raise_for_status()
        for block in response.iter_content(65536):
            size, lines = size + len(block), lines + block.count(b"\n")
    seconds = time.perf_counter() - started
    return {"rows": lines - 1, "seconds": seconds, "rows_per_s": (lines - 1) / seconds, "bytes": size,
            "worker_hwm_growth_mb": (server.worker_memory()["peak_hwm_mb"] or 0) - before}


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]))))
