"""Visitors get the public pages in their browser's language (German shipped); staff get English unless they chose."""
import json
import re

import pytest
from django.test import Client

from tests.faults import dynamodb_fault

GERMAN = "de-DE,de;q=0.9,en;q=0.5"
ENGLISH = "en-GB,en;q=0.8"
ALLOWED = "https://static.example.com"  # tests/settings.py's LEADS_CORS_ORIGINS


def visitor(language: str | None) -> Client:
    return Client(headers={"Accept-Language": language} if language else {})


def hidden_fields(response) -> dict:
    return dict(re.findall(r'name="(csrfmiddlewaretoken|token)" value="([^"]+)"', response.content.decode()))


def field_errors(response) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', response.content.decode())


def test_a_german_visitor_sees_the_form_its_errors_and_the_thanks_in_german():
    browser = visitor(GERMAN)
    form = browser.get("/")
    html = form.content.decode()
    assert '<html lang="de">' in html
    assert "<h1>Kontakt</h1>" in html and ">Nachricht senden</button>" in html
    assert '<label for="id_email">E-Mail</label>' in html and '<label for="id_company">Firma' in html
    assert form["Content-Language"] == "de" and "Accept-Language" in form["Vary"]

    refused = browser.post("/", {**hidden_fields(form), "email": "kein Mailformat", "message": "x" * 5001})
    assert refused.status_code == 200
    errors = field_errors(refused)
    assert "Dieses Feld ist zwingend erforderlich." in errors  # Django's own message, in German
    assert "Bitte bleiben Sie unter 5000 Zeichen (es sind 5001)." in errors  # ours
    assert any("gültige E-Mail-Adresse" in error for error in errors)
    assert "Bitte korrigieren Sie die markierten Felder unten." in refused.content.decode()

    sent = browser.post("/", {**hidden_fields(form), "name": "Grete", "email": "grete@example.de",
                              "subject": "Angebot", "message": "Hallo"}, follow=True)
    page = sent.content.decode()
    assert sent.redirect_chain[-1][0] == "/thanks/"
    assert "<h1>Vielen Dank</h1>" in page and "Ihre Nachricht ist angekommen." in page


def test_an_english_visitor_and_one_without_a_preference_see_english():
    for language in (ENGLISH, None, "fr-FR,fr;q=0.9", "*"):
        browser = visitor(language)
        form = browser.get("/")
        html = form.content.decode()
        assert '<html lang="en">' in html and "<h1>Contact us</h1>" in html, language
        refused = browser.post("/", {**hidden_fields(form), "email": "nope"})
        assert "This field is required." in field_errors(refused), language


def test_the_best_supported_language_of_the_header_wins():
    assert visitor("fr;q=1, de;q=0.8, en;q=0.5").get("/")["Content-Language"] == "de"
    assert visitor("en;q=0.9, de;q=0.8").get("/")["Content-Language"] == "en"
    # No cookie games: only the header decides.
    browser = visitor(ENGLISH)
    browser.cookies["django_language"] = "de"
    assert "<h1>Contact us</h1>" in browser.get("/").content.decode()


def test_the_json_api_answers_in_the_visitors_language():
    browser = Client(enforce_csrf_checks=True)
    headers = {"HTTP_ACCEPT": "application/json", "HTTP_ORIGIN": ALLOWED, "HTTP_ACCEPT_LANGUAGE": GERMAN}
    invalid = browser.post("/", json.dumps({"email": "nope"}), content_type="application/json", **headers)
    assert invalid.status_code == 400
    errors = invalid.json()["errors"]
    assert errors["name"][0]["message"] == "Dieses Feld ist zwingend erforderlich."
    bad = browser.post("/", "[1]", content_type="application/json", **headers)
    assert bad.json()["errors"]["__all__"][0]["message"] == "Der Inhalt der Anfrage muss ein JSON-Objekt sein."

    fields = {"name": "Grete", "email": "grete@example.de", "subject": "Angebot", "message": "Hallo"}
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        unavailable = browser.post("/", json.dumps(fields), content_type="application/json", **headers)
    assert unavailable.status_code == 503
    assert unavailable.json()["error"].startswith("Wir konnten Ihre Nachricht gerade nicht speichern")
    english = browser.post("/", "[1]", content_type="application/json",
                           **{**headers, "HTTP_ACCEPT_LANGUAGE": ENGLISH})
    assert english.json()["errors"]["__all__"][0]["message"] == "The request body must be a JSON object."


def test_rate_limited_visitors_are_told_in_german(settings):
    settings.LEADS_RATELIMIT_COUNT = 1
    browser = visitor(GERMAN)
    data = {"name": "Grete", "email": "grete@example.de", "subject": "Angebot", "message": "Hallo"}
    assert browser.post("/", {**data, **hidden_fields(browser.get("/"))}).status_code == 302
    limited = browser.post("/", {**data, **hidden_fields(browser.get("/"))})
    assert limited.status_code == 429
    assert "Sie haben in kurzer Zeit mehrere Nachrichten gesendet." in limited.content.decode()
    assert re.search(r"Bitte warten Sie etwa \d+ Minuten? und senden", limited.content.decode())


