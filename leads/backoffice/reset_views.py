"""Password reset (leads.domain.password_reset): "Forgot your password?", the emailed link, a new password.

HTTP only. As Django's own PasswordResetConfirmView does, the link's token moves from the URL into the
session and the browser is sent on to ``…/set-password/``, so the token never leaks through a Referer
header or the history of the page where the password is typed.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _, ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from leads.backoffice.forms import NewPasswordForm, PasswordResetRequestForm
from leads.domain import password_reset, ratelimit
from leads.domain.exceptions import RateLimited, ResetLinkInvalid, StorageUnavailable

RESET_TOKEN_SESSION_KEY = "_password_reset_token"
SET_PASSWORD = "set-password"  # stands for the token in the URL once the token is in the session


class SendAfterDelivery(HttpResponse):
    """A page that sends an email only once the server has delivered it (WSGI's close()).

    So the answer to "Forgot your password?" takes as long whether or not there was an email to send:
    a mail server's delay cannot tell anyone that an account exists. (On Lambda the whole response is
    collected before it is returned, so there the send still happens before the answer leaves.)
    """

    def __init__(self, content, *, message=None, **kwargs):
        super().__init__(content, **kwargs)
        self._message = message

    def close(self):
        try:
            super().close()
        finally:
            message, self._message = self._message, None
            if message is not None:
                password_reset.send_reset_email(message)


def _minutes() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 60)


@method_decorator(never_cache, name="dispatch")
class PasswordResetView(View):
    """Ask for a reset link. The answer is the same page whether the address has an account or not."""

    template_name = "backoffice/password_reset.html"

    def get(self, request):
        return render(request, self.template_name, {"form": PasswordResetRequestForm()})

    def post(self, request):
        form = PasswordResetRequestForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})

        def link(uid: str, token: str) -> str:
            return request.build_absolute_uri(reverse("backoffice:password_reset_confirm", args=[uid, token]))

        try:
            message = password_reset.reset_request(
                email=form.cleaned_data["email"], client=ratelimit.client_key(request), link=link,
            )
        except RateLimited as error:
            # Counted for every address alike, so this says nothing about whether an account exists.
            minutes = max(1, round(error.retry_after / 60))
            form.add_error(None, ngettext(
                "Too many reset requests from here or for this address. Please wait %(n)d minute and try again.",
                "Too many reset requests from here or for this address. Please wait %(n)d minutes and try again.",
                minutes) % {"n": minutes})
            response = render(request, self.template_name, {"form": form}, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        except StorageUnavailable:
            form.add_error(None, _("We could not take your request just now. Please try again in a moment."))
            return render(request, self.template_name, {"form": form}, status=503)
        html = render_to_string("backoffice/password_reset_sent.html", {"minutes": _minutes()}, request=request)
        return SendAfterDelivery(html, message=message)


def invalid_link(request):
    """The page for any reset link that does not work (never saying why)."""
    return render(request, "backoffice/password_reset_invalid.html", status=404)


@method_decorator([never_cache, sensitive_post_parameters("new_password1", "new_password2")], name="dispatch")
class PasswordResetConfirmView(View):
    """The emailed link: choose a new password, once; then sign in with it.

    After the reset the browser is sent to the sign-in page rather than signed in: the link proves only
    that its holder reads the account's email, and signing in is where two-factor sign-in is asked for.
    """

    template_name = "backoffice/password_reset_confirm.html"

    def get(self, request, uidb64, token):
        if token != SET_PASSWORD:
            try:
                password_reset.staff_for_link(uidb64, token)
            except ResetLinkInvalid:
                return invalid_link(request)
            request.session[RESET_TOKEN_SESSION_KEY] = token
            return redirect("backoffice:password_reset_confirm", uidb64, SET_PASSWORD)
        try:
            member = password_reset.staff_for_link(uidb64, request.session.get(RESET_TOKEN_SESSION_KEY, ""))
        except ResetLinkInvalid:
            return invalid_link(request)
        return self.render_page(member, NewPasswordForm(owner=member))

    def post(self, request, uidb64, token):
        if token != SET_PASSWORD:
            return invalid_link(request)
        session_token = request.session.get(RESET_TOKEN_SESSION_KEY, "")
        try:
            member = password_reset.staff_for_link(uidb64, session_token)
        except ResetLinkInvalid:
            return self.sent_again(request, uidb64, session_token)
        form = NewPasswordForm(request.POST, owner=member)
        if not form.is_valid():
            return self.render_page(member, form)
        try:
            password_reset.reset_password(uid=uidb64, token=session_token, password=form.cleaned_data["new_password1"])
        except ResetLinkInvalid:
            return invalid_link(request)  # the same link's other submission got there first
        except StorageUnavailable:
            form.add_error(None, _("Your password could not be saved just now. Please try again in a moment."))
            return self.render_page(member, form, status=503)
        return self.done(request, member.email)

    def sent_again(self, request, uidb64, session_token):
        """The form sent again after its reset landed unanswered (a 503): finish that reset, else the invalid page."""
        password = request.POST.get("new_password1", "")
        if not session_token or not password or password != request.POST.get("new_password2"):
            return invalid_link(request)
        try:
            member = password_reset.reset_password(uid=uidb64, token=session_token, password=password)
        except ResetLinkInvalid:
            return invalid_link(request)
        return self.done(request, member.email)

    def done(self, request, email):
        if request.staff and request.staff.email != email:
            request.session.pop(RESET_TOKEN_SESSION_KEY, None)  # someone else's session: theirs to keep
        else:
            # Anonymous (the session held only the token), or this account's own session, which the
            # reset has just ended with all the others.
            request.session.discard()
        messages.success(request, _("Your password has been changed, and every session of your account has ended. "
                                  "Sign in with your new password."))
        return redirect("backoffice:login")

    def render_page(self, member, form, *, status=200):
        return render(self.request, self.template_name, {"member": member, "form": form}, status=status)
