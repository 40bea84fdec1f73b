"""The visitor contact form: validation and normalisation only, no DynamoDB calls."""

from django import forms
from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

from leads.domain.emails import normalise_email
from leads.public import tokens

FIELD_LIMITS = {"name": 200, "email": 254, "company": 200, "subject": 200, "message": 5000}


def refuse_unstorable_characters(value: str) -> None:
    """Refuse lone UTF-16 surrogates (JSON's "\\ud800"): no UTF-8 store or page can hold them."""
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise forms.ValidationError(_("This contains characters that cannot be stored. Please retype it."),
                                    code="unstorable")


# Consent must be unambiguous: only these say yes (an HTML checkbox sends "on"), only these say no.
CONSENT_YES = frozenset({"on", "1", "true", "yes"})
CONSENT_NO = frozenset({"", "0", "false", "off", "no"})


def consent_value(value) -> bool | None:
    """True or False for a posted consent value (a string, or a JSON boolean); None if it is neither."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        value = value.strip().lower()
        if value in CONSENT_YES:
            return True
        if value in CONSENT_NO:
            return False
    return None


# LEADS_CONSENT_TEXT's default, translated (a text of one's own is shown as written).
DEFAULT_CONSENT_TEXT = _("I agree that you store my details to answer this enquiry, as described in the privacy notice.")


class ConsentCheckbox(forms.CheckboxInput):
    """A checkbox that hands the field the posted value as it came: Django's own reads "0" or "no" as ticked."""

    def __init__(self, attrs=None):
        super().__init__(attrs, check_test=lambda value: consent_value(value) is True)

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class ConsentField(forms.BooleanField):
    """The consent checkbox: ticked means yes, unticked or a clear "no" means no, anything else is an error."""

    widget = ConsentCheckbox
    default_error_messages = {
        "required": _("Please tick this box: we can only answer if you agree."),
        "invalid": _("Send consent as true or false."),
    }

    def to_python(self, value):
        agreed = consent_value(value)
        if agreed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return agreed

    def has_changed(self, initial, data):
        return bool(consent_value(initial)) != bool(consent_value(data))


class ContactForm(forms.Form):
    """Name, email, company (optional), subject and message, plus the one-time token and honeypot."""

    name = forms.CharField(label=_("Name"), max_length=FIELD_LIMITS["name"])
    email = forms.EmailField(label=_("Email"), max_length=FIELD_LIMITS["email"])
    company = forms.CharField(label=_("Company"), max_length=FIELD_LIMITS["company"], required=False)
    subject = forms.CharField(label=_("Subject"), max_length=FIELD_LIMITS["subject"])
    message = forms.CharField(label=_("Message"), max_length=FIELD_LIMITS["message"],
                              widget=forms.Textarea(attrs={"rows": 7}))
    token = forms.CharField(widget=forms.HiddenInput, required=False)
    # Humans never see this field; bots that fill every input do.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    error_messages = {
        "token_invalid": _("This form could not be verified. Please check your message and send it again."),
        "token_expired": _("This form has expired. Please check your message and send it again."),
    }

    def __init__(self, *args, require_token: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_token = require_token
        for field_name, field in self.fields.items():
            field.validators.append(refuse_unstorable_characters)
            if field_name in FIELD_LIMITS:
                field.error_messages["max_length"] = _(
                    "Please keep this under %(limit_value)d characters (it has %(show_value)d)."
                )
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["company"].widget.attrs["autocomplete"] = "organization"
        self.fields["website"].widget.attrs.update({"autocomplete": "off", "tabindex": "-1"})
        # The privacy notice and consent box, as configured when this form was made: what the visitor
        # saw is what their lead records.
        self.privacy_url = settings.LEADS_PRIVACY_URL
        # The default text in the visitor's language: the lead records the words they agreed to.
        self.consent_text = settings.LEADS_CONSENT_TEXT or str(DEFAULT_CONSENT_TEXT)
        self.consent_version = settings.LEADS_CONSENT_VERSION
        if self.privacy_url or settings.LEADS_CONSENT_REQUIRED:
            self.fields["consent"] = ConsentField(label=self.consent_text, required=settings.LEADS_CONSENT_REQUIRED)

    @property
    def offers_consent(self) -> bool:
        """True when the form shows the consent checkbox."""
        return "consent" in self.fields

    def agreed_consent(self) -> tuple[str, str] | None:
        """The (text, version) a valid form's visitor agreed to, or None if they did not tick the box."""
        if self.cleaned_data.get("consent"):
            return self.consent_text, self.consent_version
        return None

    @property
    def is_spam(self) -> bool:
        """True when the honeypot was filled in."""
        return bool(self.data.get("website"))

    def clean_email(self) -> str:
        """Store addresses trimmed and lower-cased, so search is case-insensitive."""
        return normalise_email(self.cleaned_data["email"])

    def clean_token(self) -> str:
        """Turn the signed one-time token into the lead id it stands for."""
        token = self.cleaned_data["token"]
        if not token and not self.require_token:
            return ""
        try:
            return tokens.lead_id_from_token(token)
        except signing.SignatureExpired:
            raise forms.ValidationError(self.error_messages["token_expired"], code="token_expired")
        except signing.BadSignature:
            raise forms.ValidationError(self.error_messages["token_invalid"], code="token_invalid")

    def renew_token_if_unusable(self) -> None:
        """Give a re-rendered form a fresh token when the posted one cannot be used."""
        if "token" in self.errors:
            data = self.data.copy()
            data["token"] = tokens.new_token()
            self.data = data
