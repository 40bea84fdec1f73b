"""Changing one's own password (/admin/account/password/). HTTP only."""

from django.contrib import messages
from django.contrib.auth.hashers import check_password
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _, ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from pynamodb.exceptions import PynamoDBException

from leads.accounts import auth
from leads.backoffice.forms import PasswordChangeForm
from leads.backoffice.invitation_views import forget_session
from leads.backoffice.permissions import StaffRequiredMixin
from leads.domain import ratelimit, selectors, services
from leads.domain.exceptions import (
    AccessChanged, InvalidCredentials, LoginThrottled, StaffNotFound, StorageUnavailable,
)


@method_decorator([never_cache, sensitive_post_parameters("current_password", "new_password1", "new_password2")],
                  name="dispatch")
class PasswordChangeView(StaffRequiredMixin, View):
    """Any signed-in staff member changes their own password; this session stays, every other one ends."""

    template_name = "backoffice/password_change.html"

    def get(self, request):
        return self.render_page(PasswordChangeForm(owner=request.staff))

    def post(self, request):
        form = PasswordChangeForm(request.POST, owner=request.staff)
        if not form.is_valid():
            return self.render_page(form)
        email = request.staff.email
        try:
            # The sign-in check, throttled like sign-in: a borrowed session cannot guess the password here.
            auth.authenticate(email=email, password=form.cleaned_data["current_password"],
                              client=ratelimit.client_key(request), device=request.COOKIES.get(auth.DEVICE_COOKIE))
        except InvalidCredentials:
            if not self.resent(email, form.cleaned_data["new_password1"]):
                form.add_error("current_password", _("That is not your current password."))
                return self.render_page(form)
        except LoginThrottled as error:
            minutes = max(1, round(error.retry_after / 60))
            form.add_error(None, ngettext("Too many wrong passwords. Please wait %(n)d minute and try again.",
                                          "Too many wrong passwords. Please wait %(n)d minutes and try again.",
                                          minutes) % {"n": minutes})
            response = self.render_page(form, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        except StorageUnavailable:
            return self.unavailable(form)
        try:
            # A new access stamp: every session of this account ends, this one included ...
            staff = services.staff_update(email=email, password=form.cleaned_data["new_password1"])
        except StaffNotFound:
            auth.logout(request)
            return redirect("backoffice:login")
        except (PynamoDBException, StorageUnavailable):
            staff = self.finish(email, form.cleaned_data["new_password1"])
            if staff is None:
                return self.unavailable(form)
        try:
            # ... and this browser signs straight in again, under a new session key and the new stamp.
            auth.login(request, staff, two_factor=request.staff.two_factor)  # as proven at this session's sign-in
        except (AccessChanged, PynamoDBException, StorageUnavailable):
            forget_session(request)
            messages.success(request, _("Your password was changed. Please sign in with it."))
            return redirect("backoffice:login")
        messages.success(request, _("Your password was changed. You were signed out everywhere else."))
        return redirect("backoffice:dashboard")

    @staticmethod
    def resent(email: str, new_password: str) -> bool:
        """True for the resend of a change that landed but did not finish (its answer was lost).

        The current password is then the new one, and the account still says sessions_stale (set by
        the change, cleared once every session has ended), which no guesser can bring about.
        """
        staff = selectors.staff_get(email=email)
        return bool(staff and staff.sessions_stale and check_password(new_password, staff.password))

    @staticmethod
    def finish(email: str, new_password: str):
        """After a failure of the change: the account, with its sessions ended, if the new password landed; else None."""
        try:
            staff = selectors.staff_get(email=email)
            if staff is None or not check_password(new_password, staff.password):
                return None
            return services.staff_update(email=email)  # ends every session if the change did not get to it
        except (PynamoDBException, StorageUnavailable, StaffNotFound):
            return None

    def unavailable(self, form):
        form.add_error(None, _("Your password could not be changed just now. Please try again in a moment."))
        return self.render_page(form, status=503)

    def render_page(self, form, *, status=200):
        return render(self.request, self.template_name, {"form": form}, status=status)
