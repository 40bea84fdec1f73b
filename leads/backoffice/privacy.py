"""Admin pages for one person's data: look it up, export it, erase it. HTTP only.

The address travels only in POST bodies (CSRF-protected), never in a URL: URLs end up in request logs,
browser history and Referer headers. `sensitive_post_parameters` keeps it out of error reports, and no
message put in the session names it.
"""

import json

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from leads.backoffice.forms import SubjectEraseForm, SubjectForm
from leads.backoffice.permissions import AdminRequiredMixin
from leads.domain import erasure, subjects
from leads.domain.exceptions import LeadConflict

# How many recent exports and erasures the privacy page lists.
RECENT_REQUESTS = 20

_private = [never_cache, sensitive_post_parameters("email")]


def _render_lookup(request, form, *, data=None, status=200):
    """The privacy page: the address form, what is stored for the address looked up, the recent requests."""
    context = {"form": form, "data": data, "requests": subjects.privacy_requests(limit=RECENT_REQUESTS)}
    if data is not None:
        context["erasure"] = subjects.subject_erasure(email=data.email)
    return render(request, "backoffice/privacy.html", context, status=status)


@method_decorator(_private, name="dispatch")
class PrivacyView(AdminRequiredMixin, View):
    """Enter an address (POST) to see everything stored for it, with Export and Erase."""

    def get(self, request):
        return _render_lookup(request, SubjectForm())

    def post(self, request):
        form = SubjectForm(request.POST)
        if not form.is_valid():
            return _render_lookup(request, form)
        return _render_lookup(request, form, data=subjects.subject_find(email=form.cleaned_data["email"]))


@method_decorator(_private, name="dispatch")
class PrivacyExportView(AdminRequiredMixin, View):
    """Everything stored for the address as a JSON download; the export itself is recorded (without the address)."""

    http_method_names = ["post"]

    def post(self, request):
        form = SubjectForm(request.POST)
        if not form.is_valid():
            return _render_lookup(request, form)
        email = form.cleaned_data["email"]
        data = subjects.subject_find(email=email)
        # Recorded before the download is handed out: no export leaves without its record.
        record = erasure.subject_export_record(email=email, actor=request.staff.email, counts=data.counts)
        document = subjects.subject_document(data, exported_at=record.started_at, exported_by=record.actor,
                                             request_id=record.request_id)
        response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="subject-{record.started_at:%Y-%m-%d}.json"'
        return response


@method_decorator(_private, name="dispatch")
class PrivacyEraseView(AdminRequiredMixin, View):
    """Erase everything stored for the address: a confirmation step with the counts, then the erasure."""

    http_method_names = ["post"]
    template_name = "backoffice/privacy_erase.html"

    def post(self, request):
        form = SubjectEraseForm(request.POST)
        if not form.is_valid() and "email" in form.errors:
            return _render_lookup(request, SubjectForm(request.POST))
        email = form.cleaned_data["email"]
        if not form.is_valid() or not form.confirming:
            data = subjects.subject_find(email=email)
            form = form if form.confirming else SubjectEraseForm(initial={"email": email, "stage": "confirm"})
            return render(request, self.template_name, {"form": form, "counts": data.counts, "empty": data.empty})
        try:
            record = erasure.subject_erase(email=email, actor=request.staff.email)
        except LeadConflict:
            return render(request, self.template_name, {
                "form": SubjectEraseForm(initial={"email": email, "stage": "confirm"}), "conflict": True,
                "counts": subjects.subject_find(email=email).counts,
            }, status=409)
        # StorageUnavailable reaches the 503 page (web.middleware): what was erased stays erased, the rest stays
        # findable, and sending the erasure again finishes the same record.
        return redirect("backoffice:privacy_request", request_id=record.request_id)


@method_decorator(never_cache, name="dispatch")
class PrivacyRequestView(AdminRequiredMixin, View):
    """One export or erasure: who, when, how many items of each kind, the address's hash (never the address)."""

    def get(self, request, request_id):
        record = subjects.privacy_request_get(request_id=request_id)
        if record is None:
            raise Http404("No such privacy request.")
        return render(request, "backoffice/privacy_request.html", {"record": record})
