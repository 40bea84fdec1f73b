"""Fault matrix: every DynamoDB call of every write path failed on its own, through the real views.

Each write path is first run with a pass-through hook that records its DynamoDB calls, call by call, in
order. The same request is then sent again on fresh tables for each call #k and each fault kind, with
exactly that call failing (for every attempt botocore makes) and every other call reaching the store.
Every case asserts: never a 500; a 503 only for DynamoDB's unavailability, with the person's input
kept; nothing half-written (`audit()` finds no counter drift, every lead's last history event matches
it); and once the fault is lifted the very same request succeeds, leaving exactly the fault-free result.
Then the ambiguous outcomes: every write call lands but its answer is lost, once (botocore retries) or
on every attempt (the person sends the form again) — nothing may be duplicated or lost.
`RELIABILITY_REPORT_DIR=dir` writes what each case did to dir/faults-<backend>.json, for RELIABILITY.md.
"""
import json
import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import botocore.endpoint
import pytest
from botocore.retries.standard import ExponentialBackoff
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core import mail
from django.test import Client
from pynamodb.exceptions import GetError

from leads.storage import dynamodb
from leads.domain import invitations, services, staff_sessions, subjects, two_factor
from leads.public import tokens
from leads.management.maintenance import audit
from leads.storage.models import (
    ALL_MODELS, PRIVACY_LOG, HistoryEvent, Invitation, Lead, PrivacyRequest, RateWindow, Staff, StaffSession, TrashedLead,
)
from tests.conftest import BACKEND
from tests.dynamodb_local import JAR_DIR
from tests.faults import WRITE_OPERATIONS, TransactionTokens, dynamodb_calls, dynamodb_fault
from tests.helpers import PASSWORD, make_lead, signed_in
from tests.two_factor_helpers import code_at, recovery_codes_on

FAULTS = {
    "throttling": {"code": "ThrottlingException"},
    "500": {"code": "InternalServerError", "status": 500},
    "timeout": {"timeout": True},
    "cancelled": {"cancel": "TransactionConflict"},  # TransactWriteItems only
}
PLAIN_FAULTS = ["throttling", "500", "timeout"]
UNAVAILABLE = "We are briefly unavailable"  # templates/503.html, rendered by StorageUnavailableMiddleware
RESULTS: list[dict] = []


@pytest.fixture(scope="module", autouse=True)
def report():
    """Write the recorded cases as JSON at the end when RELIABILITY_REPORT_DIR names a directory."""
    yield
    directory = os.environ.get("RELIABILITY_REPORT_DIR")
    if not directory or not RESULTS:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    document = {
        "backend": BACKEND,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "settings": {"DYNAMODB_MAX_RETRIES": settings.DYNAMODB_MAX_RETRIES, "commit_attempts": getattr(settings, "DYNAMODB_TRANSACTION_ATTEMPTS", 3),
                     "aws_token_idempotency": "modelled in the test (moto ignores ClientRequestToken)"
                     if BACKEND == "moto" else "the emulator's own"},
        "cases": RESULTS,
    }
    Path(directory, f"faults-{BACKEND}.json").write_text(json.dumps(document, indent=1) + "\n")


def versions() -> dict:
    """What this run was measured with."""
    found = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for package in ("django", "pynamodb", "botocore", "moto"):
        found[package] = version(package)
    if BACKEND == "dynamodb-local":
        out = subprocess.run(["java", "-jar", "DynamoDBLocal.jar", "-version"], cwd=JAR_DIR, capture_output=True,
                             text=True, timeout=60).stdout.strip().splitlines()
        found["dynamodb-local"] = out[-1] if out else "unknown"
    return found


@pytest.fixture(autouse=True)
def backoffs(monkeypatch):
    """The delays botocore asks to sleep before each retry: recorded, not slept."""
    delays = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=delays.append))
    return delays


def wipe():
    """Empty every table, so each call's case starts from the same state as the recording."""
    for model in ALL_MODELS:
        with model.batch_write() as batch:
            for item in model.scan(consistent_read=True):
                batch.delete(item)


def assert_whole():
    """Nothing half-written: counters agree with the leads, each lead's last history event matches it."""
    _, drift = audit()
    assert drift == [], drift
    leads = {lead.lead_id: lead for lead in Lead.scan(consistent_read=True)}
    trashed = {item.lead_id for item in TrashedLead.scan(consistent_read=True)}
    assert not set(leads) & trashed
    for lead_id in set(leads) | trashed:
        last = list(HistoryEvent.query(lead_id, consistent_read=True))[-1]
        if lead_id in leads:
            assert (last.action, last.version) in {(a, leads[lead_id].version) for a in ("created", "changed", "restored")}
        else:
            assert last.action == "deleted"


def history(lead_id) -> list[str]:
    return [event.action for event in HistoryEvent.query(lead_id, consistent_read=True)]


def rate_tallies(scope: str) -> list[int]:
    """The rate-limit counters of one scope ("login", "contact") as stored."""
    return sorted(int(c.hits) for c in RateWindow.scan(RateWindow.counter_id.startswith(f"rate#{scope}"), consistent_read=True))


