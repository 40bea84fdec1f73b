"""Where a page's time goes: cProfile of the app's pages and of the floor's, in-process, side by side.

    python -m bench.profile                 # inbox, status page, lead page, form post; 300 requests each
    python -m bench.profile --page lead --requests 500 --leads 2000

Starts its own DynamoDB Local and seeds it (like bench.run), then, in one child process per side,
serves each page N times through Django's test client (no HTTP server) under cProfile, and prints
CPU time per request plus the functions with the most time. Not part of `make bench`: a tool for
finding the cost the ratios point at.
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
import uuid
from pathlib import Path

from .common import PYTHON, ROOT, DynamoDBLocal, app_env, baseline_env, log, manage, new_secret

PAGES = {
    "inbox": ("/admin/leads/", "/floor/leads/"),
    "by_status": ("/admin/leads/?status=new", "/floor/leads/?status=new"),
    "lead": ("/admin/leads/{lead}/", "/floor/leads/{lead}/"),
    "contact_post": ("/", "/floor/contact/"),
}


def child(side: str, pages: list[str], requests_each: int, top: int, profile: bool = True) -> None:
    import django

    django.setup()
    from django.test import Client

    if os.environ.get("BENCH_APP_PATCHES") and side != "floor":
        from . import experiments

        experiments.apply(os.environ["BENCH_APP_PATCHES"].split(","))

    client = Client(headers={"X-Forwarded-Proto": "https"})
    client.cookies["leads_session"] = os.environ["BENCH_SESSION"]
    lead = os.environ["BENCH_LEAD"]
    report = {}
    for page in pages:
        path = PAGES[page][1 if side == "floor" else 0].format(lead=lead)

        def once():
            if page == "contact_post":
                body = json.dumps({"name": "Profile", "email": f"p-{uuid.uuid4().hex[:10]}@profile.example",
                                   "subject": "Profile", "message": "Profiling the form post."})
                response = client.post(path, body, content_type="application/json",
                                       headers={"Origin": os.environ.get("LEADS_CORS_ORIGINS", "").split(",")[0],
                                                "Idempotency-Key": uuid.uuid4().hex, "Accept": "application/json"})
                assert response.status_code == 201, response.content[:300]
            else:
                response = client.get(path)
                assert response.status_code == 200, response.content[:300]

        for _ in range(20):
            once()
        profiler = cProfile.Profile() if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(requests_each):
            once()
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        report[page] = {"cpu_ms": cpu * 1000 / requests_each, "wall_ms": wall * 1000 / requests_each}
        if profiler:
            if os.environ.get("BENCH_PROFILE_DUMP"):
                profiler.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DUMP"], f"{side}-{page}.prof"))
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("tottime").print_stats(top)
            stats.sort_stats("cumulative").print_stats(top)
            report[page]["profile"] = text.getvalue()
    print(json.dumps(report))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page", action="append", choices=sorted(PAGES), help="repeatable; default all")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--child", choices=("app", "app_fix", "floor"))
    parser.add_argument("--no-profile", action="store_true", help="child: time CPU only, no cProfile")
    parser.add_argument("--dump", type=Path, help="also write <side>-<page>.prof (pstats) files here")
    args = parser.parse_args(argv)
    pages = args.page or list(PAGES)
    if args.child:
        child(args.child, pages, args.requests, args.top, profile=not args.no_profile)
        return 0

    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="leads-profile-"))
    dynamodb = DynamoDBLocal(tmp / "dynamodb-local.log").start()
    try:
        secret = new_secret()
        env = app_env(tmp, dynamodb_url=dynamodb.url, prefix="profile-", secret_key=secret, LEADS_RATELIMIT_DISABLED="1")
        manage(env, "collectstatic", "--noinput")
        manage(env, "create_tables")
        manage(env, "seed_demo", "--count", str(args.leads), "--verbosity", "0")
        manage(env, "createstaff", "--noinput")
        session, lead = _session_and_lead(env)
        base = baseline_env(tmp, dynamodb_url=dynamodb.url, prefix="profile-", secret_key=secret)
        results = {}
        for side, side_env in (("app", env), ("floor", base)):
            log(f"profiling {side}: {', '.join(pages)} × {args.requests}")
            out = subprocess.run(
                [PYTHON, "-m", "bench.profile", "--child", side, "--requests", str(args.requests), "--top", str(args.top),
                 *sum((["--page", p] for p in pages), [])],
                cwd=ROOT, env={**side_env, "BENCH_SESSION": session, "BENCH_LEAD": lead,
                               "BENCH_PROFILE_DUMP": str(args.dump or ""),
                               "LEADS_CORS_ORIGINS": env["LEADS_CORS_ORIGINS"]},
                capture_output=True, text=True, timeout=3600)
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-4000:])
            results[side] = json.loads(out.stdout.strip().splitlines()[-1])
        for page in pages:
            a, b = results["app"][page], results["floor"][page]
            print(f"\n===== {page}: CPU ms/request app {a['cpu_ms']:.2f} vs floor {b['cpu_ms']:.2f} "
                  f"({a['cpu_ms'] / b['cpu_ms']:.2f}×); wall ms app {a['wall_ms']:.2f} vs floor {b['wall_ms']:.2f}")
            print("----- app\n" + a["profile"])
            print("----- floor\n" + b["profile"])
    finally:
        dynamodb.stop()
    return 0


def cpu_per_request(*, app_env: dict, baseline_env: dict, session: str, lead: str, rounds: int, requests_each: int,
                    patches: str = "") -> dict:
    """CPU ms per request of each page, in-process (no HTTP, no server), app vs floor, interleaved rounds.

    Under load on a shared machine every process competes for the same CPUs, so this is the steadiest
    explanation of the requests/s ratios: what each side spends of its own, DynamoDB Local excluded.
    """
    from .common import median, ratio

    sides = {"app": app_env, "floor": baseline_env}
    if patches:
        sides["app_fix"] = {**app_env, "BENCH_APP_PATCHES": patches}
    runs: dict = {side: {page: [] for page in PAGES} for side in sides}
    for round_no in range(rounds):
        order = list(sides)[round_no % len(sides):] + list(sides)[:round_no % len(sides)]
        for side in order:
            out = subprocess.run(
                [PYTHON, "-m", "bench.profile", "--child", side, "--no-profile", "--requests", str(requests_each)],
                cwd=ROOT, env={**sides[side], "BENCH_SESSION": session, "BENCH_LEAD": lead,
                               "LEADS_CORS_ORIGINS": app_env["LEADS_CORS_ORIGINS"]},
                capture_output=True, text=True, timeout=1800)
            if out.returncode != 0:
                raise RuntimeError(f"cpu {side}: {out.stderr[-3000:]}")
            for page, figures in json.loads(out.stdout.strip().splitlines()[-1]).items():
                runs[side][page].append(figures["cpu_ms"])
    result = {side: {page: median(values) for page, values in pages.items()} for side, pages in runs.items()}
    result["ratio"] = {page: ratio(result["app"][page], result["floor"][page]) for page in PAGES}
    if patches:
        result["fix_ratio"] = {page: ratio(result["app_fix"][page], result["floor"][page]) for page in PAGES}
    result["rounds"], result["requests_each"] = rounds, requests_each
    return result


def _session_and_lead(env: dict) -> tuple[str, str]:
    code = (
        "import re, django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client(headers={'X-Forwarded-Proto': 'https'})\n"
        "r = c.post('/admin/login/', {'email': %r, 'password': %r}); assert r.status_code == 302\n"
        "page = c.get('/admin/leads/').content.decode()\n"
        "print(c.cookies['leads_session'].value, re.search(r'name=\"ids\" value=\"([0-9a-f]{32})\"', page).group(1))\n"
    ) % (env["LEADS_ADMIN_EMAIL"], env["LEADS_ADMIN_PASSWORD"])
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    session, lead = out.stdout.split()
    return session, lead


if __name__ == "__main__":
    sys.exit(main())
