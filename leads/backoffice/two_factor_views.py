"""Two-factor pages: the code step of signing in, enrolment, recovery codes, turning it off, an admin's reset.

HTTP only."""

import segno
from django.contrib import messages
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _, gettext_lazy, ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from pynamodb.exceptions import PynamoDBException

from leads.accounts import two_factor as sign_in
from leads.backoffice.permissions import AdminRequiredMixin, StaffRequiredMixin
from leads.backoffice.two_factor_forms import ConfirmForm, EnrolForm, SignInCodeForm
from leads.backoffice.views import remember_device
from leads.domain import ratelimit, selectors, two_factor
from leads.domain.exceptions import (
    AccessChanged, CodeUsed, InvalidCode, InvalidCredentials, LoginThrottled, StaffNotFound, StorageUnavailable,
    TwoFactorAlreadyOn, TwoFactorRequired,
)

ENROL_SECONDS = 15 * 60  # to scan the QR code and type the first code
_ENROL_SALT = "leads.backoffice.two_factor.enrol"
UNAVAILABLE = gettext_lazy("Sign-in is unavailable for a moment. Please try again shortly.")


def throttled(form, error: LoginThrottled, render_page):
    """The page again, as a 429 saying how long to wait: render_page(status=) renders it with `form`."""
    minutes = max(1, round(error.retry_after / 60))
    form.add_error(None, ngettext(
        "Too many wrong attempts. Please wait %(n)d minute and try again.",
        "Too many wrong attempts. Please wait %(n)d minutes and try again.", minutes) % {"n": minutes})
    response = render_page(status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


def qr_code(uri: str) -> str:
    """The URI as a QR code: an SVG data: URI for an <img> (CSP allows data: images; no script, no outside service)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The secret in groups of four, as people type it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class SignInCodeView(View):
    """The second step of signing in: the code from the app (or a recovery code) after a right password."""

    template_name = "backoffice/login_code.html"

    def get(self, request):
        if request.staff:
            return redirect("backoffice:dashboard")
        if sign_in.pending(request) is None:
            return self.start_again()
        return render(request, self.template_name, {"form": SignInCodeForm()})

    def post(self, request):
        note = sign_in.pending(request)
        if note is None:
            return self.start_again()
        form = SignInCodeForm(request.POST)
        context = {"form": form}
        if not form.is_valid():
            return render(request, self.template_name, context)
        try:
            staff, kind = sign_in.verify(request, form.cleaned_data["code"], client=ratelimit.client_key(request))
        except sign_in.SignInExpired:
            return self.start_again()
        except CodeUsed:
            form.add_error("code", _("That code was used already. Wait for the next code from your app."))
            return render(request, self.template_name, context)
        except InvalidCode:
            form.add_error("code", _("That code is not right. Check that the time on your phone is right, and try again."))
            return render(request, self.template_name, context)
        except LoginThrottled as error:
            return throttled(form, error, lambda status: render(request, self.template_name, context, status=status))
        except StorageUnavailable:
            form.add_error(None, UNAVAILABLE)
            return render(request, self.template_name, context, status=503)
        try:
            sign_in.finish(request, staff)
        except AccessChanged:
            return self.start_again()
        except (PynamoDBException, StorageUnavailable):
            form.add_error(None, UNAVAILABLE)
            return render(request, self.template_name, context, status=503)
        if kind == "recovery":
            left = two_factor.recovery_codes_left(staff)
            messages.warning(request, ngettext(
                "You signed in with a recovery code; %(n)d is left. Make new ones on your two-factor page.",
                "You signed in with a recovery code; %(n)d are left. Make new ones on your two-factor page.",
                left) % {"n": left})
        return remember_device(redirect(note.next_url), staff)

    def start_again(self):
        sign_in.abandon(self.request)
        messages.error(self.request, _("Your sign-in expired or your account changed. Please sign in again."))
        return redirect("backoffice:login")


def _pending_secret(email: str, secret: str) -> str:
    return signing.dumps(secret, salt=f"{_ENROL_SALT}:{email}")


def _read_pending_secret(email: str, token: str) -> str | None:
    try:
        return signing.loads(token, salt=f"{_ENROL_SALT}:{email}", max_age=ENROL_SECONDS)
    except signing.BadSignature:
        return None


# One list for the page and its two forms: nested sensitive_post_parameters would keep the innermost list only.
@method_decorator([never_cache, sensitive_post_parameters("code", "pending", "codes-answer", "off-answer")],
                  name="dispatch")
class TwoFactorView(StaffRequiredMixin, View):
    """Your two-factor sign-in: set it up (QR code and secret), or see it is on and manage it."""

    before_two_factor = True  # where LEADS_REQUIRE_2FA sends people who have not enrolled yet

    def get(self, request):
        staff = self.account()
        if two_factor.is_enabled(staff):
            return self.status_page(staff)
        return self.enrol_page(EnrolForm(initial={"pending": _pending_secret(staff.email, two_factor.new_secret())}))

    def post(self, request):
        staff = self.account()
        already_on = two_factor.is_enabled(staff)  # by this very form sent before (its answer lost), or otherwise
        form = EnrolForm(request.POST)
        secret = _read_pending_secret(staff.email, request.POST.get("pending", ""))
        if secret is None and not already_on:
            messages.error(request, _("That set-up took too long. Scan this new code and enter the code your app shows."))
        if secret is None or (already_on and not form.is_valid()):
            return redirect("backoffice:two_factor")
        if not form.is_valid():
            return self.enrol_page(form, secret=secret)
        try:
            # The same form sent again, after its answer was lost, gets recovery codes again (new ones).
            codes = two_factor.two_factor_enable(email=staff.email, secret=secret, code=form.cleaned_data["code"],
                                                 access=staff.access)
        except InvalidCode:
            if already_on:
                return self.already_on()
            form.add_error("code", _("That code is not right. Check that the time on your phone is right, and enter the "
                                   "code your app shows now."))
            return self.enrol_page(form, secret=secret)
        except TwoFactorAlreadyOn:
            return self.already_on()
        except StaffNotFound:
            raise Http404("Your account changed meanwhile; please sign in again.") from None
        sign_in.mark_verified(request)
        return render(request, "backoffice/two_factor_codes.html", {"codes": codes, "enrolled": True})

    def already_on(self):
        messages.info(self.request, _("Two-factor sign-in is already on."))
        return redirect("backoffice:two_factor")

    def account(self):
        staff = selectors.staff_get(email=self.request.staff.email)
        if staff is None:
            raise Http404("Your account no longer exists.")
        return staff

    def enrol_page(self, form, *, secret: str | None = None):
        secret = secret or _read_pending_secret(self.request.staff.email, form.initial["pending"])
        uri = two_factor.provisioning_uri(secret=secret, email=self.request.staff.email)
        return render(self.request, "backoffice/two_factor_enrol.html", {
            "form": form, "qr": qr_code(uri), "secret": grouped(secret),
            "required": two_factor.is_required(self.request.staff.role),
        })

    def status_page(self, staff, *, codes_form=None, off_form=None, status=200):
        return render(self.request, "backoffice/two_factor_status.html", {
            "left": two_factor.recovery_codes_left(staff),
            "required": two_factor.is_required(staff.role),
            "session_verified": self.request.staff.two_factor,
            "codes_form": codes_form or ConfirmForm(prefix="codes"),
            "off_form": off_form or ConfirmForm(prefix="off"),
        }, status=status)


class _ConfirmedChange(TwoFactorView):
    """A change to your two-factor settings, made only after a current code or your password (throttled).

    TwoFactorView's dispatch (no-cache, sensitive POST fields) applies to these too."""

    http_method_names = ["post"]
    before_two_factor = False
    prefix = ""

    def post(self, request):
        staff = self.account()
        form = ConfirmForm(request.POST, prefix=self.prefix)
        forms = {f"{self.prefix}_form": form}
        if not two_factor.is_enabled(staff):
            return redirect("backoffice:two_factor")
        if not form.is_valid():
            return self.status_page(staff, **forms)
        try:
            sign_in.confirm(request, form.cleaned_data["answer"], client=ratelimit.client_key(request))
        except InvalidCredentials:
            form.add_error("answer", _("That is neither a current code from your app nor your password."))
            return self.status_page(staff, **forms)
        except LoginThrottled as error:
            return throttled(form, error, lambda status: self.status_page(staff, status=status, **forms))
        return self.change(staff)


class RecoveryCodesView(_ConfirmedChange):
    """Replace your recovery codes with ten new ones (the old ones stop working)."""

    prefix = "codes"

    def change(self, staff):
        try:
            codes = two_factor.two_factor_new_recovery_codes(email=staff.email)
        except StaffNotFound:
            return redirect("backoffice:two_factor")
        return render(self.request, "backoffice/two_factor_codes.html", {"codes": codes, "enrolled": False})


class TwoFactorDisableView(_ConfirmedChange):
    """Turn your two-factor sign-in off, unless LEADS_REQUIRE_2FA requires it for you."""

    prefix = "off"

    def change(self, staff):
        try:
            two_factor.two_factor_disable(email=staff.email, role=staff.role)
        except TwoFactorRequired:
            messages.error(self.request, _("Two-factor sign-in is required for your account; it cannot be turned off."))
            return redirect("backoffice:two_factor")
        except StaffNotFound:
            raise Http404("Your account changed meanwhile; please sign in again.") from None
        messages.success(self.request, _("Two-factor sign-in is off. Your recovery codes no longer work."))
        return redirect("backoffice:two_factor")


@method_decorator(never_cache, name="dispatch")
class StaffTwoFactorResetView(AdminRequiredMixin, View):
    """An admin turns someone's two-factor off (a lost phone); it signs them out everywhere."""

    http_method_names = ["post"]

    def post(self, request, email):
        member = selectors.staff_get(email=email)
        if member is None:
            raise Http404("No staff member with this email.")
        if member.email == request.staff.email:
            messages.error(request, _("Manage your own two-factor sign-in on your two-factor page."))
            return redirect("backoffice:staff_edit", email=member.email)
        try:
            two_factor.two_factor_reset(email=member.email, actor=request.staff.email)
        except StaffNotFound:
            raise Http404("This staff member was removed meanwhile.") from None
        messages.success(request, _("Two-factor sign-in is off for %(email)s, who was signed out everywhere. "
                                    "They set it up again at their next sign-in.") % {"email": member.email})
        return redirect("backoffice:staff_edit", email=member.email)