def login_tallies() -> list[int]:
    """The sign-in failure counters (per account, per client) as stored."""
    return rate_tallies("login")


def sessions_of(email) -> int:
    """How many session items this staff member has."""
    return sum(1 for _ in StaffSession.by_staff.query(email))


def is_selected(html, value) -> bool:
    """True if the option with this value is selected in the rendered page."""
    return re.search(rf'<option value="{re.escape(value)}"[^>]*\bselected\b', html) is not None


def generic_503(response) -> bool:
    """The middleware's 503 page (a Retry-After; the browser keeps the posted form for a resend)."""
    return UNAVAILABLE in response.content.decode() and response["Retry-After"] == "30"


# --- The write paths -----------------------------------------------------------------------------


@dataclass
class WritePath:
    """One request that writes, what success looks like, and what a 503 must keep."""

    name: str
    setup: Callable[[], SimpleNamespace]
    send: Callable[[SimpleNamespace], object]
    succeeded: Callable[[SimpleNamespace, object], bool]
    kept: Callable[[SimpleNamespace, object], bool]  # the 503 page keeps what the person typed
    final: Callable[[SimpleNamespace], None]  # the state after one successful request, exactly
    writes_lead: bool = False


def contact_setup():
    client = Client()
    token = re.search(r'name="token" value="([^"]+)"', client.get("/").content.decode()).group(1)
    data = {"name": "Grace Hopper", "email": "grace@navy.mil", "company": "US Navy", "subject": "Compilers",
            "message": "Please call me back about 40 licences before Friday", "token": token}
    return SimpleNamespace(client=client, data=data, lead_ids=[tokens.lead_id_from_token(token)])


def contact_kept(ctx, response):
    html = response.content.decode()
    return ("We could not save your message just now." in html and ctx.data["message"] in html
            and ctx.data["subject"] in html and f'value="{ctx.data["token"]}"' in html)  # same token: stored once


def one_lead(ctx):
    lead_id = ctx.lead_ids[0]
    assert Lead.get(lead_id, consistent_read=True).email == ctx.data["email"]
    assert history(lead_id) == ["created"]
    assert Lead.count(consistent_read=True) == 1
    assert rate_tallies("contact") == [1]  # the visitor's allowance charged once, however often it was sent


JSON_BODY = {"name": "Ada", "email": "ada@acme.com", "subject": "API", "message": "From the static site"}


def json_setup():
    return SimpleNamespace(client=Client(), data=JSON_BODY,
                           lead_ids=[tokens.lead_id_from_idempotency_key("k-1", origin="")])


