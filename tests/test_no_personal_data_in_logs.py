"""No personal data in logs or error reports: a marker in every field, on every path a visitor's data takes.

A visitor's name, email address, company, subject and message, a staff member's email and password, and
session keys each carry a unique marker. Every log record from every logger is captured at DEBUG
(Django's `django.request` and `django.security` included), with the filters production's handler
applies, and formatted as production's JSON line, so `extra` fields, tracebacks and stack traces are
searched too. The exceptions are loggers whose DEBUG lines dump data by design: botocore and pynamodb
print whole requests, django.template whole template contexts (a lead page's context is the lead).
Production keeps them at WARNING whatever LOG_LEVEL says (the last test checks it in a fresh
interpreter), so they are captured at WARNING, as production would emit them.

Error reports are captured too: the 500 page, and the mail Django's AdminEmailHandler would send with
ADMINS set. Production's LOGGING sends no error mail, so the handler is attached here as Django's own
default logging would attach it: turning error mail on must not leak either.
"""
import json
import logging
import secrets
import smtplib
import socket
import uuid
from io import StringIO
from logging.handlers import BufferingHandler

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils.log import AdminEmailHandler
from django.utils.module_loading import import_string

from leads.management import stream_handler
from leads.storage.models import Lead
from tests.faults import dynamodb_fault
from tests.helpers import PASSWORD, signed_in

TAG = secrets.token_hex(5)  # lower-case hex: email addresses are stored lower-cased
MARKERS = {part: f"pii{part}{TAG}" for part in
           ("name", "email", "company", "subject", "message", "session", "staff", "password", "search")}
VISITOR = {
    "name": f"Ada {MARKERS['name']}",
    "email": f"{MARKERS['email']}@example.com",
    "company": f"{MARKERS['company']} Ltd",
    "subject": f"About {MARKERS['subject']}",
    "message": f"Please call me about {MARKERS['message']}.",
}
CORS_ORIGIN = "https://static.example.com"  # tests/settings.py
ADMIN = "ops@example.com"
# Loggers whose DEBUG lines dump requests or template contexts; production pins them at WARNING.
DUMPING_LOGGERS = ("botocore", "pynamodb", "django.template")


class Watch:
    """Everything a deployment would write down about the requests of one test: log lines, error mails, 500 pages."""

    def __init__(self, mailoutbox):
        self.recorder = BufferingHandler(capacity=10**6)
        self.recorder.setLevel(logging.DEBUG)
        self.mailoutbox = mailoutbox
        self.pages: list[str] = []
        config = django_settings.LOGGING
        for name in config["handlers"]["console"].get("filters", []):  # what production's handler applies
            spec = dict(config["filters"][name])
            self.recorder.addFilter(import_string(spec.pop("()"))(**spec))
        spec = dict(config["formatters"]["json"])
        self.formatter = import_string(spec.pop("()"))(**spec)

    def lines(self) -> list[tuple[str, str]]:
        """(logger, text) per record: its message, and the whole JSON line (extra fields, traceback, stack)."""
        found = []
        for record in self.recorder.buffer:
            found.append((record.name, record.getMessage() + "\n" + self.formatter.format(record)))
        return found

    def reports(self) -> list[str]:
        """The error mails sent to ADMINS: subject, text and HTML."""
        mails = [mail for mail in self.mailoutbox if ADMIN in mail.to]
        return [
            "\n".join([mail.subject, mail.body, *(content for content, _ in getattr(mail, "alternatives", []))])
            for mail in mails
        ]

    def page(self, response):
        """Keep a 500 page (any other page may show the visitor's own text back to them)."""
        if response.status_code == 500:
            self.pages.append(response.content.decode())
        return response

    def logged(self, text: str) -> bool:
        return any(text in line for _, line in self.lines())

    def leaks(self) -> list[str]:
        found = []
        for part, marker in MARKERS.items():
            for logger_name, line in self.lines():
                if marker in line:
                    found.append(f"{part} in a log line of {logger_name}: {snippet(line, marker)}")
            for report in self.reports():
                if marker in report:
                    found.append(f"{part} in an error mail: {snippet(report, marker)}")
            for page in self.pages:
                if marker in page:
                    found.append(f"{part} in a 500 page: {snippet(page, marker)}")
        return found

    def assert_clean(self):
        assert self.recorder.buffer, "nothing was captured: the watch is broken"
        leaks = self.leaks()
        assert not leaks, "personal data written down:\n" + "\n".join(leaks)


