"""The daily follow-up digest: `manage.py send_digests` (cron) and Zappa's scheduled event on Lambda."""
import json
import re
from datetime import datetime, timedelta, timezone
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from leads.domain import followups, selectors, services
from leads.storage import dynamodb
from tests.helpers import make_lead
from tests.management.test_lambda import lambda_handler  # noqa: F401  (the fixture: Zappa's own entry point)

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]
SITE = "https://leads.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.LEADS_SITE_URL = SITE
    settings.LEADS_NOTIFY_EMAILS = []  # only digests in the outbox


def staff(email, *, zone=None, language="", active=True):
    services.staff_create(email=email, password="correct horse battery staple", name=email.split("@")[0].title())
    if zone or language:
        services.staff_set_preferences(email=email, time_zone=zone or "UTC", language=language)
    if not active:
        services.staff_update(email=email, active=False)


def lead_due(owner, due_at, *, name="Ann Visitor", all_day=None):
    lead_id = make_lead(f"{name.split()[0].lower()}@acme.example", name=name, subject=f"About {name}")
    services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", owner=owner,
                         due_at=due_at, due_all_day=all_day)
    return lead_id


def send(*args) -> str:
    out = StringIO()
    call_command("send_digests", *args, stdout=out)
    return out.getvalue()


def now():
    return datetime.now(UTC)


def test_each_owner_gets_one_email_listing_their_follow_ups_with_links():
    staff("sam@example.com")
    staff("nia@example.com")
    staff("idle@example.com")  # nothing due: no email
    late = lead_due("sam@example.com", now() - timedelta(days=2), name="Ann Late")
    soon = lead_due("sam@example.com", now() + timedelta(minutes=1), name="Bea Soon")
    lead_due("sam@example.com", now() + timedelta(days=3), name="Cy Later")  # not yet
    hers = lead_due("nia@example.com", now() - timedelta(hours=1), name="Dan Hers")
    lead_due(None, now() - timedelta(hours=1), name="Eve Nobody")  # unassigned: nobody's digest
    assert "Sent 2 digest(s); 1 with nothing due" in send()
    by_person = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_person) == ["nia@example.com", "sam@example.com"]
    sam = by_person["sam@example.com"]
    assert sam.subject.startswith("Follow-ups for ")
    assert "1 overdue, 1 due today" in sam.subject
    assert "Ann Late" in sam.body and "Bea Soon" in sam.body and "Cy Later" not in sam.body
    assert f"{SITE}/admin/leads/{late}/" in sam.body and f"{SITE}/admin/leads/{soon}/" in sam.body
    assert sam.body.index("Overdue") < sam.body.index("Ann Late") < sam.body.index("Due today") < sam.body.index("Bea Soon")
    [(html, kind)] = sam.alternatives
    assert kind == "text/html" and f'href="{SITE}/admin/leads/{late}/"' in html
    assert f"{SITE}/admin/leads/{hers}/" in by_person["nia@example.com"].body
    assert "Eve Nobody" not in "".join(message.body for message in mail.outbox)


def test_running_it_again_the_same_day_sends_nothing_more():
    staff("sam@example.com")
    lead_due("sam@example.com", now() - timedelta(days=1))
    send()
    assert len(mail.outbox) == 1
    assert "Sent 0 digest(s); 0 with nothing due, 1 sent already today" in send()
    assert len(mail.outbox) == 1


def test_inactive_staff_get_nothing():
    staff("gone@example.com", active=False)
    lead_due("gone@example.com", now() - timedelta(days=1))
    send()
    assert mail.outbox == []


def test_the_email_speaks_their_language_and_zone():
    staff("jonas@example.com", zone="Europe/Berlin", language="de")
    due = now() + timedelta(minutes=5)
    lead_due("jonas@example.com", due, name="Ann Soon")
    send()
    [message] = mail.outbox
    local = due.astimezone(ZoneInfo("Europe/Berlin"))
    if local.date() == followups.local_today(zone="Europe/Berlin"):  # not just before midnight in Berlin
        assert "Fällig heute" in message.body
        assert local.strftime("%H:%M") in message.body and ("CET" in message.body or "CEST" in message.body)
    assert message.subject.startswith("Wiedervorlagen für ")


def test_a_failed_email_is_sent_by_the_next_run_and_logged_without_the_address(settings, monkeypatch, caplog):
    import smtplib

    staff("sam@example.com")
    lead_due("sam@example.com", now() - timedelta(days=1))

    def refused(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"sam@example.com": (550, b"no such user sam@example.com")})

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refused)
    with pytest.raises(CommandError, match="1 digest"):
        send()
    assert "SMTPRecipientsRefused" in caplog.text and "sam@" not in caplog.text
    monkeypatch.undo()
    settings.LEADS_SITE_URL = SITE
    send()
    assert len(mail.outbox) == 1


def test_it_needs_to_know_where_the_site_is(settings):
    settings.LEADS_SITE_URL = ""
    with pytest.raises(CommandError, match="LEADS_SITE_URL"):
        send()
    staff("sam@example.com")
    lead_due("sam@example.com", now() - timedelta(days=1))
    send("--site-url", "https://crm.example.org/leads")
    assert "https://crm.example.org/leads/admin/leads/" in mail.outbox[0].body


def test_it_costs_the_roster_and_one_query_per_owner_and_a_marker_per_email():
    for name in ("amy", "bob", "cat"):
        staff(f"{name}@example.com")
        lead_due(f"{name}@example.com", now() - timedelta(days=1), name=f"{name.title()} Lead")
    calls = []

    def record(params, model, **_):
        calls.append((model.name, params.get("IndexName")))

    client = dynamodb.shared_connection().client
    client.meta.events.register("before-parameter-build.dynamodb", record, unique_id="test-digest-calls")
    try:
        send()
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="test-digest-calls")
    assert calls[0] == ("Query", "roster-index")
    assert calls[1:] == [("Query", "due-index"), ("PutItem", None)] * 3
    assert all(op != "Scan" for op, _ in calls)


def test_zappa_runs_it_every_morning():
    stage = json.loads((ROOT / "zappa_settings.json").read_text())["production"]
    [event] = [e for e in stage["events"] if e.get("function") == "leads.management.digests.handle"]
    assert re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", event["expression"])


def test_the_scheduled_event_sends_them_through_zappas_handler(lambda_handler):
    staff("sam@example.com")
    lead_due("sam@example.com", now() - timedelta(days=1))
    event = {"detail-type": "Scheduled Event", "source": "aws.events",
             "resources": ["arn:aws:events:eu-west-1:123456789012:rule/leads-production-leads.management.digests.handle"]}
    assert lambda_handler(event) == {"sent": 1, "nothing_due": 0, "already_sent": 0, "failed": 0}
    assert [message.to for message in mail.outbox] == [["sam@example.com"]]
    assert lambda_handler(event)["already_sent"] == 1
