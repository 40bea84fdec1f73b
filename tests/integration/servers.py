"""Start the app the way `make run` does, on free loopback ports, and stop it like a crash would."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dev_env(*, data_dir: Path, dynamodb_port: int, **extra) -> dict:
    """A `make run` environment: DEBUG on, embedded DynamoDB with its data in data_dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DYNAMODB_", "LEADS_", "AWS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="leadsite.settings",
        DEBUG="1",
        SECRET_KEY="integration-tests-only",
        DYNAMODB_EMBEDDED_PORT=str(dynamodb_port),
        DYNAMODB_EMBEDDED_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class DevServer:
    """`manage.py devserver` in its own process group, like `make run` in a terminal."""

    def __init__(self, *, port: int, env: dict, log: Path):
        self.port = port
        self.env = env
        self.log = log
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> "DevServer":
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "devserver", f"127.0.0.1:{self.port}", "--noreload"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"devserver exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"devserver did not answer within {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hook gets to run."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def contact_form(session: requests.Session, base_url: str, **fields) -> dict:
    """Load the form as a browser does and return it filled in, with its CSRF and one-time tokens."""
    page = session.get(f"{base_url}/", timeout=10).text
    return {
        "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1),
        "token": re.search(r'name="token" value="([^"]+)"', page).group(1),
        **fields,
    }


def submit_contact_form(base_url: str, **fields) -> requests.Response:
    """Load the form, then post it once."""
    session = requests.Session()
    data = contact_form(session, base_url, **fields)
    return session.post(f"{base_url}/", data=data, timeout=30, allow_redirects=False)
