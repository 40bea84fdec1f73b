"""The lead page's timeline: notes and emailed replies, as staff see and send them."""
import re
from html import unescape

import pytest
from django.core import mail
from django.test import Client

from leads.domain import selectors, services, timeline
from leads.storage.models import Lead
from tests.faults import dynamodb_fault
from tests.helpers import make_lead, status_count

TOKEN = re.compile(r'name="token" value="([^"]+)"')


def page(client, lead_id) -> str:
    return client.get(f"/admin/leads/{lead_id}/").content.decode()


def tokens(html) -> list[str]:
    """The note form's token, then the reply form's."""
    return [unescape(t) for t in TOKEN.findall(html)]


def add_note(client, lead_id, text, token=None):
    token = token or tokens(page(client, lead_id))[0]
    return client.post(f"/admin/leads/{lead_id}/notes/", {"text": text, "token": token})


def field_value(html, element_id) -> str:
    """The value of the input with this id, as a browser would send it."""
    [tag] = [t for t in re.findall(r"<input[^>]*>", html) if f'id="{element_id}"' in t]
    return unescape(re.search(r'value="([^"]*)"', tag).group(1))


def reply(client, lead_id, *, text="Thanks for writing. Here is our offer.", subject=None, token=None, version=None):
    html = page(client, lead_id)
    form = {"token": token or tokens(html)[1], "text": text,
            "subject": subject if subject is not None else field_value(html, "reply_subject"),
            "version": version or field_value(html, "reply_version")}
    return client.post(f"/admin/leads/{lead_id}/reply/", form)


def replies_sent():
    return [message for message in mail.outbox if "sales@example.com" not in message.to]


# --- Notes ---------------------------------------------------------------------------------------

def test_a_note_shows_in_the_timeline_with_its_author_and_time(sales_client):
    lead_id = make_lead()
    response = add_note(sales_client, lead_id, "Called: <b>wants</b> a demo\non Tuesday")
    assert response.status_code == 302 and response["Location"].endswith(f"/admin/leads/{lead_id}/#timeline")
    html = sales_client.get(response["Location"]).content.decode()
    assert "Note added." in html
    timeline_html = html[html.index('id="timeline"'):]
    assert "<strong>Sam</strong> added a note" in timeline_html
    assert "Called: &lt;b&gt;wants&lt;/b&gt; a demo\non Tuesday" in timeline_html
    assert re.search(r'class="when">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', timeline_html)


def test_two_notes_are_two_entries_newest_first(sales_client, admin_client):
    lead_id = make_lead()
    add_note(sales_client, lead_id, "First note")
    add_note(admin_client, lead_id, "Second note")
    html = page(sales_client, lead_id)
    assert html.index("Second note") < html.index("First note")
    assert "<strong>Boss</strong> added a note" in html


@pytest.mark.parametrize("text, error", [
    ("", "Write the note first."),
    ("   ", "Write the note first."),
    ("x" * (timeline.NOTE_MAX_LENGTH + 1), f"Ensure this value has at most {timeline.NOTE_MAX_LENGTH} characters"),
])
def test_an_empty_or_oversized_note_is_a_form_error_and_stores_nothing(sales_client, text, error):
    lead_id = make_lead()
    response = add_note(sales_client, lead_id, text)
    html = response.content.decode()
    assert response.status_code == 200 and error in html
    assert 'aria-invalid="true"' in html and 'id="note_text_error"' in html
    assert [e for e in selectors.lead_history(lead_id=lead_id) if e.action == "note"] == []


def test_resending_the_same_note_form_stores_it_once(sales_client):
    lead_id = make_lead()
    token = tokens(page(sales_client, lead_id))[0]
    assert add_note(sales_client, lead_id, "Just once", token).status_code == 302
    assert add_note(sales_client, lead_id, "Just once", token).status_code == 302
    assert page(sales_client, lead_id).count("Just once") == 1