def snippet(text: str, marker: str) -> str:
    at = text.index(marker)
    return repr(text[max(0, at - 150):at + 60])


@pytest.fixture
def watch(mailoutbox, settings):
    """Capture every log record at DEBUG (the dumping loggers at production's WARNING) and every error mail."""
    settings.ADMINS = [("Ops", ADMIN)]
    watch = Watch(mailoutbox)
    mail = AdminEmailHandler(include_html=True, email_backend="django.core.mail.backends.locmem.EmailBackend")
    mail.setLevel(logging.ERROR)
    django_logger = logging.getLogger("django")
    django_logger.addHandler(mail)
    manager = logging.Logger.manager
    loggers = [logging.getLogger()] + [item for item in manager.loggerDict.values() if isinstance(item, logging.Logger)]
    saved = {logger: logger.level for logger in loggers}
    for logger in loggers:
        if logger.name in DUMPING_LOGGERS:
            logger.setLevel(logging.WARNING)
        elif not logger.name.startswith(tuple(f"{name}." for name in DUMPING_LOGGERS)):
            logger.setLevel(logging.DEBUG)
    # The root gets every record that propagates; a logger that does not propagate gets the recorder too.
    hosts = [logging.getLogger()] + [logger for logger in loggers if not logger.propagate]
    for host in hosts:
        host.addHandler(watch.recorder)
    yield watch
    for host in hosts:
        host.removeHandler(watch.recorder)
    django_logger.removeHandler(mail)
    for logger, level in saved.items():
        logger.setLevel(level)


def visitor(**kwargs) -> Client:
    """A browser whose cookie carries a marker session key."""
    client = Client(**kwargs)
    client.cookies[django_settings.SESSION_COOKIE_NAME] = MARKERS["session"]
    return client


def form_post(client: Client, **overrides):
    page = client.get("/").content.decode()
    token = page.split('name="token" value="', 1)[1].split('"', 1)[0]
    return client.post("/", {**VISITOR, "token": token, **overrides})


def json_post(client: Client, body: dict | str, origin: str = CORS_ORIGIN):
    return client.post("/", body if isinstance(body, str) else json.dumps(body), content_type="application/json",
                       HTTP_ACCEPT="application/json", HTTP_ORIGIN=origin)


