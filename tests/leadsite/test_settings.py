"""Settings come from the environment with safe defaults; production never falls into the embedded store."""
import subprocess
import sys

import pytest

from tests.integration.servers import ROOT

pytestmark = [
    pytest.mark.integration,  # fresh interpreters, no moto
    pytest.mark.backend("moto", reason="reads settings in fresh interpreters; no DynamoDB involved"),
]


def manage(*args, **env):
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "leadsite.settings", "HOME": "/tmp"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True,
    )


def test_debug_is_off_and_secret_key_required_by_default():
    result = manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_production_must_ask_for_the_embedded_store_explicitly():
    result = manage("check", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ask for the embedded store explicitly" in result.stderr
    assert manage("check", SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="embedded").returncode == 0


def test_unknown_endpoint_is_refused():
    result = manage("check", SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="postgres://nope")
    assert "DYNAMODB_ENDPOINT must be 'embedded', 'aws' or a URL" in result.stderr


def test_endpoints_resolve_and_there_is_no_relational_database():
    script = (
        "from django.conf import settings as s; from leads.storage.models import Lead; "
        "print(s.DATABASES, Lead.Meta.host, Lead.Meta.region, Lead.Meta.table_name)"
    )
    aws = manage("shell", "-c", script, SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", AWS_REGION="eu-west-1",
                 DYNAMODB_TABLE_PREFIX="prod-")
    assert aws.stdout.splitlines()[-1].split() == ["{}", "None", "eu-west-1", "prod-leads"]
    local = manage("shell", "-c", script, SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="http://127.0.0.1:8000")
    assert local.stdout.splitlines()[-1].split() == ["{}", "http://127.0.0.1:8000", "us-east-1", "leads-leads"]
    assert not list(ROOT.glob("*.sqlite3"))


def test_no_botocore_client_exists_before_the_first_dynamodb_call():
    # gunicorn's preload_app imports the app in the master before forking: a client made there
    # would be shared by every worker.
    script = (
        "import django; django.setup(); from leads.storage import dynamodb, internals; "
        "print(not internals.has_client(dynamodb.shared_connection()))"
    )
    result = manage("shell", "-c", script, SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws")
    assert result.stdout.splitlines()[-1] == "True"


def test_production_code_never_imports_moto_or_test_helpers():
    script = (
        "import sys, django; django.setup(); import leadsite.wsgi, leads.backoffice.views, leads.management.stream_handler; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'tests', 'pytest', 'werkzeug')))"
    )
    result = manage("shell", "-c", script, SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws")
    assert result.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "//evil.example/privacy",
                                 "/\\evil.example", "privacy.html", "https://", "/privacy page"])
def test_privacy_url_must_be_http_or_a_path(url):
    result = manage("check", SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", LEADS_PRIVACY_URL=url)
    assert result.returncode != 0
    assert "LEADS_PRIVACY_URL must be an http(s):// URL or a path starting with /." in result.stderr


@pytest.mark.parametrize("url", ["https://example.com/privacy", "http://example.com/p?v=2#consent", "/privacy/"])
def test_privacy_url_accepts_web_addresses_and_paths(url):
    assert manage("check", SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", LEADS_PRIVACY_URL=url).returncode == 0


@pytest.mark.parametrize("days, error", [("-1", "LEADS_RETENTION_DAYS must be 0 (off) or a number of days."),
                                         ("ninety", "invalid literal for int()")])
def test_retention_days_must_be_a_number_of_days(days, error):
    result = manage("check", SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", LEADS_RETENTION_DAYS=days)
    assert result.returncode != 0 and error in result.stderr


def test_retention_is_off_unless_asked_for():
    code = "from django.conf import settings; print(settings.LEADS_RETENTION_DAYS)"
    for env, expected in [({}, "0"), ({"LEADS_RETENTION_DAYS": "365"}, "365")]:
        result = manage("shell", "-c", code, SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", **env)
        assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


# --- Branding (README, "Make it yours") ---------------------------------------------------------

@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:image/svg+xml,<svg/>", "//evil.example/logo.png",
                                 "logo.png", "https://a.example;script-src", "https://user@a.example/logo.png"])
def test_logo_url_must_be_http_or_a_path_with_a_plain_host(url):
    result = manage("check", SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", LEADS_SITE_LOGO_URL=url)
    assert result.returncode != 0
    assert "LEADS_SITE_LOGO_URL" in result.stderr


@pytest.mark.parametrize("colour, error", [("blue", "must be a colour written #rrggbb"), ("#fff", "#rrggbb"),
                                           ("#12345g", "#rrggbb"), ("#2457c5;}", "#rrggbb"),
                                           ("#ffcc00", "too light"),
                                           ("#0070f0", "too light")])  # 4.6:1 on white, 4.2:1 on the page's grey
def test_accent_colour_must_be_a_hex_colour_dark_enough_for_white_text(colour, error):
    result = manage("check", SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", LEADS_ACCENT_COLOUR=colour)
    assert result.returncode != 0 and error in result.stderr


def test_accent_colour_and_logo_host_enter_the_content_security_policy_and_nothing_else():
    code = ("from django.conf import settings; d = settings.CONTENT_SECURITY_POLICY['DIRECTIVES']; "
            "print(settings.LEADS_ACCENT_STYLE); print(d['style-src']); print(d['img-src'])")
    result = manage("shell", "-c", code, SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws",
                    LEADS_ACCENT_COLOUR="#7A1F5C", LEADS_SITE_LOGO_URL="https://cdn.example.com/acme.svg")
    style, style_src, img_src = result.stdout.strip().splitlines()[-3:]
    assert style == ":root{--brand:#7a1f5c;--brand-dark:#5b1745}"
    import base64, hashlib
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert style_src == str(["'self'", f"'sha256-{digest}'"])
    assert img_src == str(["'self'", "data:", "https://cdn.example.com"])
    plain = manage("shell", "-c", code, SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", LEADS_SITE_LOGO_URL="/static/logo.svg")
    assert plain.stdout.strip().splitlines()[-3:] == ["", "[\"'self'\"]", "[\"'self'\", 'data:']"]