def test_a_forged_or_expired_token_keeps_the_text_and_gives_a_fresh_token(sales_client, settings):
    lead_id = make_lead()
    response = add_note(sales_client, lead_id, "Keep me", token="forged")
    html = response.content.decode()
    assert "This form was open too long" in html and "Keep me" in html
    fresh = tokens(html)[0]
    assert fresh != "forged"
    assert add_note(sales_client, lead_id, "Keep me", fresh).status_code == 302


def test_a_note_needs_csrf_and_a_signed_in_person():
    lead_id = make_lead()
    assert Client().post(f"/admin/leads/{lead_id}/notes/", {"text": "x"}).status_code == 302  # to sign-in
    from tests.helpers import signed_in

    strict = signed_in("sam@example.com", "sales")
    strict.handler.enforce_csrf_checks = True
    assert strict.post(f"/admin/leads/{lead_id}/notes/", {"text": "x", "token": "t"}).status_code == 403


def test_a_note_on_a_missing_lead_is_a_404(sales_client):
    lead_id = make_lead()
    token = tokens(page(sales_client, lead_id))[0]
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    assert add_note(sales_client, lead_id, "Too late", token).status_code == 404


def test_a_note_while_dynamodb_is_down_is_a_503_with_the_text_kept_and_the_same_token(sales_client):
    lead_id = make_lead()
    token = tokens(page(sales_client, lead_id))[0]
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        response = add_note(sales_client, lead_id, "Do not lose me", token)
    html = response.content.decode()
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert "Do not lose me" in html and f'action="/admin/leads/{lead_id}/notes/"' in html
    assert tokens(html) == [token]
    assert add_note(sales_client, lead_id, "Do not lose me", token).status_code == 302


def test_a_note_while_even_the_session_is_out_of_reach_keeps_the_text(sales_client):
    lead_id = make_lead()
    with dynamodb_fault():
        response = add_note(sales_client, lead_id, "Still here", "some-token")
    assert response.status_code == 503 and "Still here" in response.content.decode()


def test_the_edit_form_no_longer_shows_the_old_notes_field_but_the_timeline_does(sales_client):
    lead_id = make_lead()
    Lead(lead_id).update(actions=[Lead.notes.set("Written before the timeline")], add_version_condition=False)
    html = page(sales_client, lead_id)
    assert 'name="notes"' not in html
    assert "Notes from before the timeline" in html and "Written before the timeline" in html


# --- Replies -------------------------------------------------------------------------------------

def test_the_reply_form_is_prefilled_with_re_the_subject(sales_client):
    lead_id = make_lead(subject="Pricing for twelve")
    html = page(sales_client, lead_id)
    assert field_value(html, "reply_subject") == "Re: Pricing for twelve"
    assert "To Ann &lt;ann@acme.com&gt;" in html


def test_a_reply_is_sent_recorded_and_marks_the_lead_contacted(sales_client, settings):
    settings.DEFAULT_FROM_EMAIL = "leads@example.com"
    lead_id = make_lead(subject="Pricing")
    response = reply(sales_client, lead_id)
    assert response.status_code == 302
    html = sales_client.get(response["Location"]).content.decode()
    assert "Reply sent." in html
    [message] = replies_sent()
    assert (message.from_email, message.reply_to, message.to) == ("Sam <leads@example.com>", ["sam@example.com"],
                                                                  ["ann@acme.com"])
    assert message.subject == "Re: Pricing" and message.body == "Thanks for writing. Here is our offer."
    assert "<strong>Sam</strong> replied by email: “Re: Pricing”" in html and ">Sent</span>" in html
    assert "status: “new” → “contacted”" in html
    assert Lead.get(lead_id).status == "contacted" and status_count("contacted") == 1


def test_resending_the_same_reply_form_sends_nothing_again(sales_client):
    lead_id = make_lead()
    html = page(sales_client, lead_id)
    token = tokens(html)[1]
    assert reply(sales_client, lead_id, token=token, version=1).status_code == 302
    response = reply(sales_client, lead_id, token=token, version=1)
    assert response.status_code == 302
    assert "already submitted" in sales_client.get(response["Location"]).content.decode()
    assert len(replies_sent()) == 1


