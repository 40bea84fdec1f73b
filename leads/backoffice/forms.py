"""Staff-side forms: sign-in, inbox filters, lead edits, bulk actions, staff accounts and invitations, new
passwords. Validation only."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from leads.accounts import passwords
from leads.storage.models import STATUS_LABELS, STATUSES
from leads.domain import preferences
from leads.domain.emails import normalise_email
from leads.domain.selectors import Search

STATUS_CHOICES = [(s, STATUS_LABELS[s]) for s in STATUSES]
ROLE_CHOICES = [("sales", "Sales — view, search, edit, export"), ("admin", "Admin — also delete and manage staff")]
PAGE_SIZES = (25, 50, 100)
LEAD_ID = re.compile(r"^[0-9a-f]{32}$")
_DOMAIN = re.compile(r"^(?:[\w-]+\.)+[\w-]{2,}$")


class LoginForm(forms.Form):
    """Email and password."""

    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(max_length=1024, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


def parse_search(text: str) -> Search | None:
    """``ann@acme.com`` → one address; ``@acme.com`` or ``acme.com`` → the whole domain."""
    text = normalise_email(text)
    if not text:
        return None
    if "@" in text and not text.startswith("@"):
        validate_email(text)
        return Search("email", text)
    domain = text.removeprefix("@")
    if not _DOMAIN.match(domain):
        raise ValidationError("Search by a full email address (ann@acme.com) or a domain (acme.com or @acme.com).")
    return Search("domain", domain)


class LeadFilterForm(forms.Form):
    """The inbox's query string: ?status=&q=&per_page=&cursor=."""

    status = forms.ChoiceField(choices=[("", "All")] + STATUS_CHOICES, required=False)
    q = forms.CharField(required=False, max_length=254, label="Email or domain")
    per_page = forms.TypedChoiceField(choices=[(n, n) for n in PAGE_SIZES], coerce=int, required=False, empty_value=25)
    cursor = forms.CharField(required=False, max_length=4000)

    def clean_q(self):
        return parse_search(self.cleaned_data["q"])


class LeadEditForm(forms.Form):
    """What sales can change on a lead; `version` is the one they loaded, for conflict detection."""

    status = forms.ChoiceField(choices=STATUS_CHOICES)
    owner = forms.ChoiceField(choices=[("", "Nobody")], required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=5000)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Nobody")] + [(s.email, s.display_name) for s in staff]


class BulkActionForm(forms.Form):
    """Selected rows and what to do with them; `confirm` is set on the confirmation page."""

    ids = forms.MultipleChoiceField(error_messages={"required": "Select at least one lead first."})
    action = forms.ChoiceField(choices=[("set_status", "Set status"), ("delete", "Delete")])
    status = forms.ChoiceField(choices=[("", "—")] + STATUS_CHOICES, required=False)
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        posted = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids", [])
        # Any well-formed id may be chosen; unknown ones are reported as missing when applied.
        self.fields["ids"].choices = [(i, i) for i in posted if LEAD_ID.match(i)]

    def clean_ids(self):
        ids = self.cleaned_data["ids"]
        if len(ids) > 100:
            raise ValidationError("Select at most 100 leads at a time.")
        return ids

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "set_status" and not cleaned.get("status"):
            self.add_error("status", "Choose the status to set.")
        return cleaned


class InvitationForm(forms.Form):
    """Invite someone to become staff: they choose their own password through the emailed link."""

    email = forms.EmailField(max_length=254)
    name = forms.CharField(max_length=100, required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="sales", widget=forms.RadioSelect)

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])


class StaffEditForm(forms.Form):
    """Change a staff account's name, role and access (nobody sets another person's password)."""

    name = forms.CharField(max_length=100, required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, widget=forms.RadioSelect)
    active = forms.BooleanField(required=False, help_text="Inactive accounts cannot sign in.")


class NewPasswordForm(forms.Form):
    """A new password, typed twice, checked by leads.accounts.passwords for `owner` (email and name)."""

    new_password1 = forms.CharField(
        label="New password", strip=False, max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label="Confirm new password", strip=False, max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["new_password1"].help_text = " ".join(passwords.help_texts())

    def clean_new_password2(self):
        first, second = self.cleaned_data.get("new_password1"), self.cleaned_data["new_password2"]
        if first is not None and first != second:
            raise ValidationError("The two passwords do not match.", code="password_mismatch")
        return second

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("new_password2")
        if password and cleaned.get("new_password1") == password:
            try:
                passwords.validate_new_password(password, self.owner)
            except ValidationError as error:
                self.add_error("new_password1", error)
        return cleaned


class PasswordChangeForm(NewPasswordForm):
    """Change one's own password: the current one, then the new one twice."""

    current_password = forms.CharField(
        label="Current password", strip=False, max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    field_order = ["current_password", "new_password1", "new_password2"]


class PasswordResetRequestForm(forms.Form):
    """The "Forgot your password?" form: the address to email a reset link to."""

    email = forms.EmailField(
        max_length=254, label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])


class SubjectForm(forms.Form):
    """One person's email address, for the privacy page: always posted, never put in a URL."""

    email = forms.EmailField(max_length=254, label="Email address",
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])


class SubjectEraseForm(SubjectForm):
    """Erase one person's data: a first post asks for confirmation, the second must tick the box."""

    stage = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, label="I understand this cannot be undone")

    @property
    def confirming(self) -> bool:
        """True for the post from the confirmation page (with or without the box ticked)."""
        return self.cleaned_data.get("stage") == "confirm"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("stage") == "confirm" and not cleaned.get("confirm"):
            self.add_error("confirm", "Tick the box to confirm: erased data cannot be brought back.")
        return cleaned


class PreferencesForm(forms.Form):
    """One's own time zone (every IANA zone, grouped by region) and admin language."""

    time_zone = forms.ChoiceField(
        label="Time zone", choices=preferences.time_zone_choices,
        help_text="Times on the staff pages and in the CSV export are shown in this zone.",
    )
    language = forms.ChoiceField(label="Language", choices=preferences.LANGUAGES, required=False)
