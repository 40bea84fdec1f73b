"""Request plumbing: who is signed in, and a friendly 503 for DynamoDB outages no view handled."""

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.functional import SimpleLazyObject
from pynamodb.exceptions import PynamoDBException

from leads.accounts.auth import current_staff, session_time_zone
from leads.domain.exceptions import StorageUnavailable
from leads.web.request_log import loggable_path
from leads.public.views import healthz

logger = logging.getLogger(__name__)


class StorageUnavailableMiddleware:
    """Render 503.html for StorageUnavailable and PynamoDB errors no view handled itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (StorageUnavailable, PynamoDBException)):
            logger.warning("DynamoDB unavailable on %s: %s", loggable_path(request), exception)
            response = render(request, "503.html", status=503)
            response["Retry-After"] = "30"
            return response
        return None


def _staff_prefix() -> str:
    """The staff URLs' path prefix, without the script prefix (an API Gateway stage)."""
    return "/" + reverse("backoffice:dashboard").removeprefix(get_script_prefix())


class StaffNoStoreMiddleware:
    """Mark every response under the staff URLs no-store, error pages and downloads included.

    A view decorator covers only what its view returns; a 404, 403 or 405 built by Django, or a view
    that forgot the decorator, would otherwise leave lead data in a shared or back-button cache.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        response = self.get_response(request)
        if self.prefix is None:
            # Without the script prefix (an API Gateway stage): the first request's may not be the next's.
            self.prefix = _staff_prefix()
        if request.path_info.startswith(self.prefix):
            add_never_cache_headers(response)
        return response


class StaffTimeZoneMiddleware:
    """Show a staff page's times in the signed-in staff member's time zone, as their session names it.

    The zone rides in the session (leads.accounts.auth.remember_preferences), which a staff page
    reads anyway: no extra DynamoDB call. Only staff pages look, so a public page reads no session.
    Activation is per thread, so it is undone after every response. A streamed body (the CSV export)
    is produced after that and must convert its times itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = _staff_prefix()
        try:
            name = session_time_zone(request) if request.path_info.startswith(self.prefix) else None
        except (StorageUnavailable, PynamoDBException):
            # The view reads the session again inside StorageUnavailableMiddleware's reach: a 503 page,
            # where an error raised here, outside it, would be a 500.
            name = None
        if not name:
            return self.get_response(request)
        try:
            timezone.activate(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            # A zone the database no longer has (renamed upstream): the default rather than a 500.
            logger.warning("Unknown time zone in a staff session; showing %s", timezone.get_default_timezone_name())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class CurrentStaffMiddleware:
    """Attach ``request.staff`` (or None), read from the session only when a view asks for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.staff = SimpleLazyObject(lambda: current_staff(request))
        return self.get_response(request)


class HealthCheckMiddleware:
    """Answer /healthz before host validation and the HTTPS redirect.

    Load balancers and container health checks call it by IP over plain HTTP; it must report
    DynamoDB's health, not a DisallowedHost 400 or a 301.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":  # under an API Gateway stage too
            return healthz(request)
        return self.get_response(request)
