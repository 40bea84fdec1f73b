"""Error reports without personal data: what Django's AdminEmailHandler mails when error mail is on.

Django hides only what a view marks sensitive. Here nearly every request carries personal data (the
contact form's fields, staff searching by address, staff pages addressed by email, session cookies),
so with DEBUG off a report shows none of it: every POST and GET value, the query string, every cookie,
every request header not known to be harmless (client addresses included) and every frame's local
variables are replaced by stars, and emails in the path by ``<email>``. What is left is what debugging
needs: the exception, the traceback's code, the method, the path, the view and the safe settings.
Settings: DEFAULT_EXCEPTION_REPORTER and DEFAULT_EXCEPTION_REPORTER_FILTER.
"""

from dataclasses import dataclass

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from leads.web.request_log import loggable_path, redact_emails

# Request headers and WSGI variables a report may show as they are.
HARMLESS_META = frozenset({
    "REQUEST_METHOD", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "CONTENT_TYPE",
    "CONTENT_LENGTH", "HTTP_HOST", "HTTP_ACCEPT", "HTTP_ACCEPT_ENCODING", "HTTP_ACCEPT_LANGUAGE", "HTTP_ORIGIN",
    "HTTP_X_FORWARDED_PROTO", "HTTP_X_REQUEST_ID", "wsgi.url_scheme", "wsgi.version", "wsgi.multithread",
    "wsgi.multiprocess", "wsgi.run_once",
})


class PersonalDataFilter(SafeExceptionReporterFilter):
    """Hide everything a visitor or staff member sent, and every local variable, from error reports."""

    def get_post_parameters(self, request):
        if request is None or not self.is_active(request):
            return super().get_post_parameters(request)
        cleansed = request.POST.copy()
        for key in cleansed:
            cleansed[key] = self.cleansed_substitute
        return cleansed

    def get_safe_cookies(self, request):
        if not self.is_active(request):
            return super().get_safe_cookies(request)
        return {key: self.cleansed_substitute for key in getattr(request, "COOKIES", {})}

    def get_safe_request_meta(self, request):
        if not self.is_active(request):
            return super().get_safe_request_meta(request)
        meta = {}
        for key, value in getattr(request, "META", {}).items():
            if key == "PATH_INFO" and isinstance(value, str):
                meta[key] = redact_emails(value)
            elif key in HARMLESS_META:
                meta[key] = self.cleanse_setting(key, value)
            else:
                meta[key] = self.cleansed_substitute
        return meta

    def get_traceback_frame_variables(self, request, tb_frame):
        if not self.is_active(request):
            return super().get_traceback_frame_variables(request, tb_frame)
        return {name: self.cleansed_substitute for name in tb_frame.f_locals}.items()


@dataclass(frozen=True)
class _ShownRequest:
    """The parts of the request the report templates read, with personal data taken out."""

    path_info: str
    META: dict
    GET: bool
    FILES: bool
    COOKIES: bool


class PersonalDataExceptionReporter(ExceptionReporter):
    """Django's reporter, with the query string, GET values and emails in the path left out (DEBUG off)."""

    def _hiding(self) -> bool:
        return self.request is not None and self.filter.is_active(self.request)

    def _get_raw_insecure_uri(self):
        if not self._hiding():
            return super()._get_raw_insecure_uri()
        query = "?…" if self.request.META.get("QUERY_STRING") else ""
        return f"{self.request.scheme}://{self.request._get_raw_host()}{redact_emails(loggable_path(self.request))}{query}"

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self._hiding():
            request = self.request
            data["request"] = _ShownRequest(
                path_info=redact_emails(loggable_path(request)), META=data["request_meta"],
                GET=bool(request.GET), FILES=bool(request.FILES), COOKIES=bool(request.COOKIES),
            )
            data["request_GET_items"] = [(key, self.filter.cleansed_substitute) for key in request.GET]
            data["request_FILES_items"] = [(key, self.filter.cleansed_substitute) for key in request.FILES]
        return data
