"""Where you're signed in (leads.domain.staff_sessions): your sessions, signing one or all others out, and an
admin's "End all sessions" for anyone. HTTP only."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from leads.backoffice.permissions import AdminRequiredMixin, StaffRequiredMixin
from leads.domain import staff_sessions
from leads.domain.exceptions import StaffNotFound


@method_decorator(never_cache, name="dispatch")
class SessionsView(StaffRequiredMixin, View):
    """Every session of the signed-in person: started, last active, browser, roughly where."""

    template_name = "backoffice/sessions.html"

    def get(self, request):
        rows = staff_sessions.sessions_of(email=request.staff.email, current_key=request.session.session_key)
        return render(request, self.template_name, {"sessions": rows, "others": sum(not row.current for row in rows)})


@method_decorator(never_cache, name="dispatch")
class SessionEndView(StaffRequiredMixin, View):
    """Sign one of your other sessions out (POST `session`, as the page names it)."""

    http_method_names = ["post"]

    def post(self, request):
        ref = request.POST.get("session", "")[:100]
        if staff_sessions.end_session(email=request.staff.email, ref=ref, keep=request.session.session_key):
            messages.success(request, _("Signed that session out."))
        else:
            messages.info(request, _("That session had already ended."))
        return redirect("backoffice:account_sessions")


@method_decorator(never_cache, name="dispatch")
class SessionsEndOthersView(StaffRequiredMixin, View):
    """Sign out everywhere but this browser (POST)."""

    http_method_names = ["post"]

    def post(self, request):
        ended = staff_sessions.end_other_sessions(email=request.staff.email, keep=request.session.session_key)
        messages.success(request, _("Signed out everywhere else.") if ended else _("You were signed in nowhere else."))
        return redirect("backoffice:account_sessions")


@method_decorator(never_cache, name="dispatch")
class StaffEndSessionsView(AdminRequiredMixin, View):
    """An admin ends every session of a staff member (POST), theirs included if it is their own account."""

    http_method_names = ["post"]

    def post(self, request, email):
        try:
            staff_sessions.end_all_sessions(email=email)
        except StaffNotFound:
            raise Http404("No staff member with this email.") from None
        if email == request.staff.email:
            request.session.flush()  # ended with the others: this browser is signed out too
            messages.success(request, _("You ended every session of your account, this one included."))
            return redirect("backoffice:login")
        messages.success(request, _("Ended every session of %(email)s.") % {"email": email})
        return redirect("backoffice:staff_edit", email)
