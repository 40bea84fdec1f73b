"""Every page state the app can show, rendered by the app itself (Django's test client on the test tables).

Each state keeps the HTML exactly as served, the path it was served at, its status and the templates it
rendered, so the accessibility test can validate it, load it into Chromium and check that no template or URL
is left out.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyotp
from django.core import mail
from django.test import Client
from django.urls import resolve, Resolver404

from tests.faults import dynamodb_fault
from tests.helpers import PASSWORD, invite, make_lead, signed_in
from tests.webhook_receiver import refused_url

TOKEN = re.compile(r'name="token" value="([^"]+)"')
RESET_LINK = re.compile(r"http://testserver(/admin/password-reset/[^/\s]+/[^/\s]+/)")
TOTP_SECRET = re.compile(r'<code id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>')
PENDING = re.compile(r'name="pending" value="([^"]+)"')
VISITOR = dict(name="Ann Visitor", email="ann@acme.example", company="Acme", subject="A quote, please",
               message="We would like a quote for twelve seats.")


@dataclass
class PageState:
    """One page as a person meets it."""

    name: str
    path: str
    status: int
    html: str
    templates: set[str] = field(default_factory=set)

    @property
    def url_name(self) -> str | None:
        try:
            match = resolve(self.path)
        except Resolver404:
            return None
        return f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name


class Recorder:
    """Collects page states; each must be an HTML page with the status expected."""

    def __init__(self):
        self.states: list[PageState] = []

    def add(self, name: str, response, status: int = 200) -> str:
        html = response.content.decode()
        assert response.status_code == status, f"{name}: expected {status}, got {response.status_code}"
        assert response["Content-Type"].startswith("text/html"), f"{name}: {response['Content-Type']}"
        templates = {t.name for t in getattr(response, "templates", []) or [] if t.name}
        self.states.append(PageState(name, response.request["PATH_INFO"], status, html, templates))
        return html


def _contact_data(client: Client, **fields) -> dict:
    page = client.get("/").content.decode()
    return {"token": TOKEN.search(page).group(1), **fields}


def _a_bug(*args, **kwargs):
    raise RuntimeError("a bug")


def public_states(rec: Recorder, settings_patch) -> None:
    """The contact form, its errors and notices, the thank-you page, the error pages."""
    visitor = Client(REMOTE_ADDR="198.51.100.7")
    rec.add("contact form", visitor.get("/"))
    rec.add("contact form with errors",
            visitor.post("/", _contact_data(visitor, name="", email="not an address", subject="", message="")))
    response = visitor.post("/", _contact_data(visitor, **VISITOR), follow=True)
    rec.add("thank-you page", response)
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        rec.add("contact form, storage unavailable (503)", visitor.post("/", _contact_data(visitor, **VISITOR)), 503)
    hurried = Client(REMOTE_ADDR="198.51.100.8")
    response = None
    for _ in range(10):  # the default allowance is 5 per window
        response = hurried.post("/", _contact_data(hurried, **VISITOR))
        if response.status_code == 429:
            break
    rec.add("contact form, rate limited (429)", response, 429)
    settings_patch.setattr("django.conf.settings.LEADS_CONSENT_REQUIRED", True)
    settings_patch.setattr("django.conf.settings.LEADS_PRIVACY_URL", "https://example.com/privacy")
    rec.add("contact form with consent, not given",
            visitor.post("/", _contact_data(visitor, **VISITOR)))
    settings_patch.setattr("django.conf.settings.LEADS_CONSENT_REQUIRED", False)
    settings_patch.setattr("django.conf.settings.LEADS_PRIVACY_URL", "")
    rec.add("page not found (404)", visitor.get("/no-such-page/"), 404)
    rec.add("form expired (403 CSRF)", Client(enforce_csrf_checks=True).post("/", VISITOR), 403)
    with settings_patch.context() as patch:  # a bug in a view: Django's server error page
        patch.setattr("leads.public.views.ThanksView.get", _a_bug)
        rec.add("server error (500)", Client(raise_request_exception=False).get("/thanks/"), 500)


def staff_states(rec: Recorder, settings_patch) -> None:
    """Every staff page: sign-in, inbox, lead, trash, dashboard, staff, account, two-factor, privacy."""
    anonymous = Client()
    rec.add("sign-in", anonymous.get("/admin/login/"))
    rec.add("sign-in with errors", anonymous.post("/admin/login/", {"email": "nobody@example.com", "password": "x"}))
    rec.add("sign-in with empty fields", anonymous.post("/admin/login/", {"email": "", "password": ""}))
    rec.add("password reset", anonymous.get("/admin/password-reset/"))
    rec.add("password reset with errors", anonymous.post("/admin/password-reset/", {"email": "not an address"}))
    rec.add("password reset invalid link", anonymous.get("/admin/password-reset/MQ/bad-token/"), 404)
    rec.add("invitation invalid link", anonymous.get("/admin/invitations/not-a-real-token/"), 404)

    boss = signed_in("boss@example.com", "admin")
    sam = signed_in("sam@example.com", "sales")
    rec.add("dashboard, no leads", boss.get("/admin/"))
    rec.add("inbox, empty", boss.get("/admin/leads/"))
    rec.add("recently deleted, empty", boss.get("/admin/leads/deleted/"))

    ids = [make_lead(f"person{n}@acme.example", name=f"Person {n}", subject=f"Question {n}") for n in range(6)]
    rec.add("dashboard", boss.get("/admin/"))
    rec.add("inbox, full", boss.get("/admin/leads/"))
    rec.add("inbox, filtered by status", boss.get("/admin/leads/", {"status": "new"}))
    rec.add("inbox, search with results", boss.get("/admin/leads/", {"q": "person1@acme.example"}))
    rec.add("inbox, search without results", boss.get("/admin/leads/", {"q": "nobody@nowhere.example"}))
    rec.add("inbox as sales", sam.get("/admin/leads/"))
    # Issue 14: owner, dates, prefix, their combination, their errors.
    rec.add("inbox, assigned to me", boss.get("/admin/leads/", {"owner": "me"}))
    rec.add("inbox, unassigned with a status", boss.get("/admin/leads/", {"owner": "none", "status": "new"}))
    rec.add("inbox, one owner", boss.get("/admin/leads/", {"owner": "sam@example.com"}))
    rec.add("inbox, picking another owner", boss.get("/admin/leads/owners/", {"status": "new", "owner": "me"}))
    rec.add("inbox, received between dates", boss.get("/admin/leads/", {"from": "2026-11-01", "to": "2026-11-30"}))
    rec.add("inbox, invalid dates", boss.get("/admin/leads/", {"from": "2026-13-01", "to": "someday"}))
    rec.add("inbox, dates the wrong way round", boss.get("/admin/leads/", {"from": "2026-11-30", "to": "2026-11-01"}))
    rec.add("inbox, prefix search", boss.get("/admin/leads/", {"q": "person"}))
    rec.add("inbox, prefix search with a status", boss.get("/admin/leads/", {"q": "person", "status": "new"}))
    rec.add("inbox, search with an owner", boss.get("/admin/leads/", {"q": "@acme.example", "owner": "me"}))
    rec.add("bad request (400)", boss.get("/admin/leads/", {"cursor": "not-a-cursor"}), 400)
    rec.add("not allowed (403)", sam.get("/admin/staff/"), 403)
    rec.add("lead page", boss.get(f"/admin/leads/{ids[0]}/"))
    edit = {"status": "nonsense", "notes": "n", "owner": "", "version": 1}
    rec.add("lead edit with errors", boss.post(f"/admin/leads/{ids[0]}/", edit))
    assert boss.post(f"/admin/leads/{ids[0]}/", {**edit, "status": "qualified"}).status_code == 302
    rec.add("lead edit conflict (409)", sam.post(f"/admin/leads/{ids[0]}/", {**edit, "status": "lost"}), 409)
    rec.add("lead page with history", boss.get(f"/admin/leads/{ids[0]}/"))
    # Follow-ups: the lists empty, the form's errors, a lead with one, the lists full.
    rec.add("due today, empty", boss.get("/admin/follow-ups/today/"))
    rec.add("overdue, empty", boss.get("/admin/follow-ups/overdue/"))
    follow_up = f"/admin/leads/{ids[4]}/follow-up/"
    rec.add("follow-up with a bad date", boss.post(follow_up, {"due_date": "2026-02-30", "due_time": "", "version": 1}))
    rec.add("follow-up with a time but no date", boss.post(follow_up, {"due_date": "", "due_time": "14:30", "version": 1}))
    today = datetime.now(timezone.utc).date().isoformat()
    assert boss.post(follow_up, {"due_date": today, "due_time": "", "version": 1}).status_code == 302
    assert boss.post(f"/admin/leads/{ids[5]}/follow-up/", {"due_date": "2026-01-05", "due_time": "09:30",
                                                          "version": 1}).status_code == 302
    rec.add("lead page with a follow-up", boss.get(f"/admin/leads/{ids[4]}/"))
    rec.add("due today, full", boss.get("/admin/follow-ups/today/", {"owner": "unassigned"}))
    rec.add("overdue, full", boss.get("/admin/follow-ups/overdue/", {"owner": "unassigned"}))
    # The daily digest's HTML part, checked like a page: mail clients are browsers too.
    assert boss.post(f"/admin/leads/{ids[5]}/", {"status": "new", "notes": "", "owner": "boss@example.com",
                                                 "version": 2}).status_code == 302
    from leads.management import digests

    mail.outbox.clear()
    assert digests.send_digests(site_url="https://leads.example.com").sent == 1
    [(html, _)] = mail.outbox[-1].alternatives
    rec.states.append(PageState("follow-up digest email (HTML part)", "/", 200, html, {"leads/email/digest.html"}))
    # ids[0] is answered now, the others have waited for weeks: the response-time table has a row of numbers.
    rec.add("dashboard with response times", boss.get("/admin/"))
    timeline_states(rec, settings_patch, boss, sam, ids[5])
    rec.add("lead delete confirm", boss.get(f"/admin/leads/{ids[1]}/delete/"))
    rec.add("bulk delete confirm", boss.post("/admin/leads/bulk/", {"ids": ids[2:4], "action": "delete"}))
    rec.add("bulk change with nothing selected",
            boss.post("/admin/leads/bulk/", {"action": "set_status", "status": "lost"}, follow=True))
    assert boss.post(f"/admin/leads/{ids[1]}/delete/").status_code == 302
    rec.add("recently deleted, full", boss.get("/admin/leads/deleted/"))
    settings_patch.setattr("django.conf.settings.LEADS_RETENTION_DAYS", 365)
    kept = make_lead("kept@acme.example", name="Kept Visitor")
    rec.add("lead page with retention", boss.get(f"/admin/leads/{kept}/"))
    settings_patch.setattr("django.conf.settings.LEADS_RETENTION_DAYS", 0)
    with dynamodb_fault(operations={"Query", "GetItem", "BatchGetItem"}, code="ThrottlingException"):
        rec.add("storage unavailable (503)", boss.get("/admin/"), 503)

    # Staff accounts: the list, an invitation and accepting it, editing someone.
    rec.add("staff list with errors", boss.post("/admin/staff/", {"email": "not an address", "role": ""}))
    link = invite(boss, "rosa@example.com", name="Rosa")
    rec.add("staff list with invitations", boss.get("/admin/staff/"))
    rec.add("invitation accept", anonymous.get(link))
    rec.add("invitation accept with errors", Client().post(link, {"new_password1": "a", "new_password2": "b"}))
    rec.add("staff edit", boss.get("/admin/staff/sam@example.com/"))
    rec.add("staff edit with errors", boss.post("/admin/staff/sam@example.com/", {"name": "", "role": "boss"}))

    # One's own account: sessions, password, two-factor on and off.
    rec.add("sessions", boss.get("/admin/account/sessions/"))
    rec.add("preferences", boss.get("/admin/account/preferences/"))
    rec.add("preferences with errors",
            boss.post("/admin/account/preferences/", {"time_zone": "Mars/Olympus", "language": "xx"}))
    rec.add("password change", boss.get("/admin/account/password/"))
    rec.add("password change with errors", boss.post("/admin/account/password/", {
        "old_password": "wrong", "new_password1": "short", "new_password2": "other"}))
    page = rec.add("two-factor setup", sam.get("/admin/account/two-factor/"))
    secret = TOTP_SECRET.search(page).group(1).replace(" ", "")
    pending = PENDING.search(page).group(1)
    rec.add("two-factor setup with errors", sam.post("/admin/account/two-factor/", {"pending": pending, "code": "1"}))
    rec.add("two-factor recovery codes", sam.post(
        "/admin/account/two-factor/", {"pending": pending, "code": pyotp.TOTP(secret).now()}))
    rec.add("two-factor on", sam.get("/admin/account/two-factor/"))
    rec.add("two-factor new recovery codes", sam.post(
        "/admin/account/two-factor/recovery-codes/", {"codes-answer": PASSWORD}))
    rec.add("two-factor off, wrong answer", sam.post("/admin/account/two-factor/disable/", {"off-answer": "000000"}))
    rec.add("staff edit, two-factor on", boss.get("/admin/staff/sam@example.com/"))
    second = Client()
    second.post("/admin/login/", {"email": "sam@example.com", "password": PASSWORD})
    rec.add("sign-in code", second.get("/admin/login/code/"))
    rec.add("sign-in code with errors", second.post("/admin/login/code/", {"code": "000000x"}))

    # Password reset through the emailed link.
    mail.outbox.clear()
    rec.add("password reset sent", anonymous.post("/admin/password-reset/", {"email": "boss@example.com"}))
    reset = RESET_LINK.search(mail.outbox[-1].body).group(1)
    rec.add("password reset confirm", anonymous.get(reset, follow=True))
    rec.add("password reset confirm with errors", anonymous.post(
        anonymous.get(reset, follow=True).request["PATH_INFO"], {"new_password1": "a", "new_password2": "b"}))

    # One person's data.
    rec.add("privacy", boss.get("/admin/privacy/"))
    rec.add("privacy with errors", boss.post("/admin/privacy/", {"email": "not an address"}))
    rec.add("privacy lookup", boss.post("/admin/privacy/", {"email": "person4@acme.example"}))
    rec.add("privacy lookup, nothing stored", boss.post("/admin/privacy/", {"email": "nobody@nowhere.example"}))
    rec.add("privacy erase confirm", boss.post("/admin/privacy/erase/", {"email": "person4@acme.example"}))
    rec.add("privacy erase not ticked", boss.post(
        "/admin/privacy/erase/", {"email": "person4@acme.example", "stage": "confirm"}))
    rec.add("privacy erase record", boss.post("/admin/privacy/erase/", {
        "email": "person4@acme.example", "stage": "confirm", "confirm": "on"}, follow=True))

    # Webhooks that failed after their last try (issue 14): none yet, then two, then a "Try again" that failed.
    rec.add("webhooks, empty", boss.get("/admin/webhooks/"))
    settings_patch.setattr("django.conf.settings.LEADS_WEBHOOK_TIMEOUT", 0.3)
    settings_patch.setattr("django.conf.settings.LEADS_WEBHOOKS", [
        {"kind": "slack", "name": "sales-channel", "url": refused_url(), "secret": None}])
    dead = make_lead("webhook@acme.example", name="Webhook Visitor")
    assert boss.post(f"/admin/leads/{dead}/", {"status": "contacted", "notes": "", "owner": "", "version": 1}
                     ).status_code == 302
    page = rec.add("webhooks, full", boss.get("/admin/webhooks/"))
    failure = re.search(r'name="failure" value="([^"]+)"', page).group(1)
    rec.add("webhooks, try again failed", boss.post("/admin/webhooks/retry/", {"failure": failure}, follow=True))
    settings_patch.setattr("django.conf.settings.LEADS_WEBHOOKS", [])


def timeline_states(rec: Recorder, settings_patch, boss: Client, sam: Client, lead_id: str) -> None:
    """The lead page's notes and replies: their errors, a conflict, a failed send with Retry, an outage."""
    lead_url = f"/admin/leads/{lead_id}/"

    def forms() -> tuple[str, str, str]:
        """The note form's token, the reply form's, and the version the page shows."""
        html = boss.get(lead_url).content.decode()
        note, reply = TOKEN.findall(html)
        return note, reply, re.search(r'name="version" value="(\d+)"', html).group(1)

    note, reply, version = forms()
    rec.add("lead note with errors", boss.post(f"{lead_url}notes/", {"token": note, "text": ""}))
    rec.add("lead reply with errors", boss.post(f"{lead_url}reply/", {"token": reply, "subject": "",
                                                                      "text": "x" * 20_001, "version": version}))
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        rec.add("lead note, storage unavailable (503)",
                boss.post(f"{lead_url}notes/", {"token": note, "text": "Called: wants a demo"}), 503)
        rec.add("lead reply, storage unavailable (503)", boss.post(f"{lead_url}reply/", {
            "token": reply, "subject": "Re: Question 5", "text": "Thanks, here is our offer.", "version": version}), 503)
    assert boss.post(f"{lead_url}notes/", {"token": note, "text": "Called: wants a demo"}).status_code == 302
    with settings_patch.context() as patch:
        patch.setattr("django.conf.settings.EMAIL_BACKEND", "tests.email_backends.FailingEmailBackend")
        assert boss.post(f"{lead_url}reply/", {"token": reply, "subject": "Re: Question 5",
                                               "text": "Thanks, here is our offer.", "version": version}).status_code == 302
    rec.add("lead page, reply not sent (Retry)", boss.get(lead_url))
    note, reply, version = forms()
    assert boss.post(f"{lead_url}reply/", {"token": reply, "subject": "Re: Question 5", "text": "A second try.",
                                           "version": version}).status_code == 302
    rec.add("lead page with notes and replies", boss.get(lead_url))
    stale = forms()
    boss.post(lead_url, {"status": "qualified", "owner": "", "version": stale[2]})
    rec.add("lead reply conflict (409)", sam.post(f"{lead_url}reply/", {
        "token": stale[1], "subject": "Re: Question 5", "text": "My reply", "version": stale[2]}), 409)


def all_states(settings_patch) -> list[PageState]:
    """Every page state, built on fresh tables (the caller provides them)."""
    rec = Recorder()
    public_states(rec, settings_patch)
    staff_states(rec, settings_patch)
    return rec.states
