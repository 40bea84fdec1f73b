"""The app on AWS Lambda: API Gateway events through Zappa's own handler, and the DynamoDB Stream handler.

Zappa writes a `zappa_settings.py` into the package from zappa_settings.json; the `lambda_handler`
fixture generates it the same way (with the test settings and a stream ARN for the test table) and
calls `zappa.handler.lambda_handler`, the function Lambda itself invokes.
"""
import base64
import json
import os
import re
import smtplib
import sys
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import check_password
from django.core.mail import EmailMessage
from django.urls import get_script_prefix, set_script_prefix
from zappa import handler as zappa_handler
from zappa.cli import ZappaCLI
from zappa.utilities import parse_s3_url

from leads.management import stream_handler
from leads.management.deploy import Deployment, Stage, stream_event
from leads.management.zappa_cli import is_stream_trigger
from leads.storage.models import DeliveryMarker, Lead, Staff
from leads.domain.services import lead_delete, lead_restore, lead_submit

ROOT = Path(__file__).resolve().parents[2]
ZAPPA_SETTINGS = ROOT / "zappa_settings.json"
REST_HOST = "abc123.execute-api.eu-west-1.amazonaws.com"
HTTP_HOST = "leads.example.com"
VISITOR = {"name": "Grace Hopper", "email": "Grace@Navy.MIL", "company": "US Navy", "subject": "Compilers",
           "message": "Let's talk about COBOL."}


def stream_arn(table=None) -> str:
    table = table or Lead.Meta.table_name
    return f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-01-01T00:00:00.000"


def generated_settings(config: dict, stage: str, tmp_path: Path) -> str:
    """The zappa_settings.py that `zappa package` / `zappa deploy` would put in the zip for `stage`."""
    settings_file = tmp_path / "zappa_settings.json"
    settings_file.write_text(json.dumps(config))
    cli = ZappaCLI()
    cli.api_stage = stage
    cli.load_credentials = False  # what `zappa package` does: nothing here talks to AWS
    cli.load_settings(str(settings_file))
    return cli.get_zappa_settings_string()


class FakeContext:
    """The parts of Lambda's context object the handlers use."""

    function_name = "leads-production"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def __init__(self, remaining_ms=30_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


@pytest.fixture
def lambda_handler(tmp_path, monkeypatch, settings):
    """Call Zappa's Lambda entry point, configured from our zappa_settings.json's production stage."""
    config = json.loads(ZAPPA_SETTINGS.read_text())
    stage = config["production"]
    stage["django_settings"] = "tests.settings"
    del stage["remote_env"]  # no S3 here
    stage["events"] = [stream_event(stream_arn())]  # what `manage.py deploy` gives Zappa
    (tmp_path / "zappa_settings.py").write_text(generated_settings(config, "production", tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "zappa_settings", raising=False)
    monkeypatch.setattr(zappa_handler.LambdaHandler, "_LambdaHandler__instance", None)  # a cold start
    settings.ALLOWED_HOSTS = [REST_HOST, HTTP_HOST]
    settings.LEADS_NOTIFY_VIA = "stream"
    environ, prefix = os.environ.copy(), get_script_prefix()
    yield lambda event, context=None: zappa_handler.lambda_handler(event, context or FakeContext())
    # The handler exports the stage's environment variables, and Django's WSGI handler sets the prefix.
    os.environ.clear()
    os.environ.update(environ)
    set_script_prefix(prefix)
    sys.modules.pop("zappa_settings", None)


class RestApi:
    """API Gateway REST API (payload 1.0), reached on its execute-api URL: paths under /production."""

    host, prefix = REST_HOST, "/production"

    @staticmethod
    def event(method, path, *, headers=None, cookies=None, body=None):
        headers = {
            "Host": REST_HOST,
            "User-Agent": "Mozilla/5.0",
            "Accept": "text/html",
            "X-Forwarded-For": "203.0.113.7, 130.176.0.1",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
            **({"Cookie": "; ".join(cookies)} if cookies else {}),
            **(headers or {}),
        }
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/{proxy+}",
                "httpMethod": method,
                "path": f"/production{path}",
                "stage": "production",
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0", "userArn": None},
            },
            "body": body,
            "isBase64Encoded": False,
        }

    @staticmethod
    def set_cookies(response):
        return response["multiValueHeaders"].get("set-cookie", [])


