"""Follow-up forms: a lead's follow-up date and time, and the owner a follow-up list shows. Validation only."""

from datetime import date, time

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.backoffice.forms import PAGE_SIZES

MINE, UNASSIGNED = "", "unassigned"


def _valid(text: str, kind) -> bool:
    """True if text is what a native input of this kind may hold: a YYYY-MM-DD date, or an HH:MM[:SS] time."""
    try:
        kind.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10 if kind is date else len(text) in (5, 8)


class NativeDateInput(forms.DateInput):
    """``<input type="date">``: a value it cannot hold is not echoed back (HTML allows only a valid date there;
    browsers never send another, and the field's error says what was wrong)."""

    input_type = "date"

    def format_value(self, value):
        text = super().format_value(value)
        return text if text is None or _valid(text, date) else None


class NativeTimeInput(forms.TimeInput):
    """``<input type="time">``, likewise."""

    input_type = "time"

    def format_value(self, value):
        text = super().format_value(value)
        return text if text is None or _valid(text, time) else None


class FollowUpForm(forms.Form):
    """A date (empty: no follow-up) and an optional time, read in the staff member's zone; `version` as loaded."""

    due_date = forms.DateField(
        label=_("Follow up on"), required=False, widget=NativeDateInput(format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"], error_messages={"invalid": _("Enter a date such as 2026-12-24.")},
    )
    due_time = forms.TimeField(
        label=_("Time"), required=False, widget=NativeTimeInput(format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S"], error_messages={"invalid": _("Enter a time such as 14:30.")},
        help_text=_("Optional. Without a time, it is due by the end of the day."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("due_time") and not cleaned.get("due_date") and "due_date" not in self.errors:
            self.add_error("due_time", ValidationError(_("Give a date for this time, or leave the time empty."),
                                                       code="time_without_date"))
        return cleaned


class FollowUpFilterForm(forms.Form):
    """A follow-up list's query string: ?owner= ("" yours, "unassigned", or a staff email), ?per_page=, ?cursor=."""

    owner = forms.ChoiceField(label=_("Owner"), required=False)
    per_page = forms.TypedChoiceField(choices=[(n, n) for n in PAGE_SIZES], coerce=int, required=False, empty_value=25)
    cursor = forms.CharField(required=False, max_length=4000)

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(MINE, _("Mine")), (UNASSIGNED, _("Unassigned"))] + [
            (s.email, s.display_name) for s in staff]


def follow_up_initial(lead) -> dict:
    """The follow-up form's values for a lead, in the active (the staff member's) zone."""
    initial = {"version": lead.version}
    if lead.due_at:
        local = timezone.localtime(lead.due_at)
        initial["due_date"] = local.date()
        initial["due_time"] = None if lead.due_all_day else local.time()
    return initial
