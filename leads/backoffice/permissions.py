"""Who may open which staff page: signed-in staff, and admins for destructive or account work."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, resolve_url


def redirect_to_login(next_path: str):
    """Redirect to the sign-in page (under the request's script prefix), asking it to come back to next_path."""
    return redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_path})}")


class StaffRequiredMixin:
    """Send anonymous visitors to the sign-in page, then back here."""

    admin_only = False

    def dispatch(self, request, *args, **kwargs):
        if not request.staff:
            return redirect_to_login(request.get_full_path())
        if self.admin_only and not request.staff.is_admin:
            raise PermissionDenied("Only admins can do this.")
        return super().dispatch(request, *args, **kwargs)


class AdminRequiredMixin(StaffRequiredMixin):
    """Signed-in admins only; sales staff get 403."""

    admin_only = True
