"""Django's deployment checklist passes with the settings a production container is given."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,  # a subprocess with its own settings; no mocked DynamoDB
    pytest.mark.backend("moto", reason="`manage.py check --deploy` talks to no DynamoDB"),
]

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_finds_nothing_to_warn_about(tmp_path):
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL") if name in os.environ}
    env.update(
        HOME=str(tmp_path),
        DJANGO_SETTINGS_MODULE="leadsite.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="leads.example.com",
        DYNAMODB_ENDPOINT="aws",
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