class HttpApi:
    """API Gateway HTTP API (payload format 2.0) on a custom domain, $default stage: no path prefix."""

    host, prefix = HTTP_HOST, ""

    @staticmethod
    def event(method, path, *, headers=None, cookies=None, body=None):
        headers = {
            "host": HTTP_HOST,
            "user-agent": "Mozilla/5.0",
            "accept": "text/html",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **{name.lower(): value for name, value in (headers or {}).items()},
        }
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "apiId": "xyz789",
                "domainName": HTTP_HOST,
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                         "userAgent": "Mozilla/5.0"},
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": "$default",
            },
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if body is not None:
            # HTTP APIs hand form posts over base64-encoded.
            event.update(body=base64.b64encode(body.encode()).decode(), isBase64Encoded=True)
        return event

    @staticmethod
    def set_cookies(response):
        return response["cookies"]


def hidden_field(html, name):
    return re.search(rf'name="{name}" value="([^"]+)"', html).group(1)


def csrf_cookie(api, response):
    cookie = SimpleCookie()
    for header in api.set_cookies(response):
        cookie.load(header)
    return cookie["csrftoken"].value


@pytest.mark.parametrize("api", [RestApi, HttpApi], ids=["rest-v1", "http-v2"])
def test_get_renders_the_contact_form_with_security_headers(lambda_handler, api):
    response = lambda_handler(api.event("GET", "/"))
    html = response["body"]
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    for field in ["name", "email", "company", "subject", "message"]:
        assert f'for="id_{field}"' in html and f'name="{field}"' in html
    assert hidden_field(html, "token") and hidden_field(html, "csrfmiddlewaretoken")
    assert f'action="{api.prefix}/"' in html
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["headers"]["Content-Security-Policy"]
    assert response["headers"]["Strict-Transport-Security"].startswith("max-age=")
    assert csrf_cookie(api, response)


@pytest.mark.parametrize("api", [RestApi, HttpApi], ids=["rest-v1", "http-v2"])
def test_form_post_stores_the_lead_and_redirects_without_emailing_inline(lambda_handler, api, mailoutbox):
    page = lambda_handler(api.event("GET", "/"))
    csrf = csrf_cookie(api, page)
    body = urlencode({**VISITOR, "token": hidden_field(page["body"], "token"),
                      "csrfmiddlewaretoken": hidden_field(page["body"], "csrfmiddlewaretoken")})
    origin = f"https://{api.host}"
    response = lambda_handler(api.event(
        "POST", "/", body=body, cookies=[f"csrftoken={csrf}"],
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": origin,
                 "Referer": f"{origin}{api.prefix}/"},
    ))
    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == f"{api.prefix}/thanks/"
    [lead] = Lead.email_index.query("grace@navy.mil")
    assert (lead.name, lead.subject, lead.status) == ("Grace Hopper", "Compilers", "new")
    assert mailoutbox == []  # the table's stream sends it (LEADS_NOTIFY_VIA=stream)


def test_post_without_the_csrf_cookie_is_refused(lambda_handler):
    page = lambda_handler(RestApi.event("GET", "/"))
    body = urlencode({**VISITOR, "token": hidden_field(page["body"], "token"),
                      "csrfmiddlewaretoken": hidden_field(page["body"], "csrfmiddlewaretoken")})
    response = lambda_handler(RestApi.event(
        "POST", "/", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{REST_HOST}"},
    ))
    assert response["statusCode"] == 403
    assert list(Lead.email_index.query("grace@navy.mil")) == []


def test_static_files_are_served_under_the_stage_path(lambda_handler):
    response = lambda_handler(RestApi.event("GET", "/static/leads/site.css"))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/css")


def test_zappa_manage_creates_the_first_admin_from_the_functions_environment(lambda_handler, monkeypatch):
    """`zappa manage production "createstaff --noinput"` runs the command inside the function."""
    monkeypatch.setenv("LEADS_ADMIN_EMAIL", "Admin@Example.com")
    monkeypatch.setenv("LEADS_ADMIN_PASSWORD", "a long enough passphrase")
    assert lambda_handler({"manage": "createstaff --noinput"}) == {}
    staff = Staff.get("admin@example.com")
    assert staff.role == "admin" and check_password("a long enough passphrase", staff.password)


