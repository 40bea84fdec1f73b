"""Hostile input: whatever a visitor or a forged request sends, the answer is never a 500, and whatever
gets stored renders safely in every staff page and in the CSV export.

Property-based tests (hypothesis) throw arbitrary unicode, huge and missing fields, wrong JSON types,
malformed bodies and random bytes at the contact form; targeted tests cover email header injection,
HTML/JS payloads, expired cursors, forged session cookies, oversized requests, wrong methods and CSRF on
every staff POST. Bugs these tests found are kept as regression tests with their exact reproduction.
"""
import csv
import email
import io
import json
import re
import time
from email import policy
from unittest import mock
from urllib.parse import unquote, urlencode

import markupsafe
import pytest
from django.core import mail, signing
from django.test import Client
from django.utils.crypto import get_random_string
from django.utils.html import escape
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from leads.domain import cursors, invitations, services, timeline
from leads.public import tokens
from leads.storage.models import HistoryEvent, Invitation, Lead, Staff, StaffSession, TrashedLead
from tests.helpers import PASSWORD, make_lead, signed_in

ALLOWED_ORIGIN = "https://static.example.com"  # LEADS_CORS_ORIGINS in tests/settings.py
FIELDS = ("name", "email", "company", "subject", "message")
VALID = {"name": "Ada Lovelace", "email": "ada@example.com", "company": "Engines Ltd", "subject": "Notes",
         "message": "On the analytical engine."}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may evaluate (OWASP CSV injection)
EXPECTED_HEADERS = {"content-type", "mime-version", "content-transfer-encoding", "subject", "from", "to",
                    "reply-to", "date", "message-id"}

examples = hypothesis_settings(
    max_examples=60, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    """Dozens of posts from one test client: the rate limit has its own tests."""
    settings.LEADS_RATELIMIT_DISABLED = True


@pytest.fixture
def staff():
    """One signed-in admin for a whole test (every hypothesis example reuses it)."""
    return signed_in("boss@example.com", "admin")


# --- Strategies -----------------------------------------------------------------------------------

# Any character but lone surrogates (a separate, targeted test): controls, RTL marks, emoji included.
characters = st.characters(blacklist_categories=("Cs",))
special = st.sampled_from([
    "\u202e", "\u200f", "\u200b", "\ufeff", "\u2028", "\x85", "\x0b", "\x1c", "\x1b[31m", "\x00", "\x7f",
    "\r\n", "\r", "\n\n", "\t", "🦄", "👩‍👩‍👧", "🏳️‍🌈", "Z̤͔ͧ̑̓", "ﷺ", "=1+1", "+SUM(A1)", "-2+3", "@cmd",
    "=HYPERLINK(\"http://evil\")", "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'\"&<>",
    "</textarea>", "{{ lead }}", "{% csrf_token %}", "%s%n%x", "Bcc: eve@example.com", "\r\nBcc: eve@example.com",
])
huge = st.tuples(st.sampled_from(["x", "é", "🦄", "\u202e", "=", " "]),
                 st.sampled_from([199, 200, 201, 254, 255, 4999, 5000, 5001, 20000, 300000])).map(lambda t: t[0] * t[1])
texts = st.one_of(
    st.text(characters, max_size=60),
    special,
    st.lists(st.one_of(st.text(characters, max_size=20), special), min_size=1, max_size=6).map("".join),
    huge,
)
emails = st.one_of(
    st.emails(),
    st.sampled_from([
        "ada@example.com", "ADA@Example.COM", "=1+1@example.com", "+ada@example.com", "-x@example.org",
        "a@bücher.de", "x@[127.0.0.1]", "a@localhost", "a@b", "@@example.com", "a b@example.com",
        "a@example.com\r\nBcc: eve@example.com", "a@example.com\nX: y", "<a@example.com>", "Ada <a@example.com>",
        "a" * 64 + "@" + "b" * 63 + ".com", "a" * 250 + "@x.co",
    ]),
    texts,
)
MISSING = object()
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**50, 10**50), st.floats(allow_nan=True),
                         st.text(characters, max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(characters, max_size=8), inner, max_size=3), max_leaves=8)


