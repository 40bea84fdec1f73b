"""Request plumbing: who is signed in, which language a page speaks, and a friendly 503 for DynamoDB outages."""

import logging
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.functional import SimpleLazyObject
from django.utils.translation.trans_real import parse_accept_lang_header
from pynamodb.exceptions import PynamoDBException

from leads.accounts.auth import STAFF_LANG_KEY, STAFF_TZ_KEY, current_staff
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


# A language tag as Accept-Language carries it (Django's own check, before a lookup).
LANGUAGE_TAG = re.compile(r"^[a-z]{1,8}(?:[-_][a-z0-9]{1,8})*$", re.IGNORECASE)


def visitor_language(request) -> str:
    """The best of LANGUAGES for the visitor's Accept-Language, else LANGUAGE_CODE.

    Only the header counts: no language cookie and no URL prefix, so a page's language follows the
    browser and one URL serves every language (hence Vary: Accept-Language).
    """
    for tag, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if tag == "*":
            break
        if not LANGUAGE_TAG.match(tag):
            continue
        try:
            return translation.get_supported_language_variant(tag)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def session_preference(request, key: str) -> str | None:
    """A staff preference from the session (set at sign-in), or None when signed out or DynamoDB is down."""
    try:
        return request.session.get(key)
    except (StorageUnavailable, PynamoDBException):
        # The view reads the session again inside StorageUnavailableMiddleware's reach: a 503 page,
        # where an error raised here, outside it, would be a 500.
        return None


def staff_language(request) -> str:
    """The language a staff member chose (their session's STAFF_LANG_KEY, set at sign-in), else English."""
    chosen = session_preference(request, STAFF_LANG_KEY)
    if chosen in dict(settings.LANGUAGES):
        return chosen
    return settings.LANGUAGE_CODE


class LanguageMiddleware:
    """Speak the visitor's language on public pages, and English (or the chosen language) to staff.

    After SessionMiddleware (the staff choice lives in the session), before CsrfViewMiddleware and the
    views, so a CSRF failure page, a form's errors and a JSON error all speak the same language.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = _staff_prefix()
        staff = request.path_info.startswith(self.prefix)
        language = staff_language(request) if staff else visitor_language(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        if not staff:
            patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", language)
        return response


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
        name = session_preference(request, STAFF_TZ_KEY) if request.path_info.startswith(self.prefix) else None
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
