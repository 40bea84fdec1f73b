"""The contact form as a visitor's browser sees it."""
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from django.test import Client

from leads.storage.models import Lead
from tests.faults import dynamodb_fault
from tests.helpers import status_count


def token_from(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def form_data(client, **overrides):
    data = {
        "name": "Grace Hopper",
        "email": "Grace@Navy.MIL",
        "company": "US Navy",
        "subject": "Compilers",
        "message": "Let's talk about COBOL.",
        "token": token_from(client.get("/")),
    }
    data.update(overrides)
    return data


def stored_leads(email="grace@navy.mil"):
    return list(Lead.email_index.query(email))


def new_count():
    return status_count("new")


def test_form_page_has_labelled_fields_and_csrf(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    for field in ["name", "email", "company", "subject", "message"]:
        assert f'for="id_{field}"' in html and f'name="{field}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "<script" not in html
    assert 'href="/static/leads/site.css"' in html


def test_submit_stores_a_new_lead_and_redirects_to_thanks(client):
    response = client.post("/", form_data(client))
    assert response.status_code == 302 and response["Location"] == "/thanks/"
    [lead] = stored_leads()
    assert (lead.name, lead.status, lead.company) == ("Grace Hopper", "new", "US Navy")
    thanks = client.get("/thanks/")
    assert "Thank you" in thanks.content.decode()


def test_invalid_input_re_renders_with_errors_and_text_kept(client):
    data = form_data(client, email="not an address", message="My long message that must not be lost")
    response = client.post("/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address." in html
    assert "My long message that must not be lost" in html
    assert 'value="Grace Hopper"' in html
    assert stored_leads("not an address") == []


def test_oversized_message_is_a_form_error_not_a_storage_error(client):
    response = client.post("/", form_data(client, message="y" * 500_000))
    assert response.status_code == 200
    assert "Please keep this under 5000 characters (it has 500000)." in response.content.decode()
    assert stored_leads() == []


def test_request_bigger_than_the_upload_limit_gets_a_400_page(client):
    response = client.post("/", form_data(client, message="z" * 2_000_000))
    assert response.status_code == 400
    assert "too large" in response.content.decode()


def test_posting_the_same_form_twice_stores_one_lead(client):
    data = form_data(client)
    assert client.post("/", data).status_code == 302
    assert client.post("/", data).status_code == 302
    assert len(stored_leads()) == 1
    assert new_count() == 1


def test_five_simultaneous_posts_of_one_form_store_one_lead(client, serialized_moto):
    data = form_data(client)
    barrier = threading.Barrier(5)

    def post(_):
        barrier.wait()
        return Client().post("/", data).status_code

    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(post, range(5)))
    assert statuses == [302] * 5
    assert len(stored_leads()) == 1
    assert new_count() == 1


def test_honeypot_gets_thanks_and_stores_nothing(client, mailoutbox):
    response = client.post("/", form_data(client, website="http://buy-now.example"))
    assert response.status_code == 302 and response["Location"] == "/thanks/"
    assert stored_leads() == [] and mailoutbox == []


def test_rate_limit_gives_a_friendly_429_with_the_text_kept(client, settings):
    settings.LEADS_RATELIMIT_COUNT = 2
    for _ in range(2):
        assert client.post("/", form_data(client)).status_code == 302
    response = client.post("/", form_data(client, message="Third message, please keep me"))
    html = response.content.decode()
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "sent several messages in a short time" in html
    assert "Third message, please keep me" in html
    assert len(stored_leads()) == 2


def test_dynamodb_failure_gives_503_with_text_kept_and_nothing_written(client):
    data = form_data(client, message="Please don't lose this")
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        response = client.post("/", data)
    html = response.content.decode()
    assert response.status_code == 503
    assert "could not save your message" in html
    assert "<textarea" in html and "Please don&#39;t lose this" in html  # kept in the form, escaped (by Jinja2's widgets)
    assert stored_leads() == [] and new_count() == 0
    # The visitor presses send again once DynamoDB is back: stored once.
    assert client.post("/", data).status_code == 302
    assert len(stored_leads()) == 1


def test_notification_goes_to_sales_with_reply_to_the_visitor(client, mailoutbox):
    client.post("/", form_data(client, subject="Compilers\r\nBcc: victim@example.com"))
    [mail] = mailoutbox
    assert mail.to == ["sales@example.com"]
    assert mail.reply_to == ["grace@navy.mil"]
    assert mail.subject == "New lead: Compilers Bcc: victim@example.com"
    assert "Let's talk about COBOL." in mail.body
    assert "victim@example.com" not in mail.bcc


def test_failing_mail_server_neither_loses_nor_blocks_the_lead(client, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with caplog.at_level(logging.ERROR, logger="leads.domain.notifications"):
        response = client.post("/", form_data(client))
    assert response.status_code == 302
    assert len(stored_leads()) == 1
    assert "Could not send the new-lead email" in caplog.text


def test_csrf_is_enforced_on_the_form():
    browser = Client(enforce_csrf_checks=True)
    data = form_data(browser)
    data.pop("csrfmiddlewaretoken", None)
    response = browser.post("/", data)
    assert response.status_code == 403
    assert "could not be verified" in response.content.decode()
    assert stored_leads() == []


def test_html_in_fields_is_shown_escaped(client):
    response = client.post("/", form_data(client, email="bad", name="<script>alert(1)</script>"))
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_wrong_method_is_refused(client):
    assert client.put("/").status_code == 405
