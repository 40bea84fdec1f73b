"""2 and 4. Throughput, latency and worker memory under gunicorn, with wrk at concurrency 16.

Each page of the app is run side by side with (a) the ceiling — plain Django rendering a template, no
data access — and (b) the data floor — plain Django making the same DynamoDB calls with bare PynamoDB
(bench/baseline). Both projects are served by the app's own gunicorn.conf.py (gthread, preload, 2
workers), on loopback, against the same DynamoDB Local tables. Runs are interleaved round by round, in
a rotating order, and each figure is the median over the rounds.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import requests

from .common import BENCH, CORS_ORIGIN, HTTPS, SESSION_COOKIE, log, median, ratio

WRK_DIR = BENCH / "wrk"
CONCURRENCY = 16
WRK_THREADS = 2
SERVERS = ("ceiling", "floor", "app")


def ensure_wrk() -> str | None:
    """wrk from Debian's packages: found on PATH, or installed with apt-get when we are allowed to."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") is None:
        return None
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        return None
    log("wrk is missing: apt-get install -y wrk")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 600}
    if subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "wrk"], **quiet).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update", "-qq"], **quiet)
        subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "wrk"], **quiet)
    return shutil.which("wrk")


def _script(tmp: Path, kind: str) -> Path:
    """The Lua script for a run: the summary reporter, plus the POST generator for form posts."""
    path = tmp / f"wrk-{kind}.lua"
    parts = [(WRK_DIR / "report.lua").read_text()]
    if kind == "post":
        parts.insert(0, (WRK_DIR / "post.lua").read_text())
    path.write_text("\n".join(parts))
    return path