def json_send(ctx):
    return ctx.client.post("/", ctx.data, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")


def login_setup(password):
    def setup():
        services.staff_create(email="ann@example.com", password=PASSWORD, role="sales")
        return SimpleNamespace(client=Client(), form={"email": "Ann@Example.com", "password": password})
    return setup


def login_send(ctx):
    return ctx.client.post("/admin/login/", ctx.form)


def login_kept(ctx, response):
    html = response.content.decode()
    return ("Sign-in is unavailable for a moment" in html and 'name="email" value="Ann@Example.com"' in html
            and ctx.form["password"] not in html)


def signed_in_ok(ctx, response):
    return response.status_code == 302 and response["Location"] == "/admin/" and "leads_session" in response.cookies


def login_right_final(ctx):
    # A session put whose every answer was lost leaves its item behind: a key never sent to anyone,
    # which TTL removes and staff_end_sessions ends; the sign-in sent again makes the one in use.
    # The session write is a PutItem, or a TransactWriteItems with its staff check (security hole 1).
    session_write = "sessions" in getattr(ctx, "lost_tables", ())
    orphans = 1 if session_write and getattr(ctx, "lost", (None, None))[1] == "all" else 0
    assert ctx.client.get("/admin/leads/").status_code == 200 and sessions_of("ann@example.com") == 1 + orphans
    assert all(t <= 1 for t in login_tallies())  # handed back; at worst one attempt of the allowance used


def login_wrong_final(ctx):
    assert ctx.client.get("/admin/leads/").status_code == 302 and sessions_of("ann@example.com") == 0
    assert all(1 <= t <= 2 for t in login_tallies())


def logout_setup():
    return SimpleNamespace(client=signed_in("boss@example.com", "admin"))


def logout_final(ctx):
    assert sessions_of("boss@example.com") == 0 and ctx.client.get("/admin/leads/").status_code == 302


EDIT = {"status": "qualified", "owner": "sam@example.com", "notes": "Wants 40 seats, call Tuesday", "version": 1}


def edit_setup():
    return SimpleNamespace(client=signed_in("sam@example.com", "sales"), lead_ids=[make_lead()])


def edit_kept(ctx, response):
    html = response.content.decode()
    if generic_503(response):
        return True
    return ("Your changes are still in the form" in html and EDIT["notes"] in html and is_selected(html, "qualified")
            and re.search(r'name="version" value="1"', html) is not None)  # saving again is not a conflict


def edit_final(ctx):
    lead = Lead.get(ctx.lead_ids[0], consistent_read=True)
    assert (lead.version, lead.status, lead.owner) == (2, "qualified", "sam@example.com")
    # The edit's `notes` is a note in the timeline, committed in the edit's transaction.
    assert history(lead.lead_id) == ["created", "note", "changed"]
    assert [e.text for e in HistoryEvent.query(lead.lead_id) if e.action == "note"] == [EDIT["notes"]]


def bulk_setup():
    ids = [make_lead(f"p{n}@acme.com") for n in range(3)]
    return SimpleNamespace(client=signed_in("sam@example.com", "sales"), lead_ids=ids,
                           form={"ids": ids[:2], "action": "set_status", "status": "contacted", "confirm": "1"})


def bulk_final(ctx):
    assert [Lead.get(i, consistent_read=True).status for i in ctx.lead_ids] == ["contacted", "contacted", "new"]
    assert [len(history(i)) for i in ctx.lead_ids] == [2, 2, 1]


def delete_setup():
    return SimpleNamespace(client=signed_in("boss@example.com", "admin"), lead_ids=[make_lead()])


def delete_final(ctx):
    lead_id = ctx.lead_ids[0]
    assert Lead.count(lead_id, consistent_read=True) == 0
    assert TrashedLead.get(lead_id, consistent_read=True).deleted_by == "boss@example.com"
    assert history(lead_id) == ["created", "deleted"]


def restore_setup():
    ctx = delete_setup()
    assert ctx.client.post(f"/admin/leads/{ctx.lead_ids[0]}/delete/").status_code == 302
    return ctx


def restore_final(ctx):
    lead_id = ctx.lead_ids[0]
    assert Lead.get(lead_id, consistent_read=True).message == "Hi" and TrashedLead.count(lead_id) == 0
    assert history(lead_id) == ["created", "deleted", "restored"]


NEW_STAFF = {"email": "nia@example.com", "name": "Nia", "role": "sales"}


def invite_setup():
    return SimpleNamespace(client=signed_in("boss@example.com", "admin"), emails=len(mail.outbox))


def invite_final(ctx):
    (invitation,) = Invitation.scan(consistent_read=True)  # a resend replaced it: one, whatever happened
    assert (invitation.email, invitation.role, invitation.feed) == ("nia@example.com", "sales", "invitations")
    assert len(mail.outbox) == ctx.emails + 1 and mail.outbox[-1].to == ["nia@example.com"]
    assert Staff.count("nia@example.com", consistent_read=True) == 0


NEW_PASSWORD = "plum orchard by the river"


def accept_setup():
    _, token = invitations.invitation_create(email="nia@example.com", role="sales", invited_by="boss@example.com",
                                             name="Nia")
    return SimpleNamespace(client=Client(), link=f"/admin/invitations/{token}/",
                           form={"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})


def accepted(ctx, response):
    """Signed in as the invitee; or, for a resend of an acceptance that landed, sent to sign in."""
    return response.status_code == 302 and response["Location"] in ("/admin/", "/admin/login/")


def accept_kept(ctx, response):
    html = response.content.decode()
    return generic_503(response) or ("Your password could not be saved just now" in html and NEW_PASSWORD not in html)


def accept_final(ctx):
    (staff,) = [s for s in Staff.scan(consistent_read=True) if s.email == "nia@example.com"]
    assert staff.role == "sales" and check_password(NEW_PASSWORD, staff.password)
    (invitation,) = Invitation.scan(consistent_read=True)
    assert invitation.feed is None  # consumed: the link opens nothing any more
    assert ctx.client.get(ctx.link).status_code == 404


def change_setup():
    return SimpleNamespace(client=signed_in("ann@example.com", "sales"), elsewhere=signed_in_again("ann@example.com"),
                           form={"current_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                 "new_password2": NEW_PASSWORD})


def signed_in_again(email) -> Client:
    """A second browser signed in to an account that exists."""
    client = Client()
    assert client.post("/admin/login/", {"email": email, "password": PASSWORD}).status_code == 302
    return client


def changed(ctx, response):
    """This browser signed in again with the new password; or, if only that failed, sent to sign in with it."""
    return response.status_code == 302 and response["Location"] in ("/admin/", "/admin/login/")


def change_kept(ctx, response):
    html = response.content.decode()
    return generic_503(response) or ("Your password could not be changed just now" in html and PASSWORD not in html)


def change_final(ctx):
    staff = Staff.get("ann@example.com", consistent_read=True)
    assert check_password(NEW_PASSWORD, staff.password) and not staff.sessions_stale
    assert ctx.elsewhere.get("/admin/leads/").status_code == 302  # every other session ended


DEACTIVATE_SAM = {"name": "Sam", "role": "sales"}  # "active" left unticked


def deactivate_setup():
    return SimpleNamespace(client=signed_in("boss@example.com", "admin"), sam=signed_in("sam@example.com", "sales"))


def deactivate_final(ctx):
    sam = Staff.get("sam@example.com", consistent_read=True)
    assert sam.active is False and not sam.sessions_stale and sessions_of("sam@example.com") == 0
    assert ctx.sam.get("/admin/leads/").status_code == 302


ERASE = {"email": "xavier@acme.com", "stage": "confirm", "confirm": "on"}


def erase_setup():
    """A live lead and a deleted one of one address, to erase from the privacy page."""
    ctx = SimpleNamespace(client=signed_in("boss@example.com", "admin"),
                          lead_ids=[make_lead("xavier@acme.com"), make_lead("xavier@acme.com")])
    services.lead_delete(lead_id=ctx.lead_ids[1], actor="boss@example.com")
    return ctx


def erase_final(ctx):
    # An erasure whose finish landed unanswered is sent again: a second request, finding nothing left.
    assert subjects.subject_find(email=ERASE["email"]).empty
    assert not any(HistoryEvent.count(lead_id, consistent_read=True) for lead_id in ctx.lead_ids)
    records = list(PrivacyRequest.query(PRIVACY_LOG, consistent_read=True))
    assert {r.state for r in records} == {"finished"} and len(records) <= 2
    assert [sum(getattr(r, kind) for r in records) for kind in ("leads", "trash", "history")] == [1, 1, 3]


def redirect_to(location):
    return lambda ctx, response: response.status_code == 302 and response["Location"] == location


# Two-factor: real time, as a browser has it; a case takes well under a step, and one step of drift is allowed.

def _step() -> int:
    return int(time.time() // 30)


def two_factor_on(email: str) -> str:
    """Turn two-factor on for an existing account; return its secret."""
    secret = two_factor.new_secret()
    two_factor.two_factor_enable(email=email, secret=secret, code=code_at(secret, _step()), access=None)
    return secret


def code_setup():
    services.staff_create(email="ann@example.com", password=PASSWORD, role="sales")
    secret = two_factor_on("ann@example.com")
    client = Client()
    assert client.post("/admin/login/", {"email": "ann@example.com", "password": PASSWORD})["Location"] == "/admin/login/code/"
    step = Staff.get("ann@example.com", consistent_read=True).totp_last_step + 1  # later than enrolment's, within drift
    return SimpleNamespace(client=client, step=step, form={"code": code_at(secret, step)})


def code_final(ctx):
    # As for the password: a session write whose every answer was lost leaves a session nobody holds.
    lost = getattr(ctx, "lost", None) or (None, None)
    orphans = 1 if lost == ("TransactWriteItems", "all") and "sessions" in ctx.lost_tables else 0
    assert ctx.client.get("/admin/leads/").status_code == 200 and sessions_of("ann@example.com") == 1 + orphans
    assert Staff.get("ann@example.com", consistent_read=True).totp_last_step == ctx.step
    assert all(t <= 1 for t in login_tallies())


def enrol_setup():
    client = signed_in("ann@example.com", "sales")
    page = client.get("/admin/account/two-factor/").content.decode()
    secret = re.search(r'<code id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    pending = re.search(r'name="pending" value="([^"]+)"', page).group(1)
    return SimpleNamespace(client=client, secret=secret, form={"pending": pending, "code": code_at(secret, _step())})


def enrolled(ctx, response):
    """The recovery codes page (kept in ctx, to check they are the ones stored)."""
    ctx.codes = recovery_codes_on(response.content.decode()) if response.status_code == 200 else []
    return len(ctx.codes) == 10


def enrol_final(ctx):
    staff = Staff.get("ann@example.com", consistent_read=True)
    assert staff.totp_secret and ctx.secret not in staff.totp_secret
    assert staff.recovery_codes == {two_factor._recovery_hashes("ann@example.com", code)[0] for code in ctx.codes}
    assert "Two-factor sign-in is on" in ctx.client.get("/admin/account/two-factor/").content.decode()


def reset_setup():
    admin = signed_in("boss@example.com", "admin")
    services.staff_create(email="ann@example.com", password=PASSWORD, role="sales")
    secret = two_factor_on("ann@example.com")
    ann = Client()
    ann.post("/admin/login/", {"email": "ann@example.com", "password": PASSWORD})
    step = Staff.get("ann@example.com", consistent_read=True).totp_last_step + 1
    assert ann.post("/admin/login/code/", {"code": code_at(secret, step)}).status_code == 302
    return SimpleNamespace(client=admin, ann=ann)


def reset_final(ctx):
    ann = Staff.get("ann@example.com", consistent_read=True)
    assert ann.totp_secret is None and ann.recovery_codes is None and not ann.sessions_stale
    assert sessions_of("ann@example.com") == 0 and ctx.ann.get("/admin/leads/").status_code == 302


TWO_FACTOR_PATHS = [
    WritePath("sign-in, two-factor code", code_setup, lambda c: c.client.post("/admin/login/code/", c.form),
              signed_in_ok, lambda c, r: generic_503(r) or "Sign-in is unavailable for a moment" in r.content.decode(),
              code_final),
    WritePath("two-factor enrolment", enrol_setup, lambda c: c.client.post("/admin/account/two-factor/", c.form),
              enrolled, lambda c, r: generic_503(r), enrol_final),
    WritePath("two-factor reset by an admin", reset_setup,
              lambda c: c.client.post("/admin/staff/ann@example.com/two-factor/reset/"),
              redirect_to("/admin/staff/ann@example.com/"), lambda c, r: generic_503(r), reset_final),
]
TWO_FACTOR_NO_TRANSACTION = {"two-factor reset by an admin"}


# Password reset and "Where you're signed in".

def reset_ask_setup():
    services.staff_create(email="ann@example.com", password=PASSWORD, role="sales")
    return SimpleNamespace(client=Client(), form={"email": "ann@example.com"}, emails=len(mail.outbox))


def reset_ask_final(ctx):
    assert [message.to for message in mail.outbox[ctx.emails:]] == [["ann@example.com"]]  # one link, however sent
    assert all(1 <= t <= 2 for t in rate_tallies("reset"))  # a request sent twice counts twice, at worst


RESET_PASSWORD = "a brand new passphrase 42"


def reset_link_setup():
    services.staff_create(email="ann@example.com", password=PASSWORD, role="sales")
    elsewhere = signed_in_again("ann@example.com")
    emails = len(mail.outbox)
    assert Client().post("/admin/password-reset/", {"email": "ann@example.com"}).status_code == 200
    link = re.search(r"http://testserver(/admin/password-reset/\S+/)", mail.outbox[emails].body).group(1)
    client = Client()
    form_url = client.get(link)["Location"]
    return SimpleNamespace(client=client, elsewhere=elsewhere, link=link, form_url=form_url,
                           form={"new_password1": RESET_PASSWORD, "new_password2": RESET_PASSWORD})


def reset_link_kept(ctx, response):
    html = response.content.decode()
    return generic_503(response) or ("Your password could not be saved just now" in html and RESET_PASSWORD not in html)


def reset_link_final(ctx):
    assert check_password(RESET_PASSWORD, Staff.get("ann@example.com", consistent_read=True).password)
    assert Client().get(ctx.link).status_code == 404  # spent
    # Every other session is ended by the reset, or, if DynamoDB failed in between, by the next sign-in,
    # which the page sends the person to; before it, no session can be written (the access stamp moved).
    assert Client().post("/admin/login/", {"email": "ann@example.com", "password": RESET_PASSWORD}).status_code == 302
    assert ctx.elsewhere.get("/admin/leads/").status_code == 302
    assert not Staff.get("ann@example.com", consistent_read=True).sessions_stale


def sessions_setup():
    laptop = signed_in("ann@example.com", "sales")
    phone = signed_in_again("ann@example.com")
    tablet = signed_in_again("ann@example.com")
    refs = re.findall(r'name="session" value="([0-9a-f]+)"', laptop.get("/admin/account/sessions/").content.decode())
    phone_ref = staff_sessions.session_ref(phone.cookies["leads_session"].value)
    assert phone_ref in refs
    return SimpleNamespace(client=laptop, phone=phone, tablet=tablet, form={"session": phone_ref})


def end_one_final(ctx):
    assert ctx.phone.get("/admin/leads/").status_code == 302
    assert ctx.client.get("/admin/leads/").status_code == 200 and ctx.tablet.get("/admin/leads/").status_code == 200
    assert sessions_of("ann@example.com") == 2
    assert Staff.get("ann@example.com", consistent_read=True).session_keys == {
        ctx.client.cookies["leads_session"].value, ctx.tablet.cookies["leads_session"].value}


def end_others_final(ctx):
    assert ctx.phone.get("/admin/leads/").status_code == 302 and ctx.tablet.get("/admin/leads/").status_code == 302
    assert ctx.client.get("/admin/leads/").status_code == 200 and sessions_of("ann@example.com") == 1
    assert Staff.get("ann@example.com", consistent_read=True).session_keys == {ctx.client.cookies["leads_session"].value}


def end_all_setup():
    return SimpleNamespace(client=signed_in("boss@example.com", "admin"), sam=signed_in("sam@example.com", "sales"),
                           sam_again=signed_in_again("sam@example.com"))


def end_all_final(ctx):
    sam = Staff.get("sam@example.com", consistent_read=True)
    assert not sam.sessions_stale and not sam.session_keys and sessions_of("sam@example.com") == 0
    assert ctx.sam.get("/admin/leads/").status_code == 302 and ctx.sam_again.get("/admin/leads/").status_code == 302
    assert ctx.client.get("/admin/leads/").status_code == 200


ACCOUNT_PATHS = [
    WritePath("ask for a password-reset link", reset_ask_setup,
              lambda c: c.client.post("/admin/password-reset/", c.form),
              lambda c, r: r.status_code == 200 and "If an account exists for that address" in r.content.decode(),
              lambda c, r: generic_503(r) or ("We could not take your request just now" in r.content.decode()
                                              and 'value="ann@example.com"' in r.content.decode()),
              reset_ask_final),
    WritePath("set a password through a reset link", reset_link_setup, lambda c: c.client.post(c.form_url, c.form),
              redirect_to("/admin/login/"), reset_link_kept, reset_link_final),
    WritePath("sign one session out", sessions_setup,
              lambda c: c.client.post("/admin/account/sessions/end/", c.form), redirect_to("/admin/account/sessions/"),
              lambda c, r: generic_503(r), end_one_final),
    WritePath("sign out everywhere else", sessions_setup,
              lambda c: c.client.post("/admin/account/sessions/end-others/"), redirect_to("/admin/account/sessions/"),
              lambda c, r: generic_503(r), end_others_final),
    WritePath("end someone's sessions (admin)", end_all_setup,
              lambda c: c.client.post("/admin/staff/sam@example.com/end-sessions/"),
              redirect_to("/admin/staff/sam@example.com/"), lambda c, r: generic_503(r), end_all_final),
]
ACCOUNT_NO_TRANSACTION = {"set a password through a reset link", "sign out everywhere else",
                          "end someone's sessions (admin)"}


PATHS = [
    WritePath("contact form POST /", contact_setup, lambda c: c.client.post("/", c.data), redirect_to("/thanks/"),
              contact_kept, one_lead, writes_lead=True),
    WritePath("contact form JSON POST /", json_setup, json_send,
              lambda c, r: r.status_code == 201 and r.json()["id"] == c.lead_ids[0],
              lambda c, r: r.json() == {"error": "We could not store your message just now; please try again."},
              one_lead, writes_lead=True),
    WritePath("sign-in, wrong password", login_setup("guess"), login_send,
              lambda c, r: r.status_code == 200 and "do not match an active account" in r.content.decode(),
              login_kept, login_wrong_final),
    WritePath("sign-in, right password", login_setup(PASSWORD), login_send, signed_in_ok, login_kept,
              login_right_final),
    WritePath("sign-out", logout_setup, lambda c: c.client.post("/admin/logout/"), redirect_to("/admin/login/"),
              lambda c, r: generic_503(r), logout_final),
    WritePath("lead edit", edit_setup, lambda c: c.client.post(f"/admin/leads/{c.lead_ids[0]}/", EDIT),
              lambda c, r: redirect_to(f"/admin/leads/{c.lead_ids[0]}/")(c, r), edit_kept, edit_final,
              writes_lead=True),
    WritePath("bulk status (2 leads)", bulk_setup, lambda c: c.client.post("/admin/leads/bulk/", c.form),
              redirect_to("/admin/leads/"), lambda c, r: generic_503(r), bulk_final, writes_lead=True),
    WritePath("delete", delete_setup, lambda c: c.client.post(f"/admin/leads/{c.lead_ids[0]}/delete/"),
              redirect_to("/admin/leads/"), lambda c, r: generic_503(r), delete_final, writes_lead=True),
    WritePath("restore", restore_setup, lambda c: c.client.post(f"/admin/leads/{c.lead_ids[0]}/restore/"),
              lambda c, r: redirect_to(f"/admin/leads/{c.lead_ids[0]}/")(c, r), lambda c, r: generic_503(r),
              restore_final, writes_lead=True),
    WritePath("invite staff", invite_setup,
              lambda c: c.client.post("/admin/staff/", NEW_STAFF), redirect_to("/admin/staff/"),
              lambda c, r: generic_503(r) or ("could not be saved just now" in r.content.decode()
                                               and 'value="nia@example.com"' in r.content.decode()),
              invite_final),
    WritePath("accept invitation", accept_setup, lambda c: c.client.post(c.link, c.form), accepted, accept_kept,
              accept_final),
    WritePath("change own password", change_setup, lambda c: c.client.post("/admin/account/password/", c.form),
              changed, change_kept, change_final),
    WritePath("deactivate staff", deactivate_setup,
              lambda c: c.client.post("/admin/staff/sam@example.com/", DEACTIVATE_SAM), redirect_to("/admin/staff/"),
              lambda c, r: generic_503(r), deactivate_final),
    WritePath("erase one person's data", erase_setup, lambda c: c.client.post("/admin/privacy/erase/", ERASE),
              lambda c, r: r.status_code == 302 and r["Location"].startswith("/admin/privacy/requests/"),
              lambda c, r: generic_503(r), erase_final),
    *TWO_FACTOR_PATHS,
    *ACCOUNT_PATHS,
]
PATH_IDS = [path.name for path in PATHS]
NO_TRANSACTION = {"sign-out", "deactivate staff"}  # a cancellation needs a TransactWriteItems
CASES = [pytest.param(path, kind, id=f"{path.name}-{kind}") for path in PATHS for kind in FAULTS
         if kind != "cancelled" or path.name not in NO_TRANSACTION | TWO_FACTOR_NO_TRANSACTION | ACCOUNT_NO_TRANSACTION]


def lost(ctx) -> int:
    """How many of the case's leads are in neither the leads nor the trash table."""
    return sum(not Lead.count(i, consistent_read=True) and not TrashedLead.count(i, consistent_read=True)
               for i in ctx.lead_ids)


def recorded_calls(path: WritePath) -> list[tuple[str, tuple[str, ...]]]:
    """The DynamoDB calls the path's request makes when nothing fails, in order (the reference run)."""
    ctx = path.setup()
    with dynamodb_calls() as log:
        response = path.send(ctx)
    assert path.succeeded(ctx, response), response.status_code
    path.final(ctx)
    assert_whole()
    return log.calls


def transaction_tokens():
    """The model of AWS's token idempotency where the emulator lacks it (moto)."""
    return TransactionTokens() if BACKEND == "moto" else None


def run_case(path, k, calls, *, kind=None, lost_answer=None, backoffs=None):
    """Fail (or lose the answer of) call #k alone; check the answer, the state, the retry; return a report row."""
    wipe()
    ctx = path.setup()
    fault = {"lost": lost_answer} if lost_answer else FAULTS[kind]
    if backoffs is not None:
        backoffs.clear()
    ctx.lost = (calls[k][0], lost_answer) if lost_answer else None
    ctx.lost_tables = calls[k][1] if lost_answer else ()
    with dynamodb_calls(fail=k, tokens=transaction_tokens(), **fault) as log:
        response = path.send(ctx)
    where = f"{path.name}: call #{k + 1} {calls[k][0]} {'/'.join(calls[k][1])}, {kind or 'answer lost ' + lost_answer}"
    assert log.calls[:k + 1] == calls[:k + 1], where  # the same request, call for call, up to the fault
    assert response.status_code != 500, where
    ok = path.succeeded(ctx, response)
    if kind and kind != "cancelled":
        assert log.injected == 1 + settings.DYNAMODB_MAX_RETRIES, where  # botocore retried the failing call
    if kind == "cancelled" or lost_answer == "first":
        assert ok, where  # the app's commit loop, or botocore's retry with the same token, got it through
    if not ok:
        assert response.status_code == 503 and path.kept(ctx, response), where
    assert_whole()
    retried = None
    if not ok:  # the fault is lifted and the person sends the very same request again
        retried = path.send(ctx)
        assert path.succeeded(ctx, retried), (where, retried.status_code)
        assert_whole()
    path.final(ctx)
    row = {"path": path.name, "call": k + 1, "calls": len(calls), "operation": calls[k][0], "tables": list(calls[k][1]),
           "fault": kind or f"answer lost ({lost_answer})", "requests": 1 + (retried is not None),
           "faults_injected": log.injected, "writes_landed_unanswered": log.landed,
           "status": response.status_code, "page": "generic" if response.status_code == 503 and generic_503(response)
           else "form" if response.status_code == 503 else "",
           "status_after_retry": retried.status_code if retried is not None else None,
           "rate_limit_tallies": rate_tallies("login") or rate_tallies("contact"),
           "writes_lead": path.writes_lead, "leads_lost": lost(ctx) if path.writes_lead else None, "drift": len(audit()[1])}
    RESULTS.append(row)
    return row


# --- 1. Each call on its own ---------------------------------------------------------------------


@pytest.mark.parametrize("path, kind", CASES)
def test_each_call_fails_on_its_own(path, kind, backoffs):
    calls = recorded_calls(path)
    targets = [k for k, (operation, _) in enumerate(calls) if kind != "cancelled" or operation == "TransactWriteItems"]
    assert targets
    for k in targets:
        run_case(path, k, calls, kind=kind, backoffs=backoffs)


# --- 2. Ambiguous outcomes: the write lands, its answer is lost ------------------------------------


@pytest.mark.parametrize("lost_answer", ["first", "all"])
@pytest.mark.parametrize("path", PATHS, ids=PATH_IDS)
def test_each_write_lands_but_its_answer_is_lost(path, lost_answer):
    calls = recorded_calls(path)
    for k, (operation, _) in enumerate(calls):
        if operation in WRITE_OPERATIONS:
            run_case(path, k, calls, lost_answer=lost_answer)


# --- Bugs the matrix found (each failed before its fix) ---------------------------------------------


def test_sign_in_answers_503_when_only_the_session_save_fails():
    """The session write after a right password fails alone: the sign-in form again, with a 503, not a 500."""
    path = PATHS[PATH_IDS.index("sign-in, right password")]
    calls = recorded_calls(path)
    # The session write: a PutItem, or a TransactWriteItems with its staff check (security hole 1).
    last_put = max(k for k, (operation, _) in enumerate(calls) if operation in ("PutItem", "TransactWriteItems"))
    wipe()
    ctx = path.setup()
    with dynamodb_calls(fail=last_put, code="ThrottlingException"):
        response = path.send(ctx)
    assert response.status_code == 503 and login_kept(ctx, response)
    assert "leads_session" not in response.cookies
    assert signed_in_ok(ctx, path.send(ctx))


def test_a_cancelled_edit_is_committed_by_the_commit_loops_next_attempt():
    lead_id = make_lead()
    with dynamodb_calls(fail=1, cancel="TransactionConflict") as log:  # call #1 reads the lead
        services.lead_update(lead_id=lead_id, expected_version=1, actor="sam@example.com", status="qualified")
    assert [operation for operation, _ in log.calls] == ["GetItem", "TransactWriteItems", "TransactWriteItems"]
    assert (Lead.get(lead_id).status, Lead.get(lead_id).version, history(lead_id)) == ("qualified", 2, ["created", "changed"])


def test_sending_an_edit_that_already_landed_again_is_not_a_conflict():
    lead_id = make_lead()
    wanted = {"status": "qualified", "notes": "Call Tuesday", "owner": None}
    services.lead_update(lead_id=lead_id, expected_version=1, actor="sam@example.com", **wanted)
    lead, changes = services.lead_update(lead_id=lead_id, expected_version=1, actor="sam@example.com", **wanted)
    assert (lead.version, changes, history(lead_id)) == (2, {}, ["created", "changed"])


def test_sending_a_delete_that_already_landed_again_succeeds(admin_client):
    lead_id = make_lead()
    assert admin_client.post(f"/admin/leads/{lead_id}/delete/").status_code == 302
    again = admin_client.post(f"/admin/leads/{lead_id}/delete/")
    assert (again.status_code, again["Location"]) == (302, "/admin/leads/")
    assert history(lead_id) == ["created", "deleted"] and TrashedLead.count(lead_id) == 1


def test_sending_a_restore_that_already_landed_again_succeeds(admin_client):
    lead_id = make_lead()
    admin_client.post(f"/admin/leads/{lead_id}/delete/")
    assert admin_client.post(f"/admin/leads/{lead_id}/restore/").status_code == 302
    again = admin_client.post(f"/admin/leads/{lead_id}/restore/")
    assert (again.status_code, again["Location"]) == (302, f"/admin/leads/{lead_id}/")
    assert history(lead_id) == ["created", "deleted", "restored"]


def test_an_account_whose_creation_answer_was_lost_is_not_reported_as_taken():
    with dynamodb_calls(fail=0, lost="first") as log:  # botocore resends the PutItem; its condition now fails
        staff = services.staff_create(email="nia@example.com", password=PASSWORD, role="sales", name="Nia")
    assert log.landed == 1 and staff.email == "nia@example.com"
    assert services.staff_create(email="nia@example.com", password=PASSWORD, role="sales", name="Nia").role == "sales"
    with pytest.raises(services.StaffExists):
        services.staff_create(email="nia@example.com", password="another passphrase", role="sales", name="Nia")


# --- Details the matrix does not show -------------------------------------------------------------


def test_lead_edit_503_page_shows_the_stored_status(sales_client):
    lead_id = make_lead()
    form = {"status": "qualified", "owner": "", "notes": "", "version": 1}
    with dynamodb_fault(operations={"TransactWriteItems"}):
        html = sales_client.post(f"/admin/leads/{lead_id}/", form).content.decode()
    assert Lead.get(lead_id).status == "new"
    assert '<span class="badge new">New</span>' in html  # the header describes the stored lead


def test_bulk_fault_on_the_second_lead_keeps_each_lead_whole(sales_client):
    ids = [make_lead(f"p{n}@acme.com") for n in range(2)]
    form = {"ids": ids, "action": "set_status", "status": "lost", "confirm": "1"}
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException", skip=1):
        response = sales_client.post("/admin/leads/bulk/", form)
    assert response.status_code == 503 and generic_503(response)
    assert [Lead.get(i).status for i in ids] == ["lost", "new"]  # one transaction per lead: each whole
    assert [len(history(i)) for i in ids] == [2, 1]
    assert_whole()
    retried = sales_client.post("/admin/leads/bulk/", form)
    assert "Set 1 lead to Lost." in sales_client.get(retried["Location"]).content.decode()
    assert [Lead.get(i).status for i in ids] == ["lost", "lost"]


@pytest.mark.parametrize("kind, expected", [
    ("throttling", [1.0, 2.0, 4.0]),  # throttling: base 1 s, doubling
    ("500", [0.025, 0.05, 0.1]),  # other retryable errors on DynamoDB: base 25 ms, doubling
])
def test_standard_mode_backs_off_exponentially(kind, expected, settings, monkeypatch, backoffs):
    settings.DYNAMODB_MAX_RETRIES = 3
    original = ExponentialBackoff.__init__
    monkeypatch.setattr(ExponentialBackoff, "__init__", lambda self, **kw: original(self, **kw, random=lambda: 1.0))
    dynamodb.configure()  # a new client with 4 attempts, its jitter pinned at the maximum
    assert dynamodb.shared_connection().client.meta.config.retries["mode"] == "standard"
    with dynamodb_fault(operations={"GetItem"}, **FAULTS[kind]) as log, pytest.raises(GetError):
        Lead.get("0" * 32)
    assert log.injected == 4
    assert backoffs == pytest.approx(expected)
