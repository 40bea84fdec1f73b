"""Run every benchmark against baselines in the same run, then write BENCHMARKS.md (`--quick`: a smoke run)."""
import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import fresh, load, package, report, writes
from .common import (
    BENCH, app_env, child_json, django_env, dynamodb_local, gunicorn, log, machine_info, manage, measured, ratio, vm_kb,
)

# How much of everything a run does: the full run, and the quick smoke run (tiny tables, one-second loads).
MODES = {
    False: {"sizes": [100, 100_000], "load_seconds": 6, "rounds": 5, "warmup": 3, "timing": (3, 5), "cpu_requests": 200,
            "cpu_rounds": 3, "export_rounds": 2, "coldstart_rounds": 12, "write_sizes": [20, 200], "write_rounds": 3},
    True: {"sizes": [20, 200], "load_seconds": 1, "rounds": 1, "warmup": 0, "timing": (1, 1), "cpu_requests": 20,
           "cpu_rounds": 1, "export_rounds": 1, "coldstart_rounds": 1, "write_sizes": [20], "write_rounds": 1},
}
PARTS = ("load", "cpu", "coldstart", "package", "export", "writes")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, short loads: checks the bench code works")
    parser.add_argument("--skip", action="append", default=[], choices=PARTS, help="leave out a part (repeatable)")
    parser.add_argument("--out", type=Path, default=report.TEMPLATE, help="the report to write")
    parser.add_argument("--results", type=Path, help="raw results as JSON (default bench/results/latest.json)")
    parser.add_argument("--render-only", action="store_true",
                        help="measure nothing: rewrite the report from the results file (after editing its prose)")
    args = parser.parse_args(argv)
    if (args.quick or args.skip) and args.out.resolve() == report.TEMPLATE:
        parser.error("a partial run would drop hand-written parts of BENCHMARKS.md: write it elsewhere with --out")
    default = args.out.parent / "bench-results.json" if args.quick else BENCH / "results" / "latest.json"
    results_path = args.results or default
    if args.render_only:
        return write_report(args.out, json.loads(results_path.read_text()))
    mode = MODES[args.quick]
    if "load" not in args.skip and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make bench does), or --skip load")
    if "package" not in args.skip and not package.DEPLOY_PYTHON.exists():
        raise SystemExit("no .venv-deploy to build the Lambda package with: make deploy-venv, or --skip package")
    started, tmp = time.monotonic(), Path(tempfile.mkdtemp(prefix="leads-bench-"))
    results = {"meta": {
        "command": " ".join(["python -m bench.run", *map(shlex.quote, argv)]), **measured(), "quick": args.quick,
        "sizes": mode["sizes"], "load_seconds": mode["load_seconds"], "rounds": mode["rounds"],
        "machine": machine_info()}}
    with contextlib.ExitStack() as servers:  # every server started is stopped, whatever happens
        measure(results, mode, args.skip, tmp, servers)
    results["meta"]["elapsed_s"] = time.monotonic() - started
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=1, default=str))
    write_report(args.out, results)
    log(f"wrote {args.out} and {results_path} in {time.monotonic() - started:.0f} s")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def seed(env: dict, *, count: int, dynamodb_pid: int, progress: bool) -> dict:
    """6. Seeding: create the tables, time `seed_demo --count N` (CPU: seed_demo vs DynamoDB Local), add the staff."""
    def cpu_seconds() -> tuple[float, float]:
        """CPU time (user + system) of this process's finished children, and of DynamoDB Local (/proc/<pid>/stat)."""
        usage, stat = resource.getrusage(resource.RUSAGE_CHILDREN), Path(f"/proc/{dynamodb_pid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()
        return usage.ru_utime + usage.ru_stime, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    manage(env, "create_tables")
    log(f"seed_demo --count {count} into {env['DYNAMODB_TABLE_PREFIX']}* ...")
    (seed_cpu, dynamodb_cpu), started = cpu_seconds(), time.perf_counter()
    out = manage(env, "seed_demo", "--count", str(count), "--seed", str(count), "--verbosity", str(int(progress)),
                 "--owners", env["LEADS_ADMIN_EMAIL"],  # every other lead the bench's staff's: "assigned to me"
                 stderr=None if progress else subprocess.PIPE)
    seconds, (seed_after, dynamodb_after) = time.perf_counter() - started, cpu_seconds()
    stored = int(re.search(r"Stored (\d+) demo leads", out).group(1))
    manage(env, "createstaff", "--noinput")
    # Each lead is two items (the lead and its "created" history event), in 25-item BatchWriteItem calls.
    return {"count": stored, "seconds": seconds, "leads_per_s": stored / seconds, "items_per_s": 2 * stored / seconds,
            "seed_process_cpu_s": seed_after - seed_cpu, "dynamodb_local_cpu_s": dynamodb_after - dynamodb_cpu}


def measure(results: dict, mode: dict, skip: list[str], tmp: Path, servers) -> None:
    """Every part not skipped, into results; servers stops the servers started."""
    dynamodb, secret, (small, large) = dynamodb_local(tmp, servers), secrets.token_urlsafe(50), mode["sizes"]
    log(f"DynamoDB Local (-inMemory) on {dynamodb.url}; work dir {tmp}")
    prefixes = {size: f"bench{size}-" for size in mode["sizes"]}
    envs = {size: app_env(tmp, dynamodb_url=dynamodb.url, prefix=p, secret_key=secret) for size, p in prefixes.items()}
    manage(envs[large], "collectstatic", "--noinput")  # production static storage needs its manifest
    results["seed"] = {str(size): seed(envs[size], count=size, dynamodb_pid=dynamodb.process.pid,
                                       progress=not results["meta"]["quick"]) for size in mode["sizes"]}
    results["seed"]["dynamodb_local_rss_mb"] = vm_kb(dynamodb.process.pid, "VmRSS") / 1024
    log("economy: pages in-process at both sizes")
    results["economy"] = child_json(["-m", "bench.economy", f"{small},{large}", ",".join(prefixes.values()),
                                     *map(str, mode["timing"])], envs[large])
    if "writes" not in skip:
        log("writes: bursts of simultaneous visitors through the conflict-faithful proxy, before vs after")
        results["writes"] = writes.run(app_env=envs[large], tmp=tmp, sizes=mode["write_sizes"],
                                       rounds=mode["write_rounds"])
    # The economy's staff session and a lead of its table serve every later part (the session stays out of results).
    session, lead = results["economy"].pop("session"), results["economy"]["lead"]
    unlimited = {**envs[large], "LEADS_RATELIMIT_DISABLED": "1"}  # every post under load is stored
    baseline = django_env(tmp, "bench.baseline.settings", SECRET_KEY=secret, BENCH_DYNAMODB_URL=dynamodb.url,
                          BENCH_TABLE_PREFIX=prefixes[large])
    app = gunicorn("app", "leadsite.wsgi", unlimited, tmp, servers)
    floor = gunicorn("baseline", "django.core.wsgi:get_wsgi_application()", baseline, tmp, servers, "/floor/healthz")
    if "load" not in skip:
        log(f"load: wrk -c{load.CONCURRENCY}, {mode['load_seconds']:g} s a run, {mode['rounds']} round(s)")
        results["load"] = load.run(app_url=app.url, base_url=floor.url, session=session, lead_id=lead, tmp=tmp,
                                   seconds=mode["load_seconds"], rounds=mode["rounds"], warmup=mode["warmup"])
        memory = {"app": app.worker_memory(), "baseline": floor.worker_memory()}  # after the load: its peak
        results["memory"] = {**memory, "ratio": ratio(memory["app"]["peak_hwm_mb"], memory["baseline"]["peak_hwm_mb"])}
    http = fresh.over_http(app, session) if "export" not in skip else None
    app.stop()
    floor.stop()  # the in-process measurements below get the CPUs to themselves
    sides = {"app": envs[large], "floor": baseline}
    sides = {side: {**env, "BENCH_SESSION": session, "BENCH_LEAD": lead,
                   "BENCH_EDIT_LEAD": results["economy"]["edit_lead"]} for side, env in sides.items()}
    for part, run in (("cpu", fresh.cpu_per_request), ("export", fresh.export), ("coldstart", fresh.coldstart)):
        if part not in skip:
            log(f"{part}: app vs floor, in fresh processes")
            results[part] = run(sides, mode)
    if http:
        results["export"]["http"] = http
    if "package" not in skip:
        log("package: the Lambda package's size and cold start through Zappa's handler, app vs floor")
        results["package"] = package.run(sides, mode, tmp)


def write_report(out: Path, results: dict) -> int:
    before = BENCH / "results" / "before.json"
    previous = json.loads(before.read_text()) if before.is_file() and not results["meta"]["quick"] else None
    cpu_before = BENCH / "results" / "cpu-before.json"  # the CPU by layer before this round's fixes
    if cpu_before.is_file() and not results["meta"]["quick"]:
        results = {**results, "cpu_before": json.loads(cpu_before.read_text())}
    out.write_text(report.render(results, before=previous))
    if out.resolve() == report.TEMPLATE and not results["meta"]["quick"] and "cpu" in results:
        report.refresh_readme(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