def run_wrk(url: str, *, script: Path, seconds: float, headers: dict, script_args=(), connections=CONCURRENCY) -> dict:
    """One bounded wrk run; requests/s and latency percentiles (ms)."""
    command = ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    found = re.search(r"^WRK_JSON (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    data = json.loads(found.group(1))
    seconds_run = data["duration_us"] / 1e6
    errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
    return {
        "rps": data["requests"] / seconds_run,
        "requests": data["requests"],
        "p50_ms": data["p50"] / 1000, "p90_ms": data["p90"] / 1000, "p99_ms": data["p99"] / 1000,
        "max_ms": data["max"] / 1000, "mean_ms": data["mean"] / 1000,
        "non_2xx_3xx": data["status"], "socket_errors": errors,
    }


def pages(app_url: str, base_url: str, lead_id: str, fix_url: str | None = None) -> list[dict]:
    """The pages under load: the app's, and the same page at the floor and the ceiling (and the app + fixes)."""
    plan = [
        {"key": "inbox", "label": "inbox", "kind": "get", "expect": 200,
         "app": f"{app_url}/admin/leads/", "floor": f"{base_url}/floor/leads/", "ceiling": f"{base_url}/ceiling/"},
        {"key": "by_status", "label": "inbox ?status=new", "kind": "get", "expect": 200,
         "app": f"{app_url}/admin/leads/?status=new", "floor": f"{base_url}/floor/leads/?status=new",
         "ceiling": f"{base_url}/ceiling/"},
        {"key": "lead", "label": "lead page", "kind": "get", "expect": 200,
         "app": f"{app_url}/admin/leads/{lead_id}/", "floor": f"{base_url}/floor/leads/{lead_id}/",
         "ceiling": f"{base_url}/ceiling/"},
        {"key": "contact_post", "label": "contact form POST (JSON)", "kind": "post", "expect": 201,
         "app": f"{app_url}/", "floor": f"{base_url}/floor/contact/", "ceiling": f"{base_url}/ceiling/post/"},
    ]
    if fix_url:
        for page in plan:
            page["app_fix"] = page["app"].replace(app_url, fix_url, 1)
    return plan


def _check(url: str, page: dict, headers: dict) -> None:
    """One request by hand before the load: the right status, and signed in where it must be."""
    if page["kind"] == "post":
        body = {"name": "Check", "email": f"check-{uuid.uuid4().hex[:8]}@load.example", "subject": "Check",
                "message": "Checking the benchmark's post."}
        response = requests.post(url, json=body, headers={**headers, "Accept": "application/json", "Origin": CORS_ORIGIN,
                                                          "Idempotency-Key": uuid.uuid4().hex}, timeout=30,
                                 allow_redirects=False)
    else:
        response = requests.get(url, headers=headers, timeout=30, allow_redirects=False)
    if response.status_code != page["expect"]:
        raise RuntimeError(f"{url}: expected {page['expect']}, got {response.status_code}: {response.text[:500]}")


def run(*, app_url: str, base_url: str, session: str, lead_id: str, seconds: float, rounds: int, tmp: Path,
        warmup: float = 3, fix_url: str | None = None) -> dict:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    headers = {**HTTPS, "Cookie": f"{SESSION_COOKIE}={session}"}
    scripts = {"get": _script(tmp, "get"), "post": _script(tmp, "post")}
    plan = pages(app_url, base_url, lead_id, fix_url)
    servers = SERVERS + (("app_fix",) if fix_url else ())
    for page in plan:
        for server in servers:
            _check(page[server], page, headers)
    nonce = uuid.uuid4().hex[:8]

    def once(page, server, duration, tag):
        args = (f"{nonce}{tag}{server}", CORS_ORIGIN) if page["kind"] == "post" else ()
        return run_wrk(page[server], script=scripts[page["kind"]], seconds=duration, headers=headers, script_args=args)

    if warmup > 0:
        log("load: warming up every server and page")
        for page in plan:
            for server in servers:
                once(page, server, warmup, "w")

    runs: dict = {page["key"]: {server: [] for server in servers} for page in plan}
    for round_no in range(rounds):
        for page in plan:
            shift = round_no % len(servers)
            order = servers[shift:] + servers[:shift]
            for server in order:
                result = once(page, server, seconds, f"r{round_no}")
                runs[page["key"]][server].append(result)
                log(f"load round {round_no + 1}/{rounds} {page['key']:<13} {server:<8}"
                    f"{result['rps']:7.1f} req/s  p99 {result['p99_ms']:7.1f} ms"
                    + (f"  NON-2xx {result['non_2xx_3xx']}" if result["non_2xx_3xx"] else ""))

    summary = {}
    for page in plan:
        per = {}
        for server in servers:
            results = runs[page["key"]][server]
            per[server] = {
                "rps": median([r["rps"] for r in results]),
                "p50_ms": median([r["p50_ms"] for r in results]),
                "p99_ms": median([r["p99_ms"] for r in results]),
                "non_2xx_3xx": sum(r["non_2xx_3xx"] for r in results),
                "socket_errors": sum(r["socket_errors"] for r in results),
                "runs": results,
            }

        def paired(a: str, b: str, figure: str) -> float | None:
            """The median of per-round ratios: each round's two runs are minutes apart at most, so a
            burst of load from other jobs on the machine hits both sides of a pair, not one median."""
            return median([ratio(x[figure], y[figure]) for x, y in zip(runs[page["key"]][a], runs[page["key"]][b])])

        summary[page["key"]] = {
            "label": page["label"], "urls": {s: page[s] for s in servers}, **per,
            "rps_vs_floor": paired("app", "floor", "rps"),
            "p99_vs_floor": paired("app", "floor", "p99_ms"),
            "rps_vs_ceiling": paired("app", "ceiling", "rps"),
            "floor_rps_vs_ceiling": paired("floor", "ceiling", "rps"),
            "rps_vs_floor_of_medians": ratio(per["app"]["rps"], per["floor"]["rps"]),
            # Per-round ratios show how steady the comparison is on a shared machine.
            "rps_vs_floor_by_round": [ratio(a["rps"], b["rps"]) for a, b in zip(runs[page["key"]]["app"], runs[page["key"]]["floor"])],
        }
        if fix_url:
            summary[page["key"]].update(
                fix_rps_vs_floor=paired("app_fix", "floor", "rps"),
                fix_p99_vs_floor=paired("app_fix", "floor", "p99_ms"),
                fix_rps_vs_app=paired("app_fix", "app", "rps"),
            )
    return {"seconds": seconds, "rounds": rounds, "concurrency": CONCURRENCY, "wrk_threads": WRK_THREADS,
            "servers": list(servers), "pages": summary}


def lead_on_first_page(app_url: str, session: str) -> str:
    page = requests.get(f"{app_url}/admin/leads/", headers=HTTPS, cookies={SESSION_COOKIE: session}, timeout=30).text
    found = re.search(r'name="ids" value="([0-9a-f]{32})"', page)
    if not found:
        raise RuntimeError("the inbox shows no lead: is the session valid and the table seeded?")
    return found.group(1)


def make_tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="leads-bench-"))
