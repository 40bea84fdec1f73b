"""7. Write ceiling: bursts of visitors through tests.conflict_proxy, the old hot tally item vs sharded tallies."""
import contextlib
import re
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from .common import (
    HTTPS, PYTHON, Service, dynamodb_local, gunicorn, interleaved, log, manage, measured, summary,
)

DESIGNS = {"before": {"LEADS_TALLY_SHARDS": "1", "DYNAMODB_TRANSACTION_ATTEMPTS": "3"},
           "after": {"LEADS_TALLY_SHARDS": "32", "DYNAMODB_TRANSACTION_ATTEMPTS": "8"}}
# How long the proxy holds a transaction (ms); the longest wait for a request or the barrier (s).
HOLD_MS, TIMEOUT = 20, 120


def conflict_proxy(upstream: str, tmp: Path, stack: contextlib.ExitStack) -> Service:
    """tests.conflict_proxy's command line, in its own process group, on a free loopback port."""
    proxy = Service("conflict-proxy", tmp, stack)
    command = [PYTHON, "-m", "tests.conflict_proxy", "--upstream", upstream, "--port", str(proxy.port),
               "--hold-ms", str(HOLD_MS)]
    return proxy.launch(command, lambda: "conflict proxy on" in proxy.log_path.read_text(), timeout=30)


def burst(url: str, visitors: int, numbers) -> dict:
    """`visitors` clients (numbered from numbers) load the form, then all post at once; what each got back."""
    barrier = threading.Barrier(visitors, timeout=TIMEOUT)
    began: list[float] = []

    def visit(i: int) -> tuple[int, float]:
        session = requests.Session()
        # A distinct client address per visitor (a header value only, never a target): the rate limit is per address.
        session.headers.update({**HTTPS, "X-Forwarded-For": f"127.{20 + i // 250}.{i % 250 // 25}.{i % 25 + 1}"})
        page = session.get(url + "/", timeout=TIMEOUT)
        for cookie in session.cookies:  # Secure cookies, sent back over the TLS proxy's plain-http hop
            cookie.secure = False
        fields = dict(re.findall(r'name="(csrfmiddlewaretoken|token)" value="([^"]*)"', page.text))
        data = {**fields, "name": f"Visitor {i}", "email": f"w{i}@bench.example", "company": "",
                "subject": "Write ceiling", "message": "Please call me back."}
        if barrier.wait() == 0:
            began.append(time.monotonic())
        started = time.monotonic()
        response = session.post(url + "/", data=data, allow_redirects=False, timeout=TIMEOUT,
                                headers={"Origin": url.replace("http://", "https://"), "Referer": url + "/"})
        return response.status_code, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=visitors) as pool:
        answers = list(pool.map(visit, [next(numbers) for _ in range(visitors)], timeout=2 * TIMEOUT))
    seconds, codes = time.monotonic() - began[0], Counter(code for code, _ in answers)
    latencies = sorted(latency for _, latency in answers)
    return {"visitors": visitors, "stored_302": codes[302], "refused_503": codes[503],
            "other": sum(n for code, n in codes.items() if code not in (302, 503)),
            "codes": {str(code): n for code, n in sorted(codes.items())}, "seconds": round(seconds, 2),
            "submissions_per_s": round(codes[302] / seconds, 1), "p50_ms": round(statistics.median(latencies) * 1000),
            "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000)}


def run(*, app_env: dict, tmp: Path, sizes: list[int], rounds: int) -> dict:
    """Bursts of each size on both designs, interleaved; medians per design and size."""
    # On a DynamoDB Local of its own: the emulator's transactions slow down with everything it holds (about
    # 5 submissions/s beside the 100,000 seeded leads, whatever the design), which would measure the emulator.
    (tmp / "writes").mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        proxy, servers = conflict_proxy(dynamodb_local(tmp / "writes", stack).url, tmp, stack), {}
        for design, settings in DESIGNS.items():
            env = {**app_env, **settings, "DYNAMODB_ENDPOINT": proxy.url, "LEADS_TRUSTED_PROXY_COUNT": "1",
                   "DYNAMODB_TABLE_PREFIX": f"writes-{design}-"}
            env.pop("LEADS_RATELIMIT_DISABLED", None)
            manage(env, "create_tables")
            servers[design] = gunicorn(f"writes-{design}", "leadsite.wsgi", env, tmp, stack)
        visitors = iter(range(10**9))  # every visitor of the run has its own address and email

        def once(size, design, round_no):
            result = burst(servers[design].url, size, visitors)
            log(f"writes {design} ×{size} round {round_no + 1}: {result['stored_302']} stored, "
                f"{result['refused_503']} × 503, {result['submissions_per_s']} /s")
            return result

        by_size = interleaved(rounds, DESIGNS, once, groups=sizes)
    runs = {design: {str(size): by_size[size][design] for size in sizes} for design in DESIGNS}
    totals = {"refused_503": "refused_503_total", "stored_302": "stored_total", "other": "other_total",
              "visitors": "posted_total"}
    return {"measured": measured(), "hold_ms": HOLD_MS, "designs": DESIGNS,
            "rounds": rounds, "sizes": sizes, "runs": runs, "summary": {design: {size: {
                **{name: sum(r[key] for r in results) for key, name in totals.items()},
                **summary(results, medians=("submissions_per_s", "p50_ms", "p95_ms"))}
                for size, results in per_size.items()} for design, per_size in runs.items()}}
