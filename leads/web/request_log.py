"""One JSON log line per request — request id, path, status, duration, DynamoDB calls made."""

import logging
import re
import time
import uuid

from leads.storage import call_count

logger = logging.getLogger("leads.request")


def request_id_for(request) -> str:
    """The id of this request as the platform knows it: Lambda's, a proxy's, or a new one."""
    context = request.META.get("lambda.context")
    if context is not None and getattr(context, "aws_request_id", None):
        return context.aws_request_id
    supplied = request.headers.get("X-Request-ID", "")
    if supplied and len(supplied) <= 200 and supplied.isprintable():
        return supplied
    return uuid.uuid4().hex


_EMAIL = re.compile(r"[^\s/@]+@[^\s/@]+\.[^\s/@]+")


def redact_emails(text: str) -> str:
    """Replace anything shaped like an email address in text by ``<email>``."""
    return _EMAIL.sub("<email>", text)


class RedactEmails(logging.Filter):
    """Replace anything shaped like an email, and link tokens, in a log line (Django's "Not Found: /admin/staff/<email>/")."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = redacted = record.getMessage()
        request = getattr(record, "request", None)  # Django's "Not Found: <path>" lines carry it
        if request is not None and not isinstance(request, str) and getattr(request, "path", None):
            redacted = redacted.replace(request.path, loggable_path(request))
        redacted = redact_emails(redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class HideRequests(logging.Filter):
    """Put the method and path (emails and link tokens redacted, no query string) in place of a record's request.

    Django's own records carry the request (``extra={"request": ...}``), which the JSON formatter writes
    out as its repr: query string (a staff search by address) and all. For the log handler only: error
    mail, where configured, runs before it and gets the request itself (leads.web.error_reports).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None and not isinstance(request, str):
            method, path = getattr(request, "method", None), getattr(request, "path", None)
            record.request = f"{method} {redact_emails(loggable_path(request))}" if method and isinstance(path, str) else "-"
        return True


# URL parts that must never reach a log: emails (staff pages are addressed by them, and a password-reset
# link by one in base64, `uidb64`) and one-time link tokens (an invitation's or a reset's link, while it
# works, is as good as a password).
_SECRET_URL_PARTS = ("email", "uidb64", "token")


def loggable_path(request) -> str:
    """The request path with any email or link token in it replaced by a placeholder."""
    match = getattr(request, "resolver_match", None)
    path = request.path
    for name in _SECRET_URL_PARTS:
        value = match.kwargs.get(name) if match else None
        if value and isinstance(value, str):
            path = path.replace(value, f"<{name}>")
    return path


class RequestLogMiddleware:
    """Log each request once, after the response, with what it cost."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        started = time.perf_counter()
        with call_count.counting() as calls:
            response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        # Streaming responses (CSV export) make their calls later; the count covers what ran so far.
        read_units, write_units = call_count.billed_units(calls)
        logger.info(
            "%s %s %s", request.method, loggable_path(request), response.status_code,
            extra={
                "request_id": request.request_id,
                "method": request.method,
                "path": loggable_path(request),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "dynamodb_calls": len(calls),
                "dynamodb_operations": [call.operation for call in calls],
                # What the request cost, as DynamoDB bills it (on-demand: read and write request units).
                "dynamodb_read_units": read_units,
                "dynamodb_write_units": write_units,
            },
        )
        return response
