"""Webhooks that failed after their last try (leads.domain.webhooks): the admins' list and "Try again". HTTP only."""

import re

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from leads.backoffice.permissions import AdminRequiredMixin
from leads.domain import selectors, services
from leads.domain.exceptions import WebhookFailureNotFound

# <event time>#<lead id>-v<version>#<webhook name> (services.webhook_dead_letter); anything else is no failure.
FAILURE_ID = re.compile(r"[0-9T:.Z-]{20,40}#[0-9a-f]{32}-v[0-9]{1,10}#[a-z0-9][a-z0-9_-]{0,39}")
PAGE_SIZE = 50


@method_decorator(never_cache, name="dispatch")
class WebhookFailuresView(AdminRequiredMixin, View):
    """Deliveries that failed after their last try, newest event first (one Query), each with "Try again"."""

    template_name = "backoffice/webhooks.html"

    def get(self, request):
        failures = selectors.webhook_failures(limit=PAGE_SIZE)
        return render(request, self.template_name, {
            "failures": failures, "page_size": PAGE_SIZE,
            "configured": [hook["name"] for hook in settings.LEADS_WEBHOOKS]})


@method_decorator(never_cache, name="dispatch")
class WebhookRetryView(AdminRequiredMixin, View):
    """Resend one failed webhook once (POST `failure`, as the page names it)."""

    http_method_names = ["post"]

    def post(self, request):
        failure_id = request.POST.get("failure", "")[:200]
        if not FAILURE_ID.fullmatch(failure_id):
            messages.info(request, _("That failed webhook is no longer there."))
            return redirect("backoffice:webhooks")
        try:
            result = services.webhook_retry(failure_id=failure_id)
        except WebhookFailureNotFound:
            messages.info(request, _("That failed webhook is no longer there."))
            return redirect("backoffice:webhooks")
        if result == "delivered":
            messages.success(request, _("Sent. The webhook has it now."))
        elif result == "dropped":
            messages.info(request, _("Nothing to send: its lead was deleted or the webhook is no longer configured."))
        else:
            messages.error(request, _("It failed again; it stays on this list."))
        return redirect("backoffice:webhooks")
