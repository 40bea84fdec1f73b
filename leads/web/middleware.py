"""Request plumbing: who is signed in, and a friendly 503 for DynamoDB outages no view handled."""

import logging

from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import SimpleLazyObject
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
            self.prefix = "/" + reverse("backoffice:dashboard").removeprefix(get_script_prefix())
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
