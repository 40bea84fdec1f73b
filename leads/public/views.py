"""Public views: the contact form, its thank-you page and the health check. HTTP only."""

import json
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from leads.domain import ratelimit, selectors, services
from leads.public import tokens
from leads.domain.exceptions import RateLimited, StorageUnavailable
from leads.public.forms import ContactForm


class BadJson(ValueError):
    """The request body is not a JSON object of strings."""


def wants_json(request: HttpRequest) -> bool:
    """True for static-site clients: they post JSON or ask for JSON back."""
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")


def json_body(request: HttpRequest) -> dict[str, str | bool]:
    """Parse a JSON object whose values are all strings (``consent`` may be a boolean); raise BadJson otherwise."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError) as error:  # bad UTF-8 or syntax, huge integers, deep nesting
        # The parser's own words stay English: they name a position in the body for the developer.
        raise BadJson(_("The request body is not valid JSON: %(error)s") % {"error": str(error)[:200]}) from error
    if not isinstance(data, dict):
        raise BadJson(_("The request body must be a JSON object."))
    consent = data.get("consent")
    if consent is not None and not isinstance(consent, (bool, str)):
        raise BadJson(_("consent must be true or false."))
    wrong = sorted(str(key) for key, value in data.items()
                   if value is not None and not isinstance(value, str) and key != "consent")
    if wrong:
        raise BadJson(_("These fields must be strings: %(fields)s.") % {"fields": ", ".join(wrong)})
    return {key: value for key, value in data.items() if value is not None}


def csrf_rejection(request: HttpRequest) -> HttpResponse | None:
    """Run Django's CSRF check by hand for a view that decides per request whether it applies."""
    return CsrfViewMiddleware(lambda _request: None).process_view(request, None, (), {})


@method_decorator(never_cache, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")  # enforced in post(), except for allowed CORS origins
class ContactView(View):
    """Show the contact form; store a posted lead exactly once, then redirect to the thank-you page."""

    template_name = "leads/contact.html"
    success_url = reverse_lazy("leads:thanks")

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ContactForm(initial={"token": tokens.new_token()})
        return self.render_form(form)

    def post(self, request: HttpRequest) -> HttpResponse:
        json_mode = wants_json(request)
        origin = request.headers.get("Origin", "")
        if not (json_mode and origin in settings.LEADS_CORS_ORIGINS):
            rejection = csrf_rejection(request)
            if rejection is not None:
                return rejection
        if json_mode:
            return self.post_json(request, origin)
        form = ContactForm(request.POST)
        if form.is_spam:
            return redirect(self.success_url)
        if not form.is_valid():
            form.renew_token_if_unusable()
            return self.render_form(form)
        try:
            self.submit(request, form, lead_id=form.cleaned_data["token"], source="form")
        except RateLimited as error:
            response = self.render_form(form, status=429, notice="rate_limited", retry_after=error.retry_after)
            response["Retry-After"] = str(error.retry_after)
            return response
        except StorageUnavailable:
            return self.render_form(form, status=503, notice="unavailable")
        return redirect(self.success_url)

    def post_json(self, request: HttpRequest, origin: str) -> JsonResponse:
        """The same form for static sites: 201 with the lead id, or 400 with field errors."""
        if request.content_type == "application/json":
            try:
                data = json_body(request)
            except BadJson as error:
                return JsonResponse({"errors": {"__all__": [{"message": str(error), "code": "bad_json"}]}}, status=400)
        else:
            data = request.POST
        form = ContactForm(data, require_token=False)
        if form.is_spam:
            # Look like success, so the bot learns nothing.
            return JsonResponse({"id": uuid.uuid4().hex}, status=201)
        if not form.is_valid():
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        key = request.headers.get("Idempotency-Key", "")[:200]
        lead_id = form.cleaned_data["token"] or (
            tokens.lead_id_from_idempotency_key(key, origin=origin) if key else tokens.new_lead_id()
        )
        try:
            submission = self.submit(request, form, lead_id=lead_id, source="api")
        except RateLimited as error:
            response = JsonResponse({"error": _("Too many messages; please try again later.")}, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        except StorageUnavailable:
            return JsonResponse({"error": _("We could not store your message just now; please try again.")},
                                status=503)
        return JsonResponse({"id": submission.lead_id, "created": submission.created}, status=201)

    def submit(self, request: HttpRequest, form: ContactForm, *, lead_id: str, source: str):
        """Hand the cleaned form to the lead_submit service."""
        data = form.cleaned_data
        consent_text, consent_version = form.agreed_consent() or (None, None)
        return services.lead_submit(
            lead_id=lead_id,
            name=data["name"],
            email=data["email"],
            company=data["company"],
            subject=data["subject"],
            message=data["message"],
            source=source,
            client=ratelimit.client_key(request),
            consent_text=consent_text,
            consent_version=consent_version,
        )

    def render_form(self, form: ContactForm, *, status: int = 200, **context) -> HttpResponse:
        """Render the form, bound or not, keeping whatever the visitor typed."""
        if "retry_after" in context:
            context["retry_minutes"] = max(1, round(context["retry_after"] / 60))
        return render(self.request, self.template_name, {"form": form, **context}, status=status)


class ThanksView(TemplateView):
    """The page a visitor lands on after sending the form."""

    template_name = "leads/thanks.html"


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """handler400: JSON for JSON clients (a body over the size limit, say), the friendly page for people."""
    if wants_json(request):
        return JsonResponse({"errors": {"__all__": [{"message": _("The request was malformed or too large."),
                                                     "code": "bad_request"}]}}, status=400)
    return render(request, "400.html", status=400)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the lead table answers, 503 when it does not."""
    if selectors.storage_is_reachable():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable"}, status=503)