# --- The DynamoDB Stream ----------------------------------------------------------------------


def submitted_lead(email="grace@navy.mil") -> Lead:
    """Store a lead the way the contact form does, and read it back as DynamoDB holds it."""
    lead_id = uuid.uuid4().hex
    lead_submit(lead_id=lead_id, name="Grace Hopper", email=email, subject="Compilers",
                message="Let's talk about COBOL.")
    return Lead.get(lead_id, consistent_read=True)


def stream_record(lead: Lead, sequence: str = "100", *, event_name="INSERT", table=None) -> dict:
    """One record as the leads table's stream (NEW_AND_OLD_IMAGES) delivers it to Lambda (an INSERT has no old image)."""
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1798000000.0,
            "Keys": {"lead_id": {"S": lead.lead_id}},
            "NewImage": lead.serialize(),
            "SequenceNumber": sequence,
            "SizeBytes": 600,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": stream_arn(table),
    }


def marker_exists(lead: Lead) -> bool:
    try:
        DeliveryMarker.get(f"notified#{lead.lead_id}", consistent_read=True)
    except DeliveryMarker.DoesNotExist:
        return False
    return True


@pytest.fixture
def failing_mail(monkeypatch):
    """Make sending fail for the given visitor addresses (all when none given)."""
    original = EmailMessage.send

    def fail_for(*emails):
        def send(message, *args, **kwargs):
            if not emails or set(message.reply_to) & set(emails):
                raise smtplib.SMTPException("451 try again later")
            return original(message, *args, **kwargs)

        monkeypatch.setattr(EmailMessage, "send", send)

    yield fail_for
    monkeypatch.setattr(EmailMessage, "send", original)


def test_zappa_routes_a_new_lead_to_the_handler_which_emails_sales_once(lambda_handler, mailoutbox):
    lead = submitted_lead()
    assert mailoutbox == []  # nothing inline with LEADS_NOTIFY_VIA=stream
    event = {"Records": [stream_record(lead)]}
    assert lambda_handler(event) == {"batchItemFailures": []}
    [email] = mailoutbox
    assert email.to == ["sales@example.com"]
    assert email.reply_to == ["grace@navy.mil"]
    assert "Compilers" in email.subject and "COBOL" in email.body
    assert marker_exists(lead)
    # Lambda delivers a batch again after a timeout or a crash: nothing is sent twice.
    assert lambda_handler(event) == {"batchItemFailures": []}
    assert len(mailoutbox) == 1


def test_a_stream_arn_zappa_does_not_know_reaches_no_handler(lambda_handler, mailoutbox):
    """Zappa matches the ARN exactly: a stale ARN in zappa_settings.json means no emails, and no error."""
    event = {"Records": [stream_record(submitted_lead())]}
    event["Records"][0]["eventSourceARN"] = stream_arn().replace("2026-01-01", "2027-01-01")
    assert lambda_handler(event) is None
    assert mailoutbox == []


def test_changes_deletions_and_other_tables_send_nothing(settings, mailoutbox):
    settings.LEADS_NOTIFY_VIA = "stream"
    lead = submitted_lead()
    event = {"Records": [
        stream_record(lead, "1", event_name="MODIFY"),
        stream_record(lead, "2", event_name="REMOVE"),
        stream_record(lead, "3", table="someone-elses-table"),
    ]}
    assert stream_handler.handle(event, FakeContext()) == {"batchItemFailures": []}
    assert mailoutbox == []
    assert not marker_exists(lead)


def test_a_lead_restored_from_the_trash_is_not_announced_again(settings, mailoutbox):
    settings.LEADS_NOTIFY_VIA = "stream"
    lead = submitted_lead()
    lead_delete(lead_id=lead.lead_id, actor="admin@example.com")
    restored = lead_restore(lead_id=lead.lead_id, actor="admin@example.com")
    assert stream_handler.handle({"Records": [stream_record(restored)]}, FakeContext()) == {"batchItemFailures": []}
    assert mailoutbox == []


