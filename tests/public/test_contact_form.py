"""The contact form validates and normalises what a visitor types."""
import pytest
from django.core import signing

from leads.public import tokens
from leads.public.forms import ContactForm


def form_data(**overrides):
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "company": "",
        "subject": "Engines",
        "message": "Could we talk about analytical engines?",
        "token": tokens.new_token(),
    }
    data.update(overrides)
    return data


def test_valid_form_normalises_email_to_trimmed_lower_case():
    form = ContactForm(form_data(email="  Ada.Lovelace@Example.COM "))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "ada.lovelace@example.com"


def test_token_becomes_the_lead_id():
    token = tokens.new_token()
    form = ContactForm(form_data(token=token))
    assert form.is_valid()
    assert form.cleaned_data["token"] == signing.TimestampSigner(salt="leads.contact-form").unsign(token)


@pytest.mark.parametrize("field", ["name", "email", "subject", "message"])
def test_required_fields(field):
    form = ContactForm(form_data(**{field: ""}))
    assert not form.is_valid()
    assert form.errors[field] == ["This field is required."]


def test_company_is_optional():
    assert ContactForm(form_data(company="")).is_valid()


def test_invalid_email_is_refused():
    form = ContactForm(form_data(email="not-an-address"))
    assert not form.is_valid()
    assert "Enter a valid email address." in form.errors["email"]


def test_a_500_kb_message_gets_a_clear_length_error():
    form = ContactForm(form_data(message="x" * 500_000))
    assert not form.is_valid()
    assert form.errors["message"] == ["Please keep this under 5000 characters (it has 500000)."]


def test_tampered_token_is_refused_with_a_readable_message():
    form = ContactForm(form_data(token=tokens.new_token() + "x"))
    assert not form.is_valid()
    assert "could not be verified" in form.errors["token"][0]


def test_expired_token_is_refused(settings):
    settings.LEADS_FORM_MAX_AGE = -1
    form = ContactForm(form_data())
    assert not form.is_valid()
    assert "has expired" in form.errors["token"][0]


def test_unusable_token_is_renewed_for_the_re_rendered_form():
    form = ContactForm(form_data(token="forged"))
    assert not form.is_valid()
    form.renew_token_if_unusable()
    assert tokens.lead_id_from_token(form.data["token"])


def test_null_characters_are_refused():
    form = ContactForm(form_data(name="Ada\x00"))
    assert not form.is_valid()
    assert "Null characters are not allowed." in form.errors["name"]


def test_honeypot_marks_spam():
    assert ContactForm(form_data(website="http://spam.example")).is_spam
    assert not ContactForm(form_data()).is_spam
