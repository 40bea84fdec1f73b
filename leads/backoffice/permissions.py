"""Who may open which staff page: signed-in staff, and admins for destructive or account work."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, resolve_url

from leads.domain import two_factor


def redirect_to_login(next_path: str):
    """Redirect to the sign-in page (under the request's script prefix), asking it to come back to next_path."""
    return redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_path})}")


class StaffRequiredMixin:
    """Send anonymous visitors to the sign-in page, then back here.

    Someone LEADS_REQUIRE_2FA requires to use two-factor sign-in, whose session has not proved it, is
    sent to the two-factor page (the one view with `before_two_factor`) from every page until they have.
    """

    admin_only = False
    before_two_factor = False

    def dispatch(self, request, *args, **kwargs):
        if not request.staff:
            return redirect_to_login(request.get_full_path())
        if not (self.before_two_factor or request.staff.two_factor) and two_factor.is_required(request.staff.role):
            return redirect("backoffice:two_factor")
        if self.admin_only and not request.staff.is_admin:
            raise PermissionDenied("Only admins can do this.")
        return super().dispatch(request, *args, **kwargs)


class AdminRequiredMixin(StaffRequiredMixin):
    """Signed-in admins only; sales staff get 403."""

    admin_only = True