@pytest.mark.parametrize("path, status, text", [
    ("/nowhere/", 404, "Seite nicht gefunden"),
])
def test_error_pages_speak_german(path, status, text):
    response = visitor(GERMAN).get(path)
    assert response.status_code == status and text in response.content.decode()


def test_a_csrf_failure_page_speaks_german():
    response = Client(enforce_csrf_checks=True, headers={"Accept-Language": GERMAN}).post("/", {"name": "x"})
    assert response.status_code == 403
    assert "Dieses Formular konnte nicht überprüft werden" in response.content.decode()


def test_storage_outage_page_speaks_german():
    browser = visitor(GERMAN)
    data = {**hidden_fields(browser.get("/")), "name": "Grete", "email": "grete@example.de",
            "subject": "Angebot", "message": "Bitte nicht verlieren"}
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        response = browser.post("/", data)
    html = response.content.decode()
    assert response.status_code == 503 and "Wir konnten Ihre Nachricht gerade nicht speichern." in html
    assert "Bitte nicht verlieren" in html


def test_staff_pages_are_english_by_default_whatever_the_browser_says(admin_client):
    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE=GERMAN)
    assert page.status_code == 200 and '<html lang="en">' in page.content.decode()
    assert "<h1>Dashboard</h1>" in page.content.decode()
    assert page["Content-Language"] == "en" and "Accept-Language" not in page.get("Vary", "")
    login = Client(headers={"Accept-Language": GERMAN}).post("/admin/login/", {"email": "", "password": ""})
    assert "This field is required." in login.content.decode()


def test_staff_pages_speak_german_when_the_staff_member_chose_it(admin_client):
    session = admin_client.session
    session["staff_lang"] = "de"
    session.save()
    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE=ENGLISH)
    html = page.content.decode()
    assert page.status_code == 200 and '<html lang="de">' in html
    assert page["Content-Language"] == "de"
    assert "<h1>Übersicht</h1>" in html and ">Kürzlich gelöscht</a>" in html and ">Abmelden</button>" in html
    inbox = admin_client.get("/admin/leads/").content.decode()
    assert "<h1>Leads</h1>" in inbox and ">Suchen</button>" in inbox and "Keine passenden Leads." in inbox
    # The inbox script's words come from the page, so they are German too.
    assert 'data-text-select-all="Alle auswählen"' in inbox and 'data-text-shortcuts="Tastenkürzel"' in inbox
    assert '<summary class="button small">Menü</summary>' in html
    missing = admin_client.get("/admin/leads/0123456789abcdef0123456789abcdef/")
    assert missing.status_code == 404 and "Seite nicht gefunden" in missing.content.decode()
    # The public pages still follow the browser, not the staff choice.
    assert "<h1>Contact us</h1>" in admin_client.get("/", HTTP_ACCEPT_LANGUAGE=ENGLISH).content.decode()


def test_an_unknown_staff_language_falls_back_to_english(admin_client):
    session = admin_client.session
    session["staff_lang"] = "xx"
    session.save()
    assert admin_client.get("/admin/")["Content-Language"] == "en"


def test_the_default_consent_sentence_is_shown_and_stored_in_the_visitors_language(settings):
    from leads.storage.models import Lead

    settings.LEADS_CONSENT_REQUIRED = True
    browser = visitor(GERMAN)
    form = browser.get("/")
    sentence = "Ich bin einverstanden, dass Sie meine Angaben zur Beantwortung dieser Anfrage speichern"
    assert sentence in form.content.decode()
    refused = browser.post("/", {**hidden_fields(form), "name": "Grete", "email": "grete@example.de",
                                 "subject": "Angebot", "message": "Hallo"})
    assert "Bitte setzen Sie hier ein Häkchen" in refused.content.decode()
    assert browser.post("/", {**hidden_fields(refused), "name": "Grete", "email": "grete@example.de",
                              "subject": "Angebot", "message": "Hallo", "consent": "on"}).status_code == 302
    [stored] = [Lead.get(lead.lead_id) for lead in Lead.email_index.query("grete@example.de")]
    assert stored.consent_text.startswith(sentence)


def test_a_staff_member_who_picks_german_on_the_preferences_page_gets_german_pages(sales_client):
    from django.urls import reverse

    url = reverse("backoffice:account_preferences")
    saved = sales_client.post(url, {"time_zone": "Europe/Berlin", "language": "de"}, follow=True)
    html = saved.content.decode()
    assert '<html lang="de">' in html and "Ihre Einstellungen wurden gespeichert." in html
    assert '<option value="de" selected>Deutsch</option>' in html
    back = sales_client.post(url, {"time_zone": "Europe/Berlin", "language": ""}, follow=True)
    assert '<html lang="en">' in back.content.decode() and "Your preferences were saved." in back.content.decode()