@pytest.fixture
def closed_smtp_port(settings):
    """Send mail through the real SMTP backend to a port where nothing listens: every send fails."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return port


# --- The contact form ----------------------------------------------------------------------------

def test_success_html_and_json(watch, mailoutbox):
    client = visitor()
    assert watch.page(form_post(client)).status_code == 302
    response = watch.page(json_post(visitor(), VISITOR))
    assert response.status_code == 201
    assert len([mail for mail in mailoutbox if "sales@example.com" in mail.to]) == 2  # the marker reached sales
    assert watch.logged("POST / 302") and watch.logged("POST / 201")  # the request log was captured
    watch.assert_clean()


def test_success_while_the_mail_server_is_down(watch, closed_smtp_port):
    assert watch.page(form_post(visitor())).status_code == 302
    assert watch.page(json_post(visitor(), VISITOR)).status_code == 201
    assert watch.logged("Could not send the new-lead email")
    watch.assert_clean()


def test_invalid_form_html_and_json_400(watch):
    response = watch.page(form_post(visitor(), email=f"{MARKERS['email']}@", token="forged"))
    assert response.status_code == 200 and MARKERS["message"] in response.content.decode()  # text kept
    assert watch.page(json_post(visitor(), {**VISITOR, "email": MARKERS["email"]})).status_code == 400
    assert watch.page(json_post(visitor(), {**VISITOR, "name": 7})).status_code == 400
    assert watch.page(json_post(visitor(), json.dumps(VISITOR)[:-5])).status_code == 400  # broken JSON
    assert watch.logged("Bad Request: /")
    watch.assert_clean()


def test_rate_limited_429(watch, settings):
    settings.LEADS_RATELIMIT_COUNT = 1
    client = visitor()
    assert form_post(client).status_code == 302
    assert watch.page(form_post(client)).status_code == 429
    assert watch.page(json_post(client, VISITOR)).status_code == 429
    assert watch.logged("Too Many Requests: /")
    watch.assert_clean()


@pytest.mark.parametrize("fault", [{"code": "ProvisionedThroughputExceededException"}, {"timeout": True},
                                   {"code": "InternalServerError", "status": 500}])
def test_dynamodb_unavailable_503(watch, fault):
    client = visitor()
    token_page = client.get("/")
    token = token_page.content.decode().split('name="token" value="', 1)[1].split('"', 1)[0]
    with dynamodb_fault(**fault):
        html = watch.page(client.post("/", {**VISITOR, "token": token}))
        api = watch.page(json_post(client, VISITOR))
    assert (html.status_code, api.status_code) == (503, 503)
    assert watch.logged("Service Unavailable: /")
    assert watch.reports(), "a 503 is an error Django reports: the mail capture is broken"
    watch.assert_clean()


def test_an_unexpected_error_500(watch, monkeypatch):
    def broken(fill, **kwargs):
        raise RuntimeError("a bug in the app")

    monkeypatch.setattr("leads.domain.services.commit", broken)
    html = watch.page(form_post(visitor(raise_request_exception=False)))
    api = watch.page(json_post(visitor(raise_request_exception=False), VISITOR))
    assert (html.status_code, api.status_code) == (500, 500)
    assert watch.logged("Internal Server Error: /")
    assert len(watch.reports()) == 2 and "RuntimeError" in watch.reports()[0]
    watch.assert_clean()


def test_bad_csrf_403(watch):
    browser = visitor(enforce_csrf_checks=True)
    assert watch.page(browser.post("/", VISITOR)).status_code == 403
    assert watch.page(json_post(browser, VISITOR, origin="https://evil.example")).status_code == 403
    assert watch.logged("Forbidden (CSRF")
    watch.assert_clean()


# --- Staff ---------------------------------------------------------------------------------------

STAFF_LOGIN = {"email": f"{MARKERS['staff']}@example.com", "password": f"wrong-{MARKERS['password']}"}


def test_staff_sign_in_wrong_password_throttled_and_unavailable(watch, settings):
    from leads.domain import services

    services.staff_create(email=STAFF_LOGIN["email"], password=PASSWORD, role="sales", name="Staff")
    settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT = 1
    client = visitor()
    assert "do not match" in client.post("/admin/login/", STAFF_LOGIN).content.decode()
    assert watch.page(client.post("/admin/login/", STAFF_LOGIN)).status_code == 429
    with dynamodb_fault():
        assert watch.page(visitor().post("/admin/login/", STAFF_LOGIN)).status_code == 503
    watch.assert_clean()


def test_staff_search_lead_page_edit_and_export(watch):
    from leads.domain import services

    lead_id = uuid.uuid4().hex
    services.lead_submit(lead_id=lead_id, **VISITOR)
    staff = signed_in(f"{MARKERS['staff']}@example.com", "admin")
    assert MARKERS["name"] in staff.get(f"/admin/leads/?q={VISITOR['email']}").content.decode()
    assert staff.get(f"/admin/leads/?q={MARKERS['search']}@example.com").status_code == 200
    assert MARKERS["message"] in staff.get(f"/admin/leads/{lead_id}/").content.decode()
    edit = {"status": "contacted", "owner": "", "notes": f"called {MARKERS['message']}", "version": 1}
    assert staff.post(f"/admin/leads/{lead_id}/", edit).status_code == 302
    assert staff.post(f"/admin/leads/{lead_id}/", {**edit, "status": "lost"}).status_code == 409  # a stale version
    assert b"".join(staff.get(f"/admin/leads/export.csv?q={VISITOR['email']}").streaming_content)
    assert watch.logged("GET /admin/leads/ 200")
    watch.assert_clean()


def test_staff_search_for_an_address_while_dynamodb_is_down(watch):
    staff = signed_in(f"{MARKERS['staff']}@example.com", "sales")
    MARKERS["real session"] = staff.cookies[django_settings.SESSION_COOKIE_NAME].value
    try:
        with dynamodb_fault(operations={"Query"}):
            response = watch.page(staff.get(f"/admin/leads/?q={MARKERS['search']}@example.com"))
        assert response.status_code == 503
        assert watch.logged("DynamoDB unavailable on /admin/leads/")
        watch.assert_clean()
    finally:
        del MARKERS["real session"]


def test_notes_and_replies_sent_failed_and_unavailable(watch, closed_smtp_port, settings):
    import re
    from html import unescape

    from leads.domain import services

    lead_id = uuid.uuid4().hex
    services.lead_submit(lead_id=lead_id, **VISITOR)
    staff = signed_in(f"{MARKERS['staff']}@example.com", "sales")

    def forms():
        html = staff.get(f"/admin/leads/{lead_id}/").content.decode()
        note, reply = (unescape(t) for t in re.findall(r'name="token" value="([^"]+)"', html))
        return note, reply, re.search(r'name="version" value="(\d+)"', html).group(1)

    note, reply, version = forms()
    text = {"text": f"Call back about {MARKERS['message']}"}
    answer = {"subject": f"Re: {MARKERS['subject']}", "text": f"Dear {MARKERS['name']}, {MARKERS['message']}"}
    with dynamodb_fault(operations={"TransactWriteItems"}):
        assert watch.page(staff.post(f"/admin/leads/{lead_id}/notes/", {**text, "token": note})).status_code == 503
        assert watch.page(staff.post(f"/admin/leads/{lead_id}/reply/", {
            **answer, "token": reply, "version": version})).status_code == 503
    assert staff.post(f"/admin/leads/{lead_id}/notes/", {**text, "token": note}).status_code == 302
    # The mail server is down: the reply fails, and so does its Retry.
    assert staff.post(f"/admin/leads/{lead_id}/reply/", {**answer, "token": reply, "version": version}).status_code == 302
    entry = re.search(r'name="entry" value="([^"]+)"', staff.get(f"/admin/leads/{lead_id}/").content.decode()).group(1)
    assert staff.post(f"/admin/leads/{lead_id}/reply/retry/", {"entry": entry}).status_code == 302
    assert watch.logged("Could not send a reply on lead")
    watch.assert_clean()


# --- One person's data (the privacy page and `manage.py subject_data`) ----------------------------

def test_privacy_page_lookup_export_and_erase(watch):
    from leads.domain import services

    services.lead_submit(lead_id=uuid.uuid4().hex, **VISITOR)
    admin = signed_in(f"{MARKERS['staff']}@example.com", "admin")
    subject = {"email": VISITOR["email"]}
    assert MARKERS["message"] in admin.post("/admin/privacy/", subject).content.decode()
    assert MARKERS["message"] in admin.post("/admin/privacy/export/", subject).content.decode()  # the download
    assert admin.post("/admin/privacy/erase/", subject).status_code == 200  # the confirmation page
    with dynamodb_fault(operations={"TransactWriteItems"}):
        outage = watch.page(admin.post("/admin/privacy/erase/", {**subject, "stage": "confirm", "confirm": "on"}))
    assert outage.status_code == 503
    erased = admin.post("/admin/privacy/erase/", {**subject, "stage": "confirm", "confirm": "on"})
    assert erased.status_code == 302
    assert watch.logged("POST /admin/privacy/erase/ 302") and watch.logged("Service Unavailable: /admin/privacy/erase/")
    watch.assert_clean()


def test_subject_data_command(watch, tmp_path):
    from django.core.management import CommandError, call_command
    from leads.domain import services

    services.lead_submit(lead_id=uuid.uuid4().hex, **VISITOR)
    actor = f"{MARKERS['staff']}@example.com"
    out = tmp_path / "export.json"
    call_command("subject_data", "export", VISITOR["email"], output=str(out), actor=actor, stdout=StringIO())
    assert MARKERS["message"] in out.read_text()
    said = StringIO()
    with dynamodb_fault(operations={"TransactWriteItems"}), pytest.raises(CommandError) as refused:
        call_command("subject_data", "erase", VISITOR["email"], actor=actor, yes=True, stdout=said, stderr=said)
    call_command("subject_data", "erase", VISITOR["email"], actor=actor, yes=True, stdout=said, stderr=said)
    # What the command prints ends up in terminals and CI logs too.
    printed = said.getvalue() + str(refused.value)
    assert not [part for part, marker in MARKERS.items() if marker in printed], printed
    watch.assert_clean()


# --- The stream handler (new-lead emails on Lambda) ----------------------------------------------

def stream_event(lead: Lead) -> dict:
    """An INSERT record as the leads table's stream delivers it, the new lead in its NewImage."""
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{Lead.Meta.table_name}/stream/2026-01-01T00:00:00.000"
    return {"Records": [{
        "eventID": uuid.uuid4().hex, "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "eventSourceARN": arn,
        "dynamodb": {"Keys": {"lead_id": {"S": lead.lead_id}}, "NewImage": lead.serialize(), "SequenceNumber": "4200",
                     "SizeBytes": 600, "StreamViewType": "NEW_IMAGE"},
    }]}


