"""2. Throughput and latency: wrk against the app, the floor and the ceiling under the same gunicorn, interleaved."""
import json
import re
import subprocess
import uuid
from pathlib import Path

import requests

from .common import (
    BENCH, CORS_ORIGIN, HTTPS, PAGES, SESSION_COOKIE, contact_json, interleaved, log, paired, ratio, summary,
)

CONCURRENCY, WRK_THREADS = 16, 2
SERVERS = ("ceiling", "floor", "app")


def run_wrk(url: str, *, script: Path, seconds: float, headers: dict, script_args=()) -> dict:
    """One bounded wrk run; requests/s and latency percentiles (ms), from report.lua's summary line."""
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONCURRENCY}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(script), *[a for name, value in headers.items() for a in ("-H", f"{name}: {value}")], url,
               *(["--", *script_args] if script_args else [])]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0 or not (found := re.search(r"^WRK_JSON (\{.*\})$", out.stdout, re.M)):
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    data = json.loads(found.group(1))
    return {"rps": data["requests"] / (data["duration_us"] / 1e6), "requests": data["requests"],
            **{f"{p}_ms": data[p] / 1000 for p in ("p50", "p90", "p99", "max", "mean")}, "non_2xx_3xx": data["status"],
            "socket_errors": sum(data[e] for e in ("connect", "read", "write", "timeout"))}


def run(*, app_url: str, base_url: str, session: str, lead_id: str, seconds: float, rounds: int, tmp: Path,
        warmup: float) -> dict:
    headers, nonce = {**HTTPS, "Cookie": f"{SESSION_COOKIE}={session}"}, uuid.uuid4().hex[:8]
    # Every script ends with the summary reporter; the form post's starts with the POST generator.
    scripts = {post: tmp / f"wrk-{post}.lua" for post in (False, True)}
    for post, path in scripts.items():
        path.write_text("\n".join((BENCH / "wrk" / name).read_text() for name in ["post.lua"] * post + ["report.lua"]))
    bases = {"app": app_url, "floor": base_url, "ceiling": base_url}
    urls = {key: {s: bases[s] + path.format(lead=lead_id) for s, path in zip(bases, paths)}
            for key, (_label, *paths) in PAGES.items()}
    for key in PAGES:  # one request by hand first: the right status, signed in where it must be
        for url in urls[key].values():
            if key == "contact_post":
                body, extra = contact_json()
                response = requests.post(url, body, headers={**headers, **extra, "Content-Type": "application/json"},
                                         timeout=30, allow_redirects=False)
            else:
                response = requests.get(url, headers=headers, timeout=30, allow_redirects=False)
            if response.status_code != (201 if key == "contact_post" else 200):
                raise RuntimeError(f"{url}: got {response.status_code}: {response.text[:500]}")

    def once(key, server, duration, tag):
        post = key == "contact_post"
        result = run_wrk(urls[key][server], script=scripts[post], seconds=duration, headers=headers,
                         script_args=(f"{nonce}{tag}{server}", CORS_ORIGIN) if post else ())
        log(f"load {tag:<3} {key:<13} {server:<8}{result['rps']:7.1f} req/s  p99 {result['p99_ms']:7.1f} ms"
            + (f"  NON-2xx {result['non_2xx_3xx']}" if result["non_2xx_3xx"] else ""))
        return result

    if warmup > 0:  # every server and page once, before anything counts
        interleaved(1, SERVERS, lambda key, server, _: once(key, server, warmup, "w"), groups=PAGES)
    runs = interleaved(rounds, SERVERS, lambda key, server, n: once(key, server, seconds, f"r{n}"), groups=PAGES)
    pages = {key: {
        "label": PAGES[key][0], "urls": urls[key],
        **{server: {**summary(r[server], medians=("rps", "p50_ms", "p99_ms"), totals=("non_2xx_3xx", "socket_errors")),
                    "runs": r[server]} for server in SERVERS},
        "rps_vs_floor": paired(r["app"], r["floor"], "rps"), "p99_vs_floor": paired(r["app"], r["floor"], "p99_ms"),
        "rps_vs_ceiling": paired(r["app"], r["ceiling"], "rps"),
        "floor_rps_vs_ceiling": paired(r["floor"], r["ceiling"], "rps"),
        # Per-round ratios show how steady the comparison is on a shared machine.
        "rps_vs_floor_by_round": [ratio(a["rps"], b["rps"]) for a, b in zip(r["app"], r["floor"])],
    } for key, r in runs.items()}
    return {"seconds": seconds, "rounds": rounds, "concurrency": CONCURRENCY, "wrk_threads": WRK_THREADS,
            "servers": list(SERVERS), "pages": pages}
