"""Staff-side forms: sign-in, inbox filters, lead edits, bulk actions, staff accounts and invitations, new
passwords. Validation only."""

import re
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.accounts import passwords
from leads.storage.models import STATUS_LABELS, STATUSES, UNASSIGNED
from leads.domain import preferences
from leads.domain.emails import normalise_email
from leads.domain.selectors import Received, Search

STATUS_CHOICES = [(s, STATUS_LABELS[s]) for s in STATUSES]
ROLE_CHOICES = [("sales", _("Sales — view, search, edit, export")), ("admin", _("Admin — also delete and manage staff"))]
PAGE_SIZES = (25, 50, 100)
LEAD_ID = re.compile(r"^[0-9a-f]{32}$")
_DOMAIN = re.compile(r"^(?:[\w-]+\.)+[\w-]{2,}$")


class LoginForm(forms.Form):
    """Email and password."""

    email = forms.EmailField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(label=_("Password"), max_length=1024, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


def parse_search(text: str) -> Search | None:
    """What the search box means, by where its ``@`` is.

    ``@acme.com`` → the whole domain; ``ann@acme.com`` (a whole, valid address) → that address exactly;
    anything else (``j.web``, ``acme``, ``j.weber@ac``) → addresses starting with it. A bare ``acme.com`` is
    a start of an address too: a domain is searched with its ``@``.
    """
    text = normalise_email(text)
    if not text:
        return None
    if any(c.isspace() for c in text) or text.count("@") > 1:
        raise ValidationError(_SEARCH_HELP)
    if text.startswith("@"):
        domain = text.removeprefix("@")
        if not _DOMAIN.match(domain):
            raise ValidationError(_SEARCH_HELP)
        return Search("domain", domain)
    if "@" in text:
        try:
            validate_email(text)
        except ValidationError:
            return Search("prefix", text)  # an address being typed: "j.weber@ac"
        return Search("email", text)
    return Search("prefix", text)


_SEARCH_HELP = _("Search by the start of an address (j.web), a full address (ann@acme.com) or a domain (@acme.com).")
OWNER_ME, OWNER_NONE = "me", "none"


class LeadFilterForm(forms.Form):
    """The inbox's query string: ?status=&owner=&q=&from=&to=&per_page=&cursor=.

    ``owner`` is ``me``, ``none`` (unassigned) or a staff address; ``from`` and ``to`` are days in the viewer's
    time zone (the active one), both included. Combinations no single index answers are form errors.
    """

    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All"))] + STATUS_CHOICES, required=False)
    owner = forms.CharField(label=_("Owner"), required=False, max_length=254)
    q = forms.CharField(required=False, max_length=254, label=_("Email or domain"))
    per_page = forms.TypedChoiceField(choices=[(n, n) for n in PAGE_SIZES], coerce=int, required=False, empty_value=25)
    cursor = forms.CharField(required=False, max_length=4000)

    # Errors in these are the person's typing: shown on the page. Any other field comes from a link: a 400.
    TYPED_FIELDS = ("q", "from", "to")

    def __init__(self, *args, viewer: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.viewer = viewer

    def clean_owner(self):
        owner = normalise_email(self.cleaned_data["owner"])
        if owner and owner not in (OWNER_ME, OWNER_NONE):
            validate_email(owner)
        return owner

    def clean_q(self):
        return parse_search(self.cleaned_data["q"])

    def clean(self):
        cleaned = super().clean()
        start, end, search = cleaned.get("from"), cleaned.get("to"), cleaned.get("q")
        if start and end and start > end:
            self.add_error("to", _("The end date is before the start date."))
        if search and search.kind == "prefix" and (start or end or cleaned.get("status") or cleaned.get("owner")):
            self.add_error("q", _("The start of an address is searched on its own, A to Z: clear the status, owner "
                                  "and dates, or type the whole address or @domain."))
        elif search and cleaned.get("owner"):
            self.add_error("q", _("A search covers every owner: choose “Anyone” as owner to search."))
        return cleaned

    @property
    def owner_key(self) -> str | None:
        """The owner index's key for the chosen owner (the viewer for ``me``), or None for anyone."""
        owner = self.cleaned_data.get("owner")
        if owner == OWNER_ME:
            return self.viewer
        return UNASSIGNED if owner == OWNER_NONE else owner or None

    @property
    def received(self) -> Received | None:
        """The chosen days as a UTC range, from the first day's midnight to the midnight after the last, in the active zone."""
        start, end = self.cleaned_data.get("from"), self.cleaned_data.get("to")
        if not (start or end):
            return None
        zone = timezone.get_current_timezone()

        def midnight(day):
            return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

        return Received(start=start and midnight(start), end=end and midnight(end + timedelta(days=1)))


# "from" is a keyword: declared here rather than in the class body. Days as <input type="date"> sends them.
for _name, _label in (("from", _("Received from")), ("to", _("Received to"))):
    LeadFilterForm.base_fields[_name] = forms.DateField(
        label=_label, required=False, input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
        # Far from the ends of the calendar, where a day's midnight in another zone has no datetime.
        validators=[MinValueValidator(date(1970, 1, 1)), MaxValueValidator(date(9000, 12, 31))],
    )


class LeadEditForm(forms.Form):
    """What sales can change on a lead; `version` is the one they loaded, for conflict detection."""

    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES)
    owner = forms.ChoiceField(label=_("Owner"), choices=[("", _("Nobody"))], required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=5000)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("Nobody"))] + [(s.email, s.display_name) for s in staff]


