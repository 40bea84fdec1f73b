"""Request plumbing: who is signed in, which language a page speaks, and a friendly 503 for DynamoDB outages."""

import logging
import re

from django.conf import settings
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.functional import SimpleLazyObject
from django.utils.translation.trans_real import parse_accept_lang_header
from pynamodb.exceptions import PynamoDBException

from leads.accounts.auth import current_staff
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


def staff_prefix() -> str:
    """The staff area's path, without the script prefix (an API Gateway stage): "/admin/"."""
    return "/" + reverse("backoffice:dashboard").removeprefix(get_script_prefix())


# A language tag as Accept-Language carries it (Django's own check, before a lookup).
LANGUAGE_TAG = re.compile(r"^[a-z]{1,8}(?:[-_][a-z0-9]{1,8})*$", re.IGNORECASE)
# What a staff member chose (stored in their session at sign-in): "en", "de", or "" for the default.
STAFF_LANGUAGE_KEY = "staff_lang"


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


def staff_language(request) -> str:
    """The language a staff member chose (session["staff_lang"]), else English."""
    chosen = request.session.get(STAFF_LANGUAGE_KEY) or ""
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
            self.prefix = staff_prefix()
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
            self.prefix = staff_prefix()
        if request.path_info.startswith(self.prefix):
            add_never_cache_headers(response)
        return response


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
