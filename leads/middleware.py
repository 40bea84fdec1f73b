"""Request plumbing: who is signed in, and a friendly 503 for DynamoDB outages no view handled."""

import logging

from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from pynamodb.exceptions import PynamoDBException

from .auth import current_staff
from .exceptions import StorageUnavailable
from .views import healthz

logger = logging.getLogger(__name__)


class StorageUnavailableMiddleware:
    """Render 503.html for StorageUnavailable and PynamoDB errors no view handled itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (StorageUnavailable, PynamoDBException)):
            logger.warning("DynamoDB unavailable on %s: %s", request.path, exception)
            response = render(request, "503.html", status=503)
            response["Retry-After"] = "30"
            return response
        return None


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
        if request.path == "/healthz":
            return healthz(request)
        return self.get_response(request)
