"""Invitations (leads.domain.invitations): the invitee's "Set your password" page, and an admin's Resend and
Withdraw on the staff page. The staff page itself (backoffice.views.StaffListView) sends new ones. HTTP only."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _, gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from pynamodb.exceptions import PynamoDBException

from leads.accounts import auth
from leads.backoffice.forms import NewPasswordForm
from leads.backoffice.permissions import AdminRequiredMixin
from leads.domain import invitations
from leads.domain.exceptions import AccessChanged, InvitationInvalid, StaffExists, StorageUnavailable
from leads.storage.models import Invitation

INVALID_LINK = gettext_lazy("This invitation link has expired or was already used. Ask an admin for a new one.")


def invalid_link(request):
    """The page for any link that opens no pending invitation (never saying which way it failed)."""
    return render(request, "backoffice/invitation_invalid.html", {"explanation": INVALID_LINK}, status=404)


def forget_session(request) -> None:
    """End this browser's session after a failed sign-in; if DynamoDB fails here too, the cookie goes all the same."""
    try:
        request.session.flush()
    except (PynamoDBException, StorageUnavailable):
        request.session.clear()  # an empty session: the middleware deletes the cookie, writes nothing


def send_invitation(request, invitation: Invitation, token: str, *, resent: bool = False) -> None:
    """Email the invitee their link and tell the admin how that went."""
    link = request.build_absolute_uri(reverse("backoffice:invitation_accept", args=[token]))
    sent = invitations.send_invitation_email(invitation, link=link, inviter_name=request.staff.display_name)
    if not sent:
        messages.warning(request, _("The invitation to %(email)s is saved, but the email could not be sent. "
                                    "Use Resend to try again.") % {"email": invitation.email})
    elif resent:
        messages.success(request, _("Sent a new invitation to %(email)s. The earlier link no longer works.")
                         % {"email": invitation.email})
    else:
        messages.success(request, _("Sent an invitation to %(email)s.") % {"email": invitation.email})


@method_decorator([never_cache, sensitive_post_parameters("new_password1", "new_password2")], name="dispatch")
class InvitationAcceptView(View):
    """The emailed link: the invitee sets their password, and is signed in to their new account."""

    template_name = "backoffice/invitation_accept.html"

    def get(self, request, token):
        try:
            invitation = invitations.invitation_for_token(token)
        except InvitationInvalid:
            return invalid_link(request)
        return self.render_page(invitation, NewPasswordForm(owner=invitation))

    def post(self, request, token):
        try:
            # Accepted already is let through here: invitation_accept tells a resend from a reuse.
            invitation = invitations.invitation_for_token(token, accepted_too=True)
        except InvitationInvalid:
            return invalid_link(request)
        form = NewPasswordForm(request.POST, owner=invitation)
        if not form.is_valid():
            return self.render_page(invitation, form)
        try:
            acceptance = invitations.invitation_accept(token=token, password=form.cleaned_data["new_password1"],
                                                       invitation=invitation)
        except InvitationInvalid:
            return invalid_link(request)
        except StorageUnavailable:
            form.add_error(None, _("Your password could not be saved just now. Please try again in a moment."))
            return self.render_page(invitation, form, status=503)
        if not acceptance.created:
            # This very acceptance landed before (a double click, or a resend after a lost answer): the
            # account is theirs, but a resend is no way to sign in.
            messages.success(request, _("Your password is set. Please sign in."))
            return redirect("backoffice:login")
        staff = acceptance.staff
        if request.staff:
            auth.logout(request)  # someone else's session in this browser: not theirs to keep
        try:
            auth.login(request, staff)
        except (AccessChanged, PynamoDBException, StorageUnavailable):
            # The account exists with their password; only the session could not be written.
            forget_session(request)
            messages.success(request, _("Your password is set. Please sign in."))
            return redirect("backoffice:login")
        messages.success(request, _("Welcome, %(name)s. Your password is set and you are signed in.") % {"name": staff.display_name})
        return redirect("backoffice:dashboard")

    def render_page(self, invitation, form, *, status=200):
        return render(self.request, self.template_name, {"invitation": invitation, "form": form}, status=status)


@method_decorator(never_cache, name="dispatch")
class InvitationResendView(AdminRequiredMixin, View):
    """Send a pending invitation again, with a new link (POST); the old link stops working."""

    http_method_names = ["post"]

    def post(self, request, invitation_id):
        try:
            invitation, token = invitations.invitation_resend(invitation_id=invitation_id, invited_by=request.staff.email)
        except InvitationInvalid:
            messages.error(request, _("That invitation is no longer pending: it was accepted, withdrawn or has expired."))
        except StaffExists:
            messages.error(request, _("That address has an account by now. Withdraw the invitation."))
        else:
            send_invitation(request, invitation, token, resent=True)
        return redirect("backoffice:staff_list")


@method_decorator(never_cache, name="dispatch")
class InvitationWithdrawView(AdminRequiredMixin, View):
    """Withdraw a pending invitation (POST): its link stops working."""

    http_method_names = ["post"]

    def post(self, request, invitation_id):
        try:
            invitations.invitation_withdraw(invitation_id=invitation_id)
        except InvitationInvalid:
            messages.error(request, _("That invitation is no longer pending: it was accepted, withdrawn or has expired."))
        else:
            messages.success(request, _("Withdrew the invitation. Its link no longer works."))
        return redirect("backoffice:staff_list")