@pytest.fixture
def new_lead(settings) -> Lead:
    from leads.domain import services

    settings.LEADS_NOTIFY_VIA = "stream"
    lead_id = uuid.uuid4().hex
    services.lead_submit(lead_id=lead_id, **VISITOR)
    return Lead.get(lead_id, consistent_read=True)


def test_stream_handler_when_the_mail_server_is_down(watch, new_lead, closed_smtp_port):
    result = stream_handler.handle(stream_event(new_lead))
    assert result == {"batchItemFailures": [{"itemIdentifier": "4200"}]}
    assert watch.logged("Could not send the new-lead email for stream record 4200")
    watch.assert_clean()


def test_stream_handler_when_the_mail_server_refuses(watch, new_lead, monkeypatch):
    def refuse(self, messages):
        raise smtplib.SMTPDataError(554, b"5.7.1 Message rejected")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    assert stream_handler.handle(stream_event(new_lead))["batchItemFailures"]
    assert watch.logged("SMTPDataError")
    watch.assert_clean()


@pytest.mark.parametrize("operation", ["GetItem", "PutItem"])
def test_stream_handler_when_dynamodb_fails(watch, new_lead, operation):
    with dynamodb_fault(operations={operation}):
        stream_handler.handle(stream_event(new_lead))
    assert watch.logged("Traceback")
    watch.assert_clean()