@pytest.mark.parametrize("fields, error", [
    ({"text": ""}, "Write the reply first."),
    ({"subject": ""}, "Give the email a subject."),
    ({"text": "x" * (timeline.REPLY_MAX_LENGTH + 1)}, "at most 20000 characters"),
    ({"subject": "x" * 201}, "at most 200 characters"),
])
def test_an_empty_or_oversized_reply_is_a_form_error_and_sends_nothing(sales_client, fields, error):
    lead_id = make_lead()
    response = reply(sales_client, lead_id, **fields)
    assert response.status_code == 200 and error in response.content.decode()
    assert replies_sent() == []


def test_a_reply_after_someone_else_changed_the_lead_is_a_conflict_with_the_text_kept(sales_client, admin_client):
    lead_id = make_lead()
    html = page(sales_client, lead_id)
    services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status="qualified")
    response = reply(sales_client, lead_id, text="My careful reply", token=tokens(html)[1], version=1)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else changed this lead while you were writing. Your reply was not sent" in html
    assert "My careful reply" in html and "“new” → “qualified”" in html
    assert field_value(html, "reply_version") == "2"
    assert replies_sent() == []


def test_a_failed_send_keeps_the_reply_with_a_retry_that_sends_it_once(sales_client, settings):
    settings.EMAIL_BACKEND = "tests.email_backends.FailingEmailBackend"
    lead_id = make_lead()
    response = reply(sales_client, lead_id, text="Please retry me")
    html = sales_client.get(response["Location"]).content.decode()
    assert "The email could not be sent." in html and "Please retry me" in html and ">Not sent</span>" in html
    assert Lead.get(lead_id).status == "new"
    entry = re.search(r'name="entry" value="([^"]+)"', html).group(1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = sales_client.post(f"/admin/leads/{lead_id}/reply/retry/", {"entry": entry})
    html = sales_client.get(response["Location"]).content.decode()
    assert "Reply sent." in html and 'name="entry"' not in html
    assert sales_client.post(f"/admin/leads/{lead_id}/reply/retry/", {"entry": entry}).status_code == 302
    assert [m.body for m in replies_sent()] == ["Please retry me"]
    assert Lead.get(lead_id).status == "contacted"


def test_retrying_something_that_is_not_a_reply_is_a_404(sales_client):
    lead_id = make_lead()
    [created] = selectors.lead_history(lead_id=lead_id)
    assert sales_client.post(f"/admin/leads/{lead_id}/reply/retry/", {"entry": created.event_id}).status_code == 404
    assert sales_client.post(f"/admin/leads/{lead_id}/reply/retry/", {"entry": "nonsense"}).status_code == 404


def test_a_reply_while_dynamodb_is_down_is_a_503_with_the_text_kept_and_nothing_sent(sales_client):
    lead_id = make_lead()
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        response = reply(sales_client, lead_id, text="Keep this reply")
    html = response.content.decode()
    assert response.status_code == 503 and "Keep this reply" in html and "never sent twice" in html
    assert replies_sent() == []


def test_the_timeline_forms_are_gets_nowhere(sales_client):
    lead_id = make_lead()
    for path in ("notes/", "reply/", "reply/retry/"):
        assert sales_client.get(f"/admin/leads/{lead_id}/{path}").status_code == 405



def test_the_privacy_page_shows_a_persons_notes_and_replies(admin_client):
    lead_id = make_lead("ann@acme.com")
    add_note(admin_client, lead_id, "Ann prefers calls after four")
    reply(admin_client, lead_id, text="Dear Ann, our offer.")
    html = admin_client.post("/admin/privacy/", {"email": "ann@acme.com"}).content.decode()
    assert "Ann prefers calls after four" in html and "Dear Ann, our offer." in html and "“Re: Hello”" in html
