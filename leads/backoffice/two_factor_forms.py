"""Forms for two-factor sign-in: the code at sign-in, the code that confirms enrolment, proving it is you.

Validation only."""

from django import forms
from django.utils.translation import gettext_lazy as _

from leads.domain import two_factor

_RECOVERY_LENGTH = 10


class SignInCodeForm(forms.Form):
    """The second step of signing in: six digits from the app, or a recovery code."""

    code = forms.CharField(
        max_length=32, label=_("Code"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "autocapitalize": "none",
                                      "spellcheck": "false"}),
    )

    def clean_code(self):
        code = self.cleaned_data["code"]
        if not two_factor.looks_like_app_code(code) and len(two_factor.normalise_code(code)) != _RECOVERY_LENGTH:
            raise forms.ValidationError(_("Enter the 6-digit code from your app, or one of your recovery codes."),
                                        code="format")
        return code


class EnrolForm(forms.Form):
    """The code the app shows once it has the new secret; the secret itself travels signed (`pending`)."""

    pending = forms.CharField(widget=forms.HiddenInput, max_length=1000)
    code = forms.CharField(
        max_length=16, label=_("6-digit code from your app"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_code(self):
        code = self.cleaned_data["code"]
        if not two_factor.looks_like_app_code(code):
            raise forms.ValidationError(_("Enter the 6 digits your app shows for Leads."), code="format")
        return code


class ConfirmForm(forms.Form):
    """Proof that the signed-in person is at the keyboard: a current code from the app, or the password."""

    answer = forms.CharField(
        max_length=1024, strip=False, label=_("A current code from your app, or your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
