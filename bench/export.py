"""5. Export: the app's CSV export vs a bare PynamoDB loop writing the same CSV; memory vs row count.

Both run in a fresh process each, in-process (no HTTP), against the same table:

    app    Django's test client GETs /admin/leads/export.csv (signed in) and drains the stream
    floor  bare PynamoDB: Query created-index newest first, 100 keys a page, BatchGetItem the full
           items, csv.writer with the same columns, formatting and formula neutralisation

Rows/s come from the full table; peak RSS (VmHWM) from a small and a full export shows whether memory
grows with the row count. The first rows of both are compared byte for byte. Child mode:
``python -m bench.export --child app|floor --rows N``.
"""
import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import time

from .common import PYTHON, ROOT, median, ratio, vm_kb

COLUMNS = [
    ("lead_id", "id"), ("created_at", "created_at"), ("name", "name"), ("email", "email"),
    ("company", "company"), ("subject", "subject"), ("message", "message"), ("status", "status"),
    ("owner", "owner"), ("notes", "notes"), ("updated_at", "updated_at"),
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 100


class _Sink:
    """Where the CSV goes: counted, optionally hashed, then dropped."""

    def __init__(self, digest: bool):
        self.bytes = 0
        self.hash = hashlib.sha256() if digest else None

    def write(self, data):
        data = data.encode() if isinstance(data, str) else data
        self.bytes += len(data)
        if self.hash:
            self.hash.update(data)


def _app(rows: int, sink: _Sink) -> int:
    import django

    django.setup()
    from django.test import Client

    client = Client(headers={"X-Forwarded-Proto": "https"})
    client.cookies["leads_session"] = os.environ["BENCH_SESSION"]
    response = client.get("/admin/leads/export.csv")
    if response.status_code != 200:
        raise RuntimeError(f"export: HTTP {response.status_code}")
    done = -1
    for chunk in response.streaming_content:
        sink.write(chunk)
        done += 1
        if done >= rows:
            break
    response.close()
    return done


def _floor(rows: int, sink: _Sink) -> int:
    from datetime import UTC, datetime

    from bench.baseline.models import Lead

    def cell(value) -> str:
        if value is None:
            return ""
        return "'" + value if value.startswith(_FORMULA_START) else value

    def iso(value: str) -> str:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).isoformat()

    writer = csv.writer(sink)
    writer.writerow([header for _, header in COLUMNS])
    done = 0

    def flush(keys):
        nonlocal done
        found = {lead.lead_id: lead for lead in Lead.batch_get(keys)}
        for key in keys:
            lead = found.get(key)
            if lead is None:
                continue
            values = {name: getattr(lead, name) for name, _ in COLUMNS}
            values["created_at"], values["updated_at"] = iso(lead.created_at), iso(lead.updated_at)
            writer.writerow([cell(values[name]) for name, _ in COLUMNS])
            done += 1
            if done >= rows:
                return True
        return False

    keys = []
    for item in Lead.created_index.query("all", scan_index_forward=False, page_size=CHUNK):
        keys.append(item.lead_id)
        if len(keys) == CHUNK:
            if flush(keys):
                return done
            keys = []
    if keys:
        flush(keys)
    return done


def child(kind: str, rows: int, digest: bool) -> None:
    sink = _Sink(digest)
    started = time.perf_counter()
    done = (_app if kind == "app" else _floor)(rows, sink)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "kind": kind, "rows": done, "seconds": seconds, "rows_per_s": done / seconds if seconds else None,
        "bytes": sink.bytes, "sha256": sink.hash.hexdigest() if sink.hash else None,
        "hwm_mb": vm_kb(os.getpid(), "VmHWM") / 1024,
    }))


def spawn(kind: str, rows: int, env: dict, *, digest: bool = False, timeout: float = 1800) -> dict:
    command = [PYTHON, "-m", "bench.export", "--child", kind, "--rows", str(rows), *(["--digest"] if digest else [])]
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"export {kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(*, app_env: dict, baseline_env: dict, session: str, rows: int, small_rows: int, rounds: int) -> dict:
    envs = {"app": {**app_env, "BENCH_SESSION": session}, "floor": baseline_env}
    same = {kind: spawn(kind, small_rows, envs[kind], digest=True) for kind in ("app", "floor")}
    full: dict[str, list] = {"app": [], "floor": []}
    for round_no in range(rounds):
        for kind in (("app", "floor") if round_no % 2 == 0 else ("floor", "app")):
            full[kind].append(spawn(kind, rows, envs[kind]))
    summary = {
        kind: {
            "rows": results[0]["rows"],
            "rows_per_s": median([r["rows_per_s"] for r in results]),
            "seconds": median([r["seconds"] for r in results]),
            "hwm_mb_full": median([r["hwm_mb"] for r in results]),
            "hwm_mb_small": same[kind]["hwm_mb"],
            "small_rows": same[kind]["rows"],
        }
        for kind, results in full.items()
    }
    for kind in summary:
        summary[kind]["hwm_growth_mb"] = summary[kind]["hwm_mb_full"] - summary[kind]["hwm_mb_small"]
    return {
        "rounds": rounds,
        **summary,
        "rows_per_s_vs_floor": ratio(summary["app"]["rows_per_s"], summary["floor"]["rows_per_s"]),
        "same_csv": same["app"]["sha256"] == same["floor"]["sha256"],
        "bytes_small": {k: v["bytes"] for k, v in same.items()},
    }


def over_http(app_url: str, session: str, timeout: float = 1800) -> dict:
    """The same export through gunicorn (context only): rows/s as a client sees them."""
    import requests

    from .common import HTTPS, SESSION_COOKIE

    started = time.perf_counter()
    lines = size = 0
    with requests.get(f"{app_url}/admin/leads/export.csv", headers=HTTPS, cookies={SESSION_COOKIE: session},
                      stream=True, timeout=timeout) as response:
        response.raise_for_status()
        for block in response.iter_content(65536):
            size += len(block)
            lines += block.count(b"\n")
    seconds = time.perf_counter() - started
    return {"rows": lines - 1, "seconds": seconds, "rows_per_s": (lines - 1) / seconds, "bytes": size}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("app", "floor"), required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--digest", action="store_true")
    args = parser.parse_args(argv)
    child(args.child, args.rows, args.digest)


if __name__ == "__main__":
    sys.exit(main())
