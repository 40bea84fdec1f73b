"""Turns DynamoDB outages that escape a view into a friendly 503 page instead of a 500."""

import logging

from django.shortcuts import render
from pynamodb.exceptions import PynamoDBException

from .exceptions import StorageUnavailable

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