class BulkActionForm(forms.Form):
    """Selected rows and what to do with them; `confirm` is set on the confirmation page."""

    ids = forms.MultipleChoiceField(error_messages={"required": _("Select at least one lead first.")})
    action = forms.ChoiceField(choices=[("set_status", _("Set status")), ("delete", _("Delete"))])
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
            raise ValidationError(_("Select at most 100 leads at a time."))
        return ids

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "set_status" and not cleaned.get("status"):
            self.add_error("status", _("Choose the status to set."))
        return cleaned


class InvitationForm(forms.Form):
    """Invite someone to become staff: they choose their own password through the emailed link."""

    email = forms.EmailField(label=_("Email"), max_length=254)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial="sales", widget=forms.RadioSelect)

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])


class StaffEditForm(forms.Form):
    """Change a staff account's name, role and access (nobody sets another person's password)."""

    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, widget=forms.RadioSelect)
    active = forms.BooleanField(label=_("Active"), required=False, help_text=_("Inactive accounts cannot sign in."))


class NewPasswordForm(forms.Form):
    """A new password, typed twice, checked by leads.accounts.passwords for `owner` (email and name)."""

    new_password1 = forms.CharField(
        label=_("New password"), strip=False, max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("Confirm new password"), strip=False, max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["new_password1"].help_text = " ".join(passwords.help_texts())

    def clean_new_password2(self):
        first, second = self.cleaned_data.get("new_password1"), self.cleaned_data["new_password2"]
        if first is not None and first != second:
            raise ValidationError(_("The two passwords do not match."), code="password_mismatch")
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
        label=_("Current password"), strip=False, max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    field_order = ["current_password", "new_password1", "new_password2"]


class PasswordResetRequestForm(forms.Form):
    """The "Forgot your password?" form: the address to email a reset link to."""

    email = forms.EmailField(
        max_length=254, label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])


class SubjectForm(forms.Form):
    """One person's email address, for the privacy page: always posted, never put in a URL."""

    email = forms.EmailField(max_length=254, label=_("Email address"),
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])


class SubjectEraseForm(SubjectForm):
    """Erase one person's data: a first post asks for confirmation, the second must tick the box."""

    stage = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, label=_("I understand this cannot be undone"))

    @property
    def confirming(self) -> bool:
        """True for the post from the confirmation page (with or without the box ticked)."""
        return self.cleaned_data.get("stage") == "confirm"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("stage") == "confirm" and not cleaned.get("confirm"):
            self.add_error("confirm", _("Tick the box to confirm: erased data cannot be brought back."))
        return cleaned


class PreferencesForm(forms.Form):
    """One's own time zone (every IANA zone, grouped by region) and admin language."""

    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=preferences.time_zone_choices,
        help_text=_("Times on the staff pages and in the CSV export are shown in this zone."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=preferences.LANGUAGES, required=False)
