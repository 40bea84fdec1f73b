"""The lead page's timeline forms: add a note, reply by email. Validation only (the token is checked by its signature)."""

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from leads.domain import replies, timeline

EXPIRED = _("This form was open too long to be sent safely. Your text is still here: send it again.")


class OneTimeTokenField(forms.CharField):
    """The form's signed one-time id (leads.domain.timeline): a resend of the same form stores nothing twice."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(max_length=200, error_messages={"required": EXPIRED}, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return timeline.form_id_from_token(value)
        except signing.BadSignature:
            raise ValidationError(EXPIRED, code="expired") from None


class TimelineForm(forms.Form):
    """A form whose token is renewed when it comes back with an expired one, so sending it again works."""

    token = OneTimeTokenField()

    def renew_expired_token(self) -> None:
        if self.is_bound and "token" in self.errors:
            self.data = self.data.copy()
            self.data[self.add_prefix("token")] = timeline.new_form_token()


class NoteForm(TimelineForm):
    """One note for the lead's timeline."""

    text = forms.CharField(
        label=_("Note"), max_length=timeline.NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write the note first.")},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)


class ReplyForm(TimelineForm):
    """An email to the visitor; `version` is the lead's as the page showed it (someone else's change meanwhile is a conflict)."""

    subject = forms.CharField(label=_("Subject"), max_length=timeline.SUBJECT_MAX_LENGTH,
                              error_messages={"required": _("Give the email a subject.")})
    text = forms.CharField(
        label=_("Message"), max_length=timeline.REPLY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": _("Write the reply first.")},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reply_%s")
        super().__init__(*args, **kwargs)

    def clean_subject(self):
        return " ".join(self.cleaned_data["subject"].split())


def note_form() -> NoteForm:
    """An empty note form with a fresh token."""
    return NoteForm(initial={"token": timeline.new_form_token()})


def reply_form(lead) -> ReplyForm:
    """A reply form for this lead: subject prefilled "Re: <subject>", the version shown, a fresh token."""
    return ReplyForm(initial={"token": timeline.new_form_token(), "subject": replies.default_subject(lead),
                              "version": lead.version})