def test_a_failed_email_is_reported_for_retry_and_sent_on_the_retry(settings, mailoutbox, failing_mail, caplog):
    settings.LEADS_NOTIFY_VIA = "stream"
    lead = submitted_lead()
    event = {"Records": [stream_record(lead, "4200")]}
    failing_mail()
    assert stream_handler.handle(event, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "4200"}]}
    assert mailoutbox == [] and not marker_exists(lead)
    assert "Could not send the new-lead email for stream record 4200" in caplog.text
    failing_mail("nobody@example.com")  # the mail server is back
    assert stream_handler.handle(event, FakeContext()) == {"batchItemFailures": []}
    assert len(mailoutbox) == 1 and marker_exists(lead)


def test_lambda_retries_from_the_first_failure_and_nothing_before_it_is_sent_twice(settings, mailoutbox, failing_mail):
    settings.LEADS_NOTIFY_VIA = "stream"
    first, second, third = (submitted_lead(f"{name}@example.com") for name in ("ada", "bob", "cy"))
    records = [stream_record(first, "1"), stream_record(second, "2"), stream_record(third, "3")]
    failing_mail("bob@example.com")
    result = stream_handler.handle({"Records": records}, FakeContext())
    # AWS checkpoints at the lowest reported sequence number and retries everything from there.
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}
    assert [email.reply_to for email in mailoutbox] == [["ada@example.com"]]
    failing_mail("nobody@example.com")
    assert stream_handler.handle({"Records": records[1:]}, FakeContext()) == {"batchItemFailures": []}
    assert [email.reply_to for email in mailoutbox] == [["ada@example.com"], ["bob@example.com"], ["cy@example.com"]]


def test_no_email_is_started_that_the_function_timeout_could_cut_off(settings, mailoutbox):
    settings.LEADS_NOTIFY_VIA = "stream"
    lead = submitted_lead()
    almost_out = FakeContext(remaining_ms=settings.EMAIL_TIMEOUT * 1000)
    result = stream_handler.handle({"Records": [stream_record(lead, "7")]}, almost_out)
    assert result == {"batchItemFailures": [{"itemIdentifier": "7"}]}
    assert mailoutbox == []


def test_lead_submit_sends_no_email_inline_in_stream_mode(settings, mailoutbox):
    settings.LEADS_NOTIFY_VIA = "stream"
    submitted_lead()
    assert mailoutbox == []
    settings.LEADS_NOTIFY_VIA = "request"
    submitted_lead()
    assert len(mailoutbox) == 1


# --- zappa_settings.json ------------------------------------------------------------------------


def test_zappa_settings_deploy_the_django_app_with_the_stream_handler_and_no_secrets(tmp_path):
    text = ZAPPA_SETTINGS.read_text()
    assert set(json.loads(text)) == {"production", "dev"}
    assert "SECRET_KEY" not in text.upper()
    for name, keep_warm in (("production", True), ("dev", False)):
        stage = Stage.load(ZAPPA_SETTINGS, name)  # as Zappa reads it: dev extends production
        config = stage.config
        assert config["keep_warm"] is keep_warm
        assert config["django_settings"] == "leadsite.settings"
        assert config["debug"] is False  # Zappa's debug mode logs every raw event: cookies, form bodies
        assert all(isinstance(value, str) for value in config["environment_variables"].values())
        assert config["environment_variables"]["LEADS_NOTIFY_VIA"] == "stream"
        bucket, key = parse_s3_url(config["remote_env"])
        assert bucket and key.endswith(".json")
        # exclude_glob is matched against the project only; exclude would also strip site-packages
        # (boto3 needs its "docs" package, for one).
        assert {"tests", "docs", "var"} <= set(config["exclude_glob"])
        assert not {"tests", "docs"} & set(config["exclude"])
        # No stream ARN to fill in by hand: `manage.py deploy` reads it from the tables stack and hands
        # Zappa the events entry through which its handler routes the stream's records.
        assert not [event for event in config.get("events", []) if is_stream_trigger(event)]
        # The one event of its own: the daily follow-up digest (tests/management/test_digests.py).
        assert [event["function"] for event in config["events"]] == ["leads.management.digests.handle"]
        arn = stream_arn(stage.prefix + "leads")
        generated = generated_settings(Deployment(stage).zappa_settings(arn), name, tmp_path)
        assert "DJANGO_SETTINGS='leadsite.settings'" in generated
        assert f"{arn!r}: ['leads.management.stream_handler.handle']" in generated