def test_stream_handler_ttl_removal_when_dynamodb_fails(watch, new_lead):
    from leads.management.stream_handler import TTL_IDENTITY

    event = stream_event(new_lead)
    record = event["Records"][0]
    record["eventName"], record["userIdentity"] = "REMOVE", dict(TTL_IDENTITY)
    record["dynamodb"]["OldImage"] = record["dynamodb"].pop("NewImage")
    with dynamodb_fault():
        assert stream_handler.handle(event)["batchItemFailures"]
    assert watch.logged("for stream record 4200")
    watch.assert_clean()


# --- The watch itself ----------------------------------------------------------------------------

def test_the_watch_finds_a_marker_in_any_logger_at_any_level_and_in_error_mail(watch):
    logging.getLogger("some.library.deep.down").debug("value %s", MARKERS["message"])
    assert any("message in a log line of some.library.deep.down" in leak for leak in watch.leaks())
    watch.recorder.buffer.clear()
    try:
        raise ValueError(MARKERS["name"])
    except ValueError:
        logging.getLogger("leads").warning("failed", exc_info=True)
    assert any(leak.startswith("name in a log line of leads") for leak in watch.leaks())
    watch.recorder.buffer.clear()
    logging.getLogger("leads").info("done", extra={"visitor": MARKERS["email"]})
    assert any(leak.startswith("email in a log line") for leak in watch.leaks())
    watch.recorder.buffer.clear()
    logging.getLogger("django.request").error("Internal Server Error: /%s", MARKERS["subject"])
    assert any(leak.startswith("subject in an error mail") for leak in watch.leaks())
    with pytest.raises(AssertionError, match="personal data written down"):
        watch.assert_clean()


@pytest.mark.integration  # a fresh interpreter with production settings; no moto
@pytest.mark.backend("moto", reason="reads logging settings in a fresh interpreter; no DynamoDB involved")
def test_production_keeps_the_dumping_loggers_at_warning_even_with_log_level_debug():
    from tests.leadsite.test_settings import manage

    names = ["botocore.endpoint", "botocore.parsers", "pynamodb.connection.base", "django.template",
             "leads.request", "django.request", "django.security.csrf", "leads.management.stream_handler"]
    script = ("import logging, django; django.setup(); "
              f"print([logging.getLogger(n).getEffectiveLevel() for n in {names!r}])")
    result = manage("shell", "-c", script, SECRET_KEY="x" * 50, DYNAMODB_ENDPOINT="aws", LOG_LEVEL="DEBUG")
    assert result.returncode == 0, result.stderr
    levels = dict(zip(names, json.loads(result.stdout.splitlines()[-1])))
    assert {name: levels[name] for name in names[:4]} == dict.fromkeys(names[:4], logging.WARNING)
    # Everything else may be at DEBUG in production, as the watch captures it.
    assert (levels["leads.management.stream_handler"], levels["django.security.csrf"]) == (logging.DEBUG, logging.INFO)
    assert (levels["leads.request"], levels["django.request"]) == (logging.INFO, logging.INFO)
