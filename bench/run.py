"""Run every benchmark against baselines in the same run, then write BENCHMARKS.md.

    python -m bench.run            the full run (100 and 100,000 leads; ~25 minutes on 2 cores)
    python -m bench.run --quick    a smoke run with tiny sizes and one-second loads (~1 minute)

Everything runs on loopback: one in-memory DynamoDB Local, the app's gunicorn and the baseline's
gunicorn on free ports, each in its own process group, stopped at the end whatever happens.
"""
import argparse
import datetime
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import coldstart, export, load, profile, report, seed, writes
from .common import (
    BENCH, PYTHON, ROOT, DynamoDBLocal, Gunicorn, app_env, baseline_env, git_commit, log, machine_info, manage,
    new_secret, ratio, sign_in,
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, short loads: checks the bench code works")
    parser.add_argument("--small", type=int, help="leads in the small table (default 100; quick 20)")
    parser.add_argument("--large", type=int, help="leads in the large table (default 100000; quick 200)")
    parser.add_argument("--load-seconds", type=float, help="seconds per wrk run (default 6; quick 1)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds of wrk runs (default 5; quick 1)")
    parser.add_argument("--skip", action="append", default=[], choices=("load", "cpu", "coldstart", "export", "writes"),
                        help="leave out a part (repeatable)")
    parser.add_argument("--app-patches", default="", metavar="NAME,...",
                        help="also load an 'app + fixes' server with these bench/experiments.py patches")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md", help="the report to write")
    parser.add_argument("--results", type=Path, help="raw results as JSON (default bench/results/latest.json)")
    parser.add_argument("--writes-only", action="store_true",
                        help="measure only the write ceiling (section 7) and merge it into the results file, "
                             "which keeps every other section's figures; the section states its own date and commit")
    parser.add_argument("--render-only", action="store_true",
                        help="measure nothing: rewrite the report from the results file (after editing findings.md)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.small = args.small or (20 if quick else 100)
    args.large = args.large or (200 if quick else 100_000)
    args.load_seconds = args.load_seconds or (1 if quick else 6)
    args.rounds = args.rounds or (1 if quick else 5)
    args.results = args.results or (args.out.parent / "bench-results.json" if quick else BENCH / "results" / "latest.json")
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.render_only:
        results = json.loads(args.results.read_text())
        write_report(args.out, results)
        return 0
    if args.writes_only:
        return writes_only(args)
    started = time.monotonic()
    quick = args.quick
    results: dict = {
        "meta": {
            "command": " ".join(["python -m bench.run", *map(shlex.quote, sys.argv[1:] if argv is None else argv)]),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "quick": quick,
            "commit": git_commit(),
            "sizes": [args.small, args.large],
            "load_seconds": args.load_seconds,
            "rounds": args.rounds,
            "machine": machine_info(),
        }
    }
    if "load" not in args.skip and load.ensure_wrk() is None:
        raise SystemExit("wrk is not installed and could not be installed: apt-get install -y wrk (or --skip load)")
    results["meta"]["machine"] = machine_info()  # again, with wrk's version if it was just installed

    tmp = load.make_tmp()
    dynamodb = DynamoDBLocal(tmp / "dynamodb-local.log")
    servers: list[Gunicorn] = []
    try:
        log(f"DynamoDB Local (-inMemory) on {dynamodb.start().url}; work dir {tmp}")
        secret = new_secret()
        prefixes = {size: f"bench{size}-" for size in (args.small, args.large)}
        envs = {size: app_env(tmp, dynamodb_url=dynamodb.url, prefix=p, secret_key=secret) for size, p in prefixes.items()}
        large_env = envs[args.large]
        manage(large_env, "collectstatic", "--noinput")  # production static storage needs its manifest

        results["seed"] = {}
        for size in (args.small, args.large):
            results["seed"][str(size)] = seed.prepare(envs[size], count=size, dynamodb_pid=dynamodb.process.pid,
                                                      seed=size, progress=not quick)
        results["seed"]["dynamodb_local_rss_mb"] = dynamodb.rss_mb()
        log(f"seeded {args.large} leads at {results['seed'][str(args.large)]['leads_per_s']:.0f} leads/s")

        log("economy: pages in-process at both sizes")
        economy_out = tmp / "economy.json"
        command = [PYTHON, "-m", "bench.economy", "--out", str(economy_out), "--sizes", f"{args.small},{args.large}",
                   "--prefixes", f"{prefixes[args.small]},{prefixes[args.large]}",
                   "--timing-blocks", "1" if quick else "3", "--timing-repeats", "1" if quick else "5"]
        with (tmp / "economy.log").open("wb") as economy_log:
            subprocess.run(command, cwd=ROOT, env=large_env, stdout=economy_log, stderr=subprocess.STDOUT,
                           timeout=1800, check=True)
        results["economy"] = json.loads(economy_out.read_text())

        if "writes" not in args.skip:
            log("writes: bursts of simultaneous visitors through the conflict-faithful proxy, before vs after")
            results["writes"] = writes.run(app_env=large_env, dynamodb_url=dynamodb.url, tmp=tmp,
                                           sizes=[20] if quick else [20, 200], rounds=1 if quick else 3)

        baseline = baseline_env(tmp, dynamodb_url=dynamodb.url, prefix=prefixes[args.large], secret_key=secret)
        app_server = Gunicorn("app", "leadsite.wsgi", {**large_env, "LEADS_RATELIMIT_DISABLED": "1"}, tmp)
        base_server = Gunicorn("baseline", "bench.baseline.wsgi", baseline, tmp)
        servers += [app_server, base_server]
        fix_server = None
        if args.app_patches:
            fix_server = Gunicorn("app-fix", "bench.experiments_wsgi",
                                  {**large_env, "LEADS_RATELIMIT_DISABLED": "1", "BENCH_APP_PATCHES": args.app_patches}, tmp)
            servers.append(fix_server)
            fix_server.start()
            results["meta"]["app_patches"] = args.app_patches
        app_server.start()
        base_server.start(ready_path="/floor/healthz")
        session = sign_in(app_server.url)
        lead_id = load.lead_on_first_page(app_server.url, session)

        if "load" not in args.skip:
            log(f"load: wrk -c{load.CONCURRENCY}, {args.load_seconds:g} s a run, {args.rounds} round(s)")
            results["load"] = load.run(app_url=app_server.url, base_url=base_server.url, session=session,
                                       lead_id=lead_id, seconds=args.load_seconds, rounds=args.rounds, tmp=tmp,
                                       warmup=0 if quick else 3, fix_url=fix_server.url if fix_server else None)
            app_memory, base_memory = app_server.worker_memory(), base_server.worker_memory()
            results["memory"] = {
                "app": app_memory, "baseline": base_memory,
                "ratio": ratio(app_memory["peak_hwm_mb"], base_memory["peak_hwm_mb"]),
            }
            if fix_server:
                results["memory"]["app_fix"] = fix_server.worker_memory()
        if "export" not in args.skip:
            log("export over HTTP through gunicorn (context)")
            before = app_server.worker_memory()
            http = export.over_http(app_server.url, session)
            after = app_server.worker_memory()
            http["worker_hwm_growth_mb"] = (after["peak_hwm_mb"] or 0) - (before["peak_hwm_mb"] or 0)
        for server in servers:
            server.stop()

        if "cpu" not in args.skip:
            log("CPU per request, in-process: app vs floor")
            results["cpu"] = profile.cpu_per_request(
                app_env={**large_env, "LEADS_RATELIMIT_DISABLED": "1"}, baseline_env=baseline, session=session,
                lead=lead_id, rounds=1 if quick else 3, requests_each=20 if quick else 200, patches=args.app_patches)
        if "export" not in args.skip:
            log("export: app vs bare PynamoDB loop, in fresh processes")
            results["export"] = export.run(
                app_env=large_env, baseline_env=baseline, session=session,
                rows=args.large, small_rows=min(1000, max(10, args.large // 10)), rounds=1 if quick else 2,
            )
            results["export"]["http"] = http
        if "coldstart" not in args.skip:
            log("cold start: fresh processes")
            results["coldstart"] = coldstart.run(app_env=large_env, baseline_env=baseline, session=session,
                                                 rounds=1 if quick else 12)
    finally:
        for server in servers:
            server.stop()
        dynamodb.stop()
    results["meta"]["elapsed_s"] = time.monotonic() - started

    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1, default=str))
    write_report(args.out, results)
    log(f"wrote {args.out} and {args.results} in {results['meta']['elapsed_s']:.0f} s")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def writes_only(args) -> int:
    """Measure section 7 alone and merge it into the existing results (the other sections keep their run)."""
    results = json.loads(args.results.read_text())
    tmp = load.make_tmp()
    dynamodb = DynamoDBLocal(tmp / "dynamodb-local.log")
    try:
        log(f"DynamoDB Local (-inMemory) on {dynamodb.start().url}; work dir {tmp}")
        env = app_env(tmp, dynamodb_url=dynamodb.url, prefix="writes-", secret_key=new_secret())
        manage(env, "collectstatic", "--noinput")
        results["writes"] = writes.run(app_env=env, dynamodb_url=dynamodb.url, tmp=tmp,
                                       sizes=[20] if args.quick else [20, 200], rounds=1 if args.quick else 3)
    finally:
        dynamodb.stop()
    args.results.write_text(json.dumps(results, indent=1, default=str))
    write_report(args.out, results)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def write_report(out: Path, results: dict) -> None:
    before = BENCH / "results" / "before.json"
    previous = json.loads(before.read_text()) if before.is_file() and not results["meta"]["quick"] else None
    out.write_text(report.render(results, before=previous))


if __name__ == "__main__":
    sys.exit(main())