@st.composite
def form_fields(draw, wrong_types=False):
    """A contact form's fields, each kept valid, replaced by arbitrary text, dropped, or (JSON) mistyped."""
    data = {}
    for name in FIELDS:
        options = [st.just(VALID[name]), emails if name == "email" else texts, st.just(MISSING)]
        if wrong_types:
            options.append(json_values)
        value = draw(st.one_of(*options))
        if value is not MISSING:
            data[name] = value
    extra = draw(st.dictionaries(st.sampled_from(["website", "token", "csrfmiddlewaretoken", "status", "version"])
                                 | st.text(characters, min_size=1, max_size=10), texts, max_size=2))
    return {**data, **extra}


@st.composite
def one_field_changed(draw, wrong_types=False):
    """A valid form with one field replaced: most of these are stored, so the staff pages get exercised."""
    name = draw(st.sampled_from(FIELDS))
    values = emails if name == "email" else texts
    plain = st.text(characters.filter(lambda c: c != "\x00"), min_size=1, max_size=80)
    value = draw(st.one_of(plain, values, json_values) if wrong_types else st.one_of(plain, values))
    return {**VALID, name: value}


# --- Checks shared by the tests -------------------------------------------------------------------

def header_names(message_bytes: bytes) -> set[str]:
    """The header field names of a raw message (everything before the first blank line)."""
    head = re.split(rb"\r?\n\r?\n", message_bytes, maxsplit=1)[0].decode("ascii")
    return {line.split(":", 1)[0].lower() for line in re.split(r"\r?\n", head) if line and not line[0].isspace()}


def ascii_address(address: str) -> str:
    """The address as it must appear in a header: an internationalised domain in its IDNA form."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}" if not domain.isascii() else address


def assert_notification_is_clean(message, reply_to: str) -> None:
    """No header but the expected ones, Reply-To exactly the visitor, only sales as recipient."""
    raw = message.message().as_bytes()
    assert header_names(raw) <= EXPECTED_HEADERS, raw[:2000]
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed.get_all("Bcc") is None and parsed.get_all("Cc") is None
    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == [ascii_address(reply_to)]
    assert message.recipients() == ["sales@example.com"]


def export_rows(client) -> list[dict]:
    response = client.get("/admin/leads/export.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def neutralised(value) -> str:
    text = value or ""
    return "'" + text if text.startswith(FORMULA_START) else text


def assert_stored_leads_render(client, new_lead_ids=()) -> None:
    """Every stored lead shows (escaped) in the inbox, its detail page and the CSV export."""
    leads = {lead.lead_id: lead for lead in Lead.scan()}
    inbox = client.get("/admin/leads/?per_page=100")
    assert inbox.status_code == 200
    html = inbox.content.decode()
    newest = sorted(leads.values(), key=lambda lead: lead.created_at, reverse=True)[:100]
    for lead in newest:
        assert f'href="/admin/leads/{lead.lead_id}/">{escape(lead.name)}</a>' in html
        assert f'<td data-label="Email">{escape(lead.email)}</td>' in html
    for lead_id in new_lead_ids:
        lead = leads[lead_id]
        detail = client.get(f"/admin/leads/{lead_id}/")
        assert detail.status_code == 200
        page = detail.content.decode()
        for value in (lead.name, lead.email, lead.subject, lead.message, lead.company):
            if value:
                assert escape(value) in page
    rows = export_rows(client)
    assert len(rows) == len(leads)
    for row in rows:
        lead = leads[row["id"]]
        for attr in FIELDS:
            assert row[attr] == neutralised(getattr(lead, attr)), (attr, row[attr])


def fresh_token(client) -> str:
    return re.search(r'name="token" value="([^"]+)"', client.get("/").content.decode()).group(1)


# --- Property-based: the contact form -------------------------------------------------------------

@examples
@given(fields=st.one_of(form_fields(), one_field_changed()), urlencoded=st.booleans())
def test_any_html_form_post_is_answered_without_a_500_and_stored_leads_render(staff, fields, urlencoded):
    visitor = Client(raise_request_exception=False)
    data = {"token": fresh_token(visitor), **fields}
    mail.outbox.clear()
    if urlencoded:
        response = visitor.post("/", urlencode(data), content_type="application/x-www-form-urlencoded")
    else:
        response = visitor.post("/", data)
    event(f"answered {response.status_code}")
    assert response.status_code in (200, 302, 400), response.content[:1000]
    if response.status_code == 302:
        assert response["Location"] == "/thanks/"
    if response.status_code == 200:
        assert 'name="message"' in response.content.decode()  # the form again, with its errors
    try:
        lead_id = tokens.lead_id_from_token(data["token"])
    except signing.BadSignature:
        lead_id = None
    stored = lead_id is not None and Lead.count(lead_id) == 1
    assert stored == (response.status_code == 302 and not data.get("website"))
    event("stored" if stored else "not stored")
    if stored:
        [message] = mail.outbox
        assert_notification_is_clean(message, reply_to=Lead.get(lead_id).email)
        assert_stored_leads_render(staff, [lead_id])


def json_bodies():
    mostly_valid = one_field_changed(wrong_types=True).map(lambda d: json.dumps(d).encode())
    anything = form_fields(wrong_types=True).map(lambda d: json.dumps(d).encode())
    malformed = st.one_of(
        st.binary(max_size=300),
        st.text(characters, max_size=100).map(str.encode),
        st.builds(lambda d, cut: json.dumps(d).encode()[:cut], form_fields(), st.integers(0, 200)),
        json_values.map(lambda v: json.dumps(v).encode()),  # valid JSON, usually not an object
        st.sampled_from([b"", b"null", b"{}", b"[]", b'"x"', b"NaN", b"{\"name\": Infinity}", b"\xff\xfe{",
                         b"{\"a\":1,}", b"{'name': 'x'}", ("\ufeff" + json.dumps(VALID)).encode()]),
    )
    return st.one_of(mostly_valid, anything, malformed)


@examples
@given(body=json_bodies(),
       idempotency_key=st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300)))
def test_any_json_post_is_answered_without_a_500_and_stored_leads_render(staff, settings, body, idempotency_key):
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    before = Lead.count()
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key is not None else {}
    mail.outbox.clear()
    response = browser.post("/", body, content_type="application/json", HTTP_ACCEPT="application/json",
                            HTTP_ORIGIN=ALLOWED_ORIGIN, **headers)
    event(f"answered {response.status_code}")
    assert response.status_code in (201, 400), response.content[:1000]
    if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:  # refused by Django before the view: its 400 page
        assert response.status_code == 400 and Lead.count() == before
        return
    answer = response.json()
    if response.status_code == 400:
        assert answer["errors"] and Lead.count() == before
        return
    stored = Lead.count(answer["id"]) == 1
    if not stored:  # only the honeypot gets a 201 for nothing
        assert json.loads(body).get("website")
        return
    if answer["created"]:  # False: an Idempotency-Key seen in an earlier example, nothing new stored or sent
        [message] = mail.outbox
        assert_notification_is_clean(message, reply_to=Lead.get(answer["id"]).email)
    else:
        assert mail.outbox == [] and Lead.count() == before
    assert_stored_leads_render(staff, [answer["id"]])


@examples
@given(
    body=st.one_of(st.binary(max_size=500), st.text(characters, max_size=200).map(str.encode)),
    content_type=st.sampled_from([
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=BoUnDaRy", "multipart/form-data",
        "multipart/form-data; boundary=", "text/plain", "application/json", "application/json; charset=utf-16",
        "application/x-www-form-urlencoded; charset=utf-16", "application/x-www-form-urlencoded; charset=nope",
    ]),
    accept=st.sampled_from(["text/html", "application/json", "*/*", ""]),
    origin=st.sampled_from([ALLOWED_ORIGIN, "https://evil.example", ""]),
)
def test_random_bytes_in_any_encoding_are_never_a_500(staff, body, content_type, accept, origin):
    visitor = Client(raise_request_exception=False)
    before = Lead.count()
    # generic() sends the bytes as they are, whatever charset the content type claims.
    response = visitor.generic("POST", "/", body, content_type=content_type, HTTP_ACCEPT=accept, HTTP_ORIGIN=origin)
    event(f"answered {response.status_code}")
    assert response.status_code in (200, 201, 302, 400, 403), (response.status_code, response.content[:1000])
    if Lead.count() != before:
        assert_stored_leads_render(staff)


# --- Bugs these tests found once (JSON limits, lone surrogates, field counts): kept as regressions ----

def post_json_raw(body: bytes | str):
    return Client(raise_request_exception=False).post(
        "/", body, content_type="application/json", HTTP_ACCEPT="application/json", HTTP_ORIGIN=ALLOWED_ORIGIN,
    )


def test_json_with_a_5000_digit_number_is_a_400_not_a_500():
    response = post_json_raw('{"name": ' + "1" * 5000 + ', "email": "a@example.com"}')
    assert response.status_code == 400 and Lead.count() == 0


def test_deeply_nested_json_is_a_400_not_a_500():
    response = post_json_raw("[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400


def test_a_lone_surrogate_in_json_is_refused_and_never_breaks_the_inbox(staff):
    body = json.dumps({**VALID, "name": "\ud800Ada"})  # json.dumps escapes it: {"name": "\ud800Ada", ...}
    assert "\\ud800" in body
    response = post_json_raw(body)
    stored = list(Lead.scan())
    pages = {}
    if stored:
        staff.raise_request_exception = False
        pages = {url: staff.get(url).status_code
                 for url in ("/admin/leads/", f"/admin/leads/{stored[0].lead_id}/")}
        try:
            pages["export"] = len(export_rows(staff))
        except UnicodeEncodeError:
            pages["export"] = "UnicodeEncodeError"
    assert (response.status_code, stored, pages) == (400, [], {}), f"answered {response.status_code}; pages {pages}"


def test_bulk_action_on_a_full_100_row_page_reaches_the_confirmation_page(staff):
    for n in range(100):
        make_lead(f"p{n}@acme.com")
    page = staff.get("/admin/leads/?per_page=100").content.decode()
    ids = re.findall(r'name="ids" value="([0-9a-f]{32})"', page)
    assert len(ids) == 100
    back = re.search(r'name="back" value="([^"]*)"', page).group(1).replace("&amp;", "&")
    staff.raise_request_exception = False
    response = staff.post("/admin/leads/bulk/", {"ids": ids, "action": "set_status", "status": "contacted",
                                                  "back": back, "csrfmiddlewaretoken": "x" * 64})
    assert response.status_code == 200 and "Set 100 leads to" in response.content.decode()


# --- Email header injection -----------------------------------------------------------------------

INJECTIONS = [
    "Hello\r\nBcc: eve@example.com",
    "Hello\nBcc: eve@example.com\nX-Injected: yes",
    "Hello\r\n\r\nA body of the attacker's choosing",
    "Hello\rCc: eve@example.com",
    "Hello\x85Bcc: eve@example.com",
    "Hello\u2028Bcc: eve@example.com",
    "Hello\x0bBcc: eve@example.com\x0cX-Injected: yes",
    "=?utf-8?q?Hello=0D=0ABcc=3A_eve=40example=2Ecom?=",
]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("mode", ["form", "json"])
def test_newlines_in_name_and_subject_never_create_headers(client, mailoutbox, payload, mode):
    fields = {**VALID, "email": "visitor@example.com", "name": f"Eve {payload}", "subject": payload,
              "company": payload, "message": payload}
    if mode == "form":
        response = client.post("/", {**fields, "token": fresh_token(client)})
        assert response.status_code == 302
    else:
        response = post_json_raw(json.dumps(fields))
        assert response.status_code == 201
    [message] = mailoutbox
    assert_notification_is_clean(message, reply_to="visitor@example.com")
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=policy.default)
    assert parsed.get_all("X-Injected") is None
    assert str(parsed["Subject"]).startswith("New lead: Hello")


def test_an_address_with_a_newline_is_refused_before_any_email(client, mailoutbox):
    for address in ["visitor@example.com\r\nBcc: eve@example.com", "visitor@example.com\nBcc:eve@example.com"]:
        response = client.post("/", {**VALID, "email": address, "token": fresh_token(client)})
        assert response.status_code == 200 and "Enter a valid email address." in response.content.decode()
    assert mailoutbox == [] and Lead.count() == 0


# --- HTML/JS payloads are shown escaped everywhere -------------------------------------------------

PAYLOADS = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(2)>", "</textarea><script>alert(3)</script>",
            "'><svg onload=alert(4)>", "javascript:alert(5)//<a href=x>"]


def escaped(html: str, payload: str) -> bool:
    """The payload shown as text: escaped by Django's templates, or by Jinja2's (form widgets: &#39; for ')."""
    return escape(payload) in html or str(markupsafe.escape(payload)) in html


def assert_escaped(html: str, payload: str) -> None:
    assert payload not in html
    assert escaped(html, payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_payloads_are_escaped_on_the_form_inbox_detail_and_history(client, payload):
    # The public form re-rendered with errors (the address is invalid), every field echoed.
    fields = {"name": payload, "company": payload, "subject": payload, "message": payload}
    page = client.post("/", {**fields, "email": "not-an-address", "token": fresh_token(client)}).content.decode()
    for name in fields:
        assert escaped(page, payload), name
    assert payload not in page

    # Stored, then seen by staff.
    assert client.post("/", {**fields, "email": "x@example.com", "token": fresh_token(client)}).status_code == 302
    [lead] = Lead.scan()
    sales = signed_in("sam@example.com", "sales")
    boss = signed_in("boss@example.com", "admin")
    assert_escaped(sales.get("/admin/leads/").content.decode(), payload)
    detail = f"/admin/leads/{lead.lead_id}/"
    assert_escaped(sales.get(detail).content.decode(), payload)

    # The history shows notes from → to; the conflict page lists the changes the editor missed.
    edit = {"status": "contacted", "owner": "", "notes": payload, "version": 1}
    assert boss.post(detail, edit).status_code == 302
    history = sales.get(detail).content.decode()
    assert_escaped(history[history.index("History"):], payload)
    conflict = sales.post(detail, {**edit, "status": "lost", "notes": f"mine {payload}"})
    assert conflict.status_code == 409
    assert_escaped(conflict.content.decode(), payload)
    assert_escaped(conflict.content.decode(), f"mine {payload}")

    # Confirmation pages for bulk actions and delete, and the trash.
    bulk = boss.post("/admin/leads/bulk/", {"ids": [lead.lead_id], "action": "set_status", "status": "lost"})
    assert_escaped(bulk.content.decode(), payload)
    assert_escaped(boss.get(f"{detail}delete/").content.decode(), payload)
    assert boss.post(f"{detail}delete/").status_code == 302
    assert_escaped(boss.get("/admin/leads/deleted/").content.decode(), payload)


# --- Cursors: the one case tests/admin/test_inbox.py does not cover --------------------------------

def test_an_expired_cursor_is_a_400_that_says_so(staff):
    for n in range(30):
        make_lead(f"p{n}@acme.com")
    page = staff.get("/admin/leads/").content.decode()
    cursor = unquote(re.search(r'href="\?cursor=([^"&]+)" rel="next"', page).group(1))
    payload = signing.loads(cursor, salt="leads.cursor")

    resigned = cursors.encode(payload["k"], scope=payload["s"], direction=payload["d"])
    assert staff.get("/admin/leads/", {"cursor": resigned}).status_code == 200  # the same position, signed now

    with mock.patch("django.core.signing.time.time", return_value=time.time() - cursors.MAX_AGE - 60):
        expired = cursors.encode(payload["k"], scope=payload["s"], direction=payload["d"])
    response = staff.get("/admin/leads/", {"cursor": expired})
    assert response.status_code == 400
    assert "This page link has expired." in response.content.decode()


# --- Forged session cookies ------------------------------------------------------------------------

def forged_session_cookies():
    return {
        "garbage": "not a session at all!",
        "short": "abc",
        "unknown key": get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789"),
        "signed-cookie session of another engine": signing.dumps(
            {"staff_email": "boss@example.com", "staff_role": "admin"},
            salt="django.contrib.sessions.backends.signed_cookies", compress=True),
        "jwt": "eyJhbGciOiJub25lIn0.eyJzdGFmZl9lbWFpbCI6ImJvc3NAZXhhbXBsZS5jb20ifQ.",
        "unicode": "ключ-сессии-🦄-12345678",
        "quotes and separators": "\"a;b,c\\d=e f\"",
        "1 KB": "a" * 1024,
    }


@pytest.mark.parametrize("name", list(forged_session_cookies()))
def test_a_forged_session_cookie_is_treated_as_signed_out(name):
    services.staff_create(email="boss@example.com", password=PASSWORD, role="admin")
    visitor = Client(raise_request_exception=False)
    # The Cookie header as a browser sends it; WSGI hands it over decoded as latin-1.
    cookie = {"HTTP_COOKIE": f"leads_session={forged_session_cookies()[name]}".encode().decode("latin-1")}
    for path in ("/admin/", "/admin/leads/", "/admin/staff/"):
        response = visitor.get(path, **cookie)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next="), path
    assert visitor.get("/admin/login/", **cookie).status_code == 200
    assert visitor.post("/admin/logout/", **cookie).status_code == 302
    assert visitor.get("/", **cookie).status_code == 200


def test_a_signed_in_session_key_with_one_character_changed_is_signed_out(staff):
    key = staff.cookies["leads_session"].value
    assert staff.get("/admin/").status_code == 200
    forged = Client(raise_request_exception=False)
    forged.cookies["leads_session"] = key[:-1] + ("a" if key[-1] != "a" else "b")
    assert forged.get("/admin/").status_code == 302


def test_a_very_long_session_cookie_is_treated_as_signed_out():
    visitor = Client(raise_request_exception=False)
    visitor.cookies["leads_session"] = "a" * 4000
    assert visitor.get("/admin/login/").status_code == 200
    response = visitor.get("/admin/leads/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- Oversized requests ----------------------------------------------------------------------------

def over_the_memory_limit(settings) -> dict:
    return {"message": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}


def too_many_fields(settings) -> dict:
    return {f"field{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 50)}


@pytest.mark.parametrize("oversize", [over_the_memory_limit, too_many_fields])
def test_an_oversized_contact_post_is_a_400_in_both_modes(client, settings, oversize):
    data = {**VALID, "token": fresh_token(client), **oversize(settings)}
    response = client.post("/", urlencode(data), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and b"<html" in response.content.lower()
    response = client.post("/", urlencode(data), content_type="application/x-www-form-urlencoded",
                           HTTP_ACCEPT="application/json", HTTP_ORIGIN=ALLOWED_ORIGIN)
    assert response.status_code == 400
    assert Lead.count() == 0


def test_an_oversized_json_body_is_a_400(settings):
    body = json.dumps({**VALID, "message": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert post_json_raw(body).status_code == 400
    assert Lead.count() == 0


@pytest.fixture
def world():
    """A lead, a trashed lead, a second staff member and a CSRF-enforcing signed-in admin, as in production."""
    services.staff_create(email="boss@example.com", password=PASSWORD, role="admin")
    services.staff_create(email="sam@example.com", password=PASSWORD, role="sales")
    lead_id, trashed_id = make_lead("ann@acme.com"), make_lead("bob@acme.com")
    services.lead_delete(lead_id=trashed_id, actor="boss@example.com")
    invitation, token = invitations.invitation_create(email="nia@example.com", role="sales", invited_by="boss@example.com")
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    browser.get("/admin/login/")
    token = browser.cookies["csrftoken"].value
    response = browser.post("/admin/login/", {"email": "boss@example.com", "password": PASSWORD,
                                              "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    return {"browser": browser, "lead": lead_id, "trashed": trashed_id, "invitation": invitation.invitation_id,
            "invitation_token": token, "form_token": timeline.new_form_token()}


def staff_posts(world) -> dict[str, dict]:
    """Every staff POST with the data a real form would send (CSRF token not included)."""
    lead, trashed = world["lead"], world["trashed"]
    return {
        f"/admin/leads/{lead}/": {"status": "lost", "notes": "changed", "owner": "", "version": 1},
        f"/admin/leads/{lead}/notes/": {"text": "A note", "token": world["form_token"]},
        f"/admin/leads/{lead}/reply/": {"subject": "Re: Hi", "text": "A reply", "token": world["form_token"],
                                        "version": 1},
        f"/admin/leads/{lead}/reply/retry/": {"entry": "2026-11-01T00:00:00.000000Z#0123abcd"},
        f"/admin/leads/{lead}/delete/": {},
        f"/admin/leads/{trashed}/restore/": {},
        "/admin/leads/bulk/": {"ids": [lead], "action": "delete", "confirm": "1"},
        "/admin/staff/": {"email": "new@example.com", "role": "admin"},
        "/admin/account/password/": {"current_password": PASSWORD, "new_password1": "a fresh long password",
                                     "new_password2": "a fresh long password"},
        f"/admin/staff/invitations/{world['invitation']}/resend/": {},
        f"/admin/staff/invitations/{world['invitation']}/withdraw/": {},
        f"/admin/invitations/{world['invitation_token']}/": {"new_password1": "a fresh long password",
                                                             "new_password2": "a fresh long password"},
        "/admin/staff/sam@example.com/": {"role": "admin", "active": "on"},
        "/admin/account/two-factor/": {"pending": "x", "code": "123456"},
        "/admin/account/two-factor/recovery-codes/": {"codes-answer": PASSWORD},
        "/admin/account/two-factor/disable/": {"off-answer": PASSWORD},
        "/admin/staff/sam@example.com/two-factor/reset/": {},
        "/admin/login/code/": {"code": "123456"},
        "/admin/account/sessions/end/": {"session": "0" * 24},
        "/admin/account/sessions/end-others/": {},
        "/admin/account/preferences/": {"time_zone": "Europe/Berlin", "language": "de"},
        "/admin/staff/sam@example.com/end-sessions/": {},
        "/admin/password-reset/": {"email": "sam@example.com"},
        "/admin/password-reset/c2FtQGV4YW1wbGUuY29t/set-password/": {"new_password1": "a fresh long password",
                                                                     "new_password2": "a fresh long password"},
        "/admin/logout/": {},
    }


def snapshot(world) -> tuple:
    """What any staff POST above would change."""
    lead = Lead.get(world["lead"], consistent_read=True)
    return (lead.status, lead.notes, lead.version, TrashedLead.count(world["trashed"]),
            HistoryEvent.count(world["lead"], consistent_read=True),
            sorted((s.email, s.role, s.password, s.access, s.time_zone, s.language) for s in Staff.scan()),
            sorted(s.session_key for s in StaffSession.scan()), len(mail.outbox),
            sorted((i.email, i.nonce, i.feed) for i in Invitation.scan()),
            world["browser"].get("/admin/").status_code)


@pytest.mark.parametrize("oversize", [over_the_memory_limit, too_many_fields])
def test_oversized_staff_posts_are_a_400_and_change_nothing(world, settings, oversize):
    browser = world["browser"]
    before = snapshot(world)
    assert before[-1] == 200
    token = browser.cookies["csrftoken"].value
    for path, data in staff_posts(world).items():
        response = browser.post(path, {"csrfmiddlewaretoken": token, **data, **oversize(settings)})
        assert response.status_code == 400, (path, response.status_code)
        assert snapshot(world) == before, path
    anonymous = Client(enforce_csrf_checks=True, raise_request_exception=False)
    anonymous.get("/admin/login/")
    response = anonymous.post("/admin/login/", {"email": "boss@example.com", "password": PASSWORD,
                                                "csrfmiddlewaretoken": anonymous.cookies["csrftoken"].value,
                                                **oversize(settings)})
    assert response.status_code == 400


# --- CSRF on every staff POST ----------------------------------------------------------------------

@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_every_staff_post_without_a_valid_csrf_token_is_a_403_and_changes_nothing(world, token):
    browser = world["browser"]
    before = snapshot(world)
    extra = {"csrfmiddlewaretoken": get_random_string(64)} if token == "wrong" else {}
    for path, data in staff_posts(world).items():
        response = browser.post(path, {**data, **extra})
        assert response.status_code == 403, (path, response.status_code)
        assert snapshot(world) == before, path
    # Sign-in is a POST too: without the token nobody signs in, whatever the password.
    anonymous = Client(enforce_csrf_checks=True, raise_request_exception=False)
    response = anonymous.post("/admin/login/", {"email": "boss@example.com", "password": PASSWORD, **extra})
    assert response.status_code == 403 and "leads_session" not in response.cookies


# --- Wrong methods ----------------------------------------------------------------------------------

PUBLIC = ["/", "/thanks/", "/healthz", "/admin/login/", "/static/leads/site.css", "/admin/invitations/not-a-token/",
          "/admin/password-reset/", "/admin/password-reset/Ym9zc0BleGFtcGxlLmNvbQ/set-password/"]


def staff_urls(lead_id: str, trashed_id: str) -> list[str]:
    return ["/admin/", "/admin/logout/", "/admin/leads/", "/admin/leads/export.csv", "/admin/leads/bulk/",
            "/admin/leads/deleted/", f"/admin/leads/{lead_id}/", f"/admin/leads/{lead_id}/delete/",
            f"/admin/leads/{trashed_id}/restore/", "/admin/staff/", "/admin/staff/boss@example.com/",
            "/admin/account/password/", f"/admin/staff/invitations/{lead_id}/resend/",
            f"/admin/staff/invitations/{lead_id}/withdraw/", "/admin/account/sessions/", "/admin/account/sessions/end/",
            "/admin/account/sessions/end-others/", "/admin/staff/boss@example.com/end-sessions/",
            "/admin/account/preferences/", f"/admin/leads/{lead_id}/notes/", f"/admin/leads/{lead_id}/reply/",
            f"/admin/leads/{lead_id}/reply/retry/"]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_wrong_methods_are_405_or_a_sign_in_redirect_never_500(method):
    lead_id, trashed_id = make_lead("ann@acme.com"), make_lead("bob@acme.com")
    services.lead_delete(lead_id=trashed_id, actor="boss@example.com")
    anonymous = Client(raise_request_exception=False)
    boss = signed_in("boss@example.com", "admin")
    boss.raise_request_exception = False
    for path in PUBLIC + staff_urls(lead_id, trashed_id):
        for who, client in (("anonymous", anonymous), ("admin", boss)):
            response = getattr(client, method)(path, "x=1", content_type="application/x-www-form-urlencoded")
            if who == "anonymous" and path.startswith("/admin/") and path not in PUBLIC + ["/admin/logout/"]:
                assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), (who, path)
            else:
                assert response.status_code == 405, (who, path, response.status_code)
    assert Lead.count(lead_id) == 1 and TrashedLead.count(trashed_id) == 1
