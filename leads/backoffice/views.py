"""Staff pages under /admin/: sign-in, dashboard, inbox, lead detail, trash, staff accounts. HTTP only."""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _, ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import TemplateView
from pynamodb.exceptions import PynamoDBException

from leads.accounts import auth
from leads.accounts import two_factor as sign_in
from leads.backoffice import charts, exports, timeline_forms
from leads.domain import two_factor
from leads.domain import invitations, ratelimit, response_time, retention, selectors, services, staff_sessions, timeline
from leads.backoffice.forms import OWNER_ME, OWNER_NONE, PAGE_SIZES, BulkActionForm, LeadEditForm, LeadFilterForm, LoginForm, StaffEditForm, InvitationForm
from leads.backoffice.followup_forms import FollowUpForm, follow_up_initial
from leads.backoffice.invitation_views import send_invitation
from leads.domain.exceptions import (
    AccessChanged, BadCursor, InvalidCredentials, LeadConflict, LeadNotFound, LoginThrottled, StaffExists, StaffNotFound,
    StorageUnavailable,
)
from leads.storage.models import STATUS_LABELS, STATUSES
from leads.backoffice.permissions import AdminRequiredMixin, StaffRequiredMixin
from leads.backoffice.templatetags.leads_extras import trash_period


def remember_device(response, staff):
    """Set the cookie saying this browser signed in to this account (guessing elsewhere cannot lock it out)."""
    response.set_cookie(
        auth.DEVICE_COOKIE, auth.device_token(staff.email), max_age=settings.LEADS_LOGIN_DEVICE_COOKIE_AGE,
        path=reverse("backoffice:login"), secure=settings.SESSION_COOKIE_SECURE or None, httponly=True, samesite="Lax",
    )
    return response


def bad_request(request, message: str):
    """A 400 page that says what was wrong with the link."""
    html = render_to_string("400.html", {"explanation": message}, request=request)
    return HttpResponseBadRequest(html)


@method_decorator([never_cache, sensitive_post_parameters("password")], name="dispatch")
class LoginView(View):
    """Sign in with email and password; repeated failures slow the guesser down for a while."""

    template_name = "backoffice/login.html"

    def get(self, request):
        if request.staff:
            return redirect(self.next_url())
        return render(request, self.template_name, {"form": LoginForm(), "next": self.next_url()})

    def post(self, request):
        form = LoginForm(request.POST)
        context = {"form": form, "next": self.next_url()}
        if not form.is_valid():
            return render(request, self.template_name, context)
        try:
            staff = auth.authenticate(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                client=ratelimit.client_key(request),
                device=request.COOKIES.get(auth.DEVICE_COOKIE),
            )
        except InvalidCredentials:
            form.add_error(None, _("That email and password do not match an active account."))
            return render(request, self.template_name, context)
        except StorageUnavailable:
            form.add_error(None, _("Sign-in is unavailable for a moment. Please try again shortly."))
            return render(request, self.template_name, context, status=503)
        except LoginThrottled as error:
            minutes = max(1, round(error.retry_after / 60))
            form.add_error(None, ngettext("Too many failed sign-in attempts. Please wait %(n)d minute and try again.",
                                          "Too many failed sign-in attempts. Please wait %(n)d minutes and try again.",
                                          minutes) % {"n": minutes})
            response = render(request, self.template_name, context, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        if two_factor.is_enabled(staff):
            # Only half signed in: the code page finishes it (leads.accounts.two_factor).
            sign_in.begin(request, staff, next_url=self.next_url())
            return redirect("backoffice:login_code")
        try:
            auth.login(request, staff)
        except AccessChanged:
            # An admin changed this account between the password check and the session write.
            request.session.flush()
            form.add_error(None, _("Your account was changed while you were signing in. Please sign in again."))
            return render(request, self.template_name, context, status=409)
        except (PynamoDBException, StorageUnavailable):
            form.add_error(None, _("Sign-in is unavailable for a moment. Please try again shortly."))
            return render(request, self.template_name, context, status=503)
        if two_factor.is_required(staff.role):
            # LEADS_REQUIRE_2FA: every other page sends them to enrolment until they have enrolled.
            messages.info(request, _("Your account needs two-factor sign-in. Set it up now to continue."))
            return remember_device(redirect("backoffice:two_factor"), staff)
        return remember_device(redirect(self.next_url()), staff)

    def next_url(self) -> str:
        """Where to go after signing in: ?next= if it is on this site, else the dashboard."""
        target = self.request.POST.get("next") or self.request.GET.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, {self.request.get_host()}, self.request.is_secure()):
            return target
        return reverse("backoffice:dashboard")


@method_decorator(never_cache, name="dispatch")
class LogoutView(View):
    """End the session (POST only, so a link or an image cannot sign anyone out)."""

    http_method_names = ["post"]

    def post(self, request):
        auth.logout(request)
        messages.success(request, _("You have signed out."))
        return redirect("backoffice:login")


DASHBOARD_DAYS = 30  # the chart's span; its heading reads it too


@method_decorator(never_cache, name="dispatch")
class DashboardView(StaffRequiredMixin, TemplateView):
    """Counts per status and leads per day for the last DASHBOARD_DAYS days."""

    template_name = "backoffice/dashboard.html"

    def get_context_data(self, **kwargs):
        numbers = selectors.dashboard(days=DASHBOARD_DAYS)
        counts = numbers.counts
        return {
            **super().get_context_data(**kwargs),
            "counts": [(status, STATUS_LABELS[status], counts[status]) for status in STATUSES],
            "total": sum(counts.values()),
            "chart": charts.daily_bar_chart(numbers.daily),
            "days": DASHBOARD_DAYS,
            "response": numbers.response,
            "response_chart": charts.response_chart(numbers.response.weeks),
            "weeks": response_time.WEEKS_SHOWN,
        }


def _filter_query(cleaned: dict, **overrides) -> str:
    """The inbox query string for these filters (cursor excluded unless given)."""
    search = cleaned.get("q")
    params = {
        "status": cleaned.get("status") or "",
        "owner": cleaned.get("owner") or "",
        "q": (f"@{search.value}" if search.kind == "domain" else search.value) if search else "",
        "from": cleaned["from"].isoformat() if cleaned.get("from") else "",
        "to": cleaned["to"].isoformat() if cleaned.get("to") else "",
        "per_page": cleaned.get("per_page") or 25,
        **overrides,
    }
    return urlencode({k: v for k, v in params.items() if v not in ("", None) and not (k == "per_page" and v == 25)})


def _quick_picks(cleaned: dict) -> list[tuple[str, str, bool]]:
    """Today, this week (from Monday) and the last 30 days, as days in the viewer's zone: (label, query, chosen)."""
    today = timezone.localdate()  # the staff member's zone (web.middleware.StaffTimeZoneMiddleware)
    picks = [(_("Today"), today), (_("This week"), today - timedelta(days=today.weekday())),
             (_("Last 30 days"), today - timedelta(days=29))]
    chosen = (cleaned.get("from"), cleaned.get("to"))
    return [(label, _filter_query(cleaned, **{"from": start.isoformat(), "to": today.isoformat()}),
             chosen == (start, today)) for label, start in picks]


def _owner_choices(chosen: str) -> list[tuple[str, str]]:
    """The owner filter's options: anyone, me, unassigned, and the address chosen on the owners page.

    Not the whole roster: that would be a second Query on every inbox page. "Another owner…" lists it.
    """
    choices = [("", _("Anyone")), (OWNER_ME, _("Assigned to me")), (OWNER_NONE, _("Unassigned"))]
    if chosen and chosen not in dict(choices):
        choices.append((chosen, chosen))
    return choices


@method_decorator(never_cache, name="dispatch")
class LeadListView(StaffRequiredMixin, View):
    """The inbox: newest first, filter by status and owner, search by email, prefix or domain, arrival dates, signed cursors."""

    template_name = "backoffice/lead_list.html"

    def get(self, request):
        form = LeadFilterForm(request.GET, viewer=request.staff.email)
        counts = selectors.status_counts()
        context = {"form": form, "page_sizes": PAGE_SIZES, "statuses": [(s, STATUS_LABELS[s]) for s in STATUSES]}
        if not form.is_valid():
            if any(name not in LeadFilterForm.TYPED_FIELDS for name in form.errors):
                return bad_request(request, _("That filter is not valid. Please start again from the inbox."))
            return render(request, self.template_name, {
                **context, "page": None, "owners": _owner_choices(form.cleaned_data.get("owner", "")),
            })
        cleaned = form.cleaned_data
        try:
            page = selectors.lead_list(
                status=cleaned["status"] or None, search=cleaned["q"], owner=form.owner_key, received=form.received,
                cursor=cleaned["cursor"] or None, page_size=cleaned["per_page"],
            )
        except BadCursor as error:
            return bad_request(request, _("%(problem)s Please start again from the first page.") % {"problem": error})
        search = cleaned["q"]
        # A prefix search stands alone (selectors._listing): a status link starts a listing without it.
        alone = {"q": ""} if search and search.kind == "prefix" else {}
        context.update(
            page=page,
            status=cleaned["status"],
            search=search,
            owners=_owner_choices(cleaned["owner"]),
            owners_query=_filter_query(cleaned, q="", owner=""),
            query_base=_filter_query(cleaned),
            next_query=page.next_cursor and _filter_query(cleaned, cursor=page.next_cursor),
            previous_query=page.previous_cursor and _filter_query(cleaned, cursor=page.previous_cursor),
            filter_links=[("", _("All"), sum(counts.values()), _filter_query(cleaned, status="", **alone))]
            + [(s, STATUS_LABELS[s], counts[s], _filter_query(cleaned, status=s, **alone)) for s in STATUSES],
            quick_picks=[] if alone else _quick_picks(cleaned),
            dates_query=_filter_query(cleaned, **{"from": "", "to": ""}),
        )
        return render(request, self.template_name, context)


@method_decorator(never_cache, name="dispatch")
class LeadOwnersView(StaffRequiredMixin, View):
    """Pick an owner to filter the inbox by: me, nobody, or anyone on the staff (one Query on the roster).

    The inbox's other filters (status, dates, page size) ride along; a search does not combine with an owner.
    """

    template_name = "backoffice/lead_owners.html"

    def get(self, request):
        form = LeadFilterForm(request.GET, viewer=request.staff.email)
        if not form.is_valid():
            return bad_request(request, _("That filter is not valid. Please start again from the inbox."))
        cleaned = form.cleaned_data
        choices = [(_("Assigned to me"), OWNER_ME), (_("Unassigned"), OWNER_NONE)]
        choices += [(f"{member.display_name} ({member.email})" if member.name else member.email, member.email)
                    for member in selectors.staff_list()]
        return render(request, self.template_name, {
            "owners": [(label, _filter_query(cleaned, owner=value, q=""), value == cleaned["owner"])
                       for label, value in choices],
            "back": _filter_query(cleaned),
        })


@method_decorator(never_cache, name="dispatch")
class LeadExportView(StaffRequiredMixin, View):
    """The current filter as CSV, streamed page by page."""

    def get(self, request):
        form = LeadFilterForm(request.GET, viewer=request.staff.email)
        if not form.is_valid():
            return bad_request(request, _("That filter is not valid."))
        leads = selectors.lead_export(status=form.cleaned_data["status"] or None, search=form.cleaned_data["q"],
                                      owner=form.owner_key, received=form.received)
        # The zone the page shows (the active one, from the session), named in the CSV's last column.
        zone = timezone.get_current_timezone_name()
        response = StreamingHttpResponse(exports.csv_lines(leads, time_zone=zone), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="leads.csv"'
        return response


@method_decorator(never_cache, name="dispatch")
class LeadBulkView(StaffRequiredMixin, View):
    """Bulk actions on selected rows: a confirmation page listing what will change, then apply."""

    http_method_names = ["post"]
    template_name = "backoffice/bulk_confirm.html"

    def post(self, request):
        form = BulkActionForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(self.back_url())
        action, lead_ids = form.cleaned_data["action"], form.cleaned_data["ids"]
        if action == "delete" and not request.staff.is_admin:
            raise PermissionDenied("Only admins can delete leads.")
        if not form.cleaned_data["confirm"]:
            leads = selectors.leads_get_many(lead_ids=lead_ids)
            return render(request, self.template_name, {
                "leads": leads, "action": action, "status": form.cleaned_data["status"], "back": self.back_url(),
                "missing": len(lead_ids) - len(leads),
            })
        actor = request.staff.email
        if action == "delete":
            result = services.lead_bulk_delete(lead_ids=lead_ids, actor=actor)
            done = ngettext("Moved %(n)d lead to Recently deleted.", "Moved %(n)d leads to Recently deleted.",
                            len(result.done)) % {"n": len(result.done)}
        else:
            result = services.lead_bulk_set_status(lead_ids=lead_ids, status=form.cleaned_data["status"], actor=actor)
            label = STATUS_LABELS[form.cleaned_data["status"]]
            done = ngettext("Set %(n)d lead to %(label)s.", "Set %(n)d leads to %(label)s.",
                            len(result.done)) % {"n": len(result.done), "label": label}
        messages.success(request, done)
        if result.conflicts:
            messages.warning(request, ngettext(
                "%(n)d lead was changed by someone else meanwhile and was left alone.",
                "%(n)d leads were changed by someone else meanwhile and were left alone.",
                len(result.conflicts)) % {"n": len(result.conflicts)})
        if result.missing:
            messages.warning(request, ngettext("%(n)d lead no longer exists.", "%(n)d leads no longer exist.",
                                               len(result.missing)) % {"n": len(result.missing)})
        return redirect(self.back_url())

    def back_url(self) -> str:
        back = self.request.POST.get("back", "")
        if back.startswith(reverse("backoffice:lead_list")) and url_has_allowed_host_and_scheme(back, set()):
            return back
        return reverse("backoffice:lead_list")


def reposted(data, conflict: LeadConflict):
    """A posted form again, against the lead's current version: sending it once more applies it."""
    posted = data.copy()
    posted["version"] = str(conflict.current.version)
    return posted


def _lead_or_404(lead_id: str):
    """The lead, or a 404 page if there is none with this id."""
    try:
        return selectors.lead_get(lead_id=lead_id)
    except LeadNotFound:
        raise Http404("No lead with this id.") from None


@method_decorator(never_cache, name="dispatch")
class LeadDetailView(StaffRequiredMixin, View):
    """One lead: every field, the edit form, and its history."""

    template_name = "backoffice/lead_detail.html"

    def get(self, request, lead_id):
        lead = _lead_or_404(lead_id)
        return self.render_page(lead, self.edit_form(lead))

    def conflict_page(self, conflict: LeadConflict, *, since: int, message: str, form=None, **forms):
        """409: the lead as it is now, what others changed since version `since`, and this person's form again."""
        # Keep what this person typed; show what the other person changed; sending it again applies it.
        current = conflict.current
        messages.error(self.request, message)
        missed = selectors.lead_history_since(lead_id=current.lead_id, version=since)
        return self.render_page(current, form or self.edit_form(current), missed=missed, status=409, **forms)

    def edit_form(self, lead) -> LeadEditForm:
        """The edit form as the lead is now (its old `notes` field is no longer shown: the timeline has notes)."""
        return LeadEditForm(initial={"status": lead.status, "owner": lead.owner, "version": lead.version},
                            staff=self.staff)

    def post(self, request, lead_id):
        lead = _lead_or_404(lead_id)
        form = LeadEditForm(request.POST, staff=self.staff)
        if not form.is_valid():
            return self.render_page(lead, form)
        data = form.cleaned_data
        try:
            # A non-empty `notes` (the edit form's contract) becomes a note in the timeline.
            lead, changes, noted = timeline.lead_edit(
                lead_id=lead_id, expected_version=data["version"], actor=request.staff.email, current=lead,
                status=data["status"], notes=data["notes"], owner=data["owner"],
            )
        except LeadNotFound:
            raise Http404("This lead was deleted.") from None
        except LeadConflict as conflict:
            return self.conflict_page(conflict, since=data["version"], message=_(
                "Someone else saved this lead while you were editing. Nothing was overwritten: review their changes "
                "below, then save again to apply yours."),
                form=LeadEditForm(reposted(request.POST, conflict), staff=self.staff))
        except StorageUnavailable:
            messages.error(request, _("The lead could not be saved just now. Your changes are still in the form; please try again."))
            return self.render_page(lead, form, status=503)
        messages.success(request, _("Saved.") if changes or noted else _("No changes to save."))
        return redirect("backoffice:lead_detail", lead_id=lead_id)

    @cached_property
    def staff(self):
        """Everyone a lead can be assigned to (one Query per request, shared by form and page)."""
        return selectors.staff_list()

    def render_page(self, lead, form, *, missed=None, status=200, follow_up_form=None, note_form=None,
                    reply_form=None):
        if follow_up_form is None:
            follow_up_form = FollowUpForm(initial=follow_up_initial(lead), auto_id="followup_%s")
        history = selectors.lead_history(lead_id=lead.lead_id)
        return render(self.request, self.template_name, {
            "lead": lead, "form": form, "missed": missed, "follow_up_form": follow_up_form,
            "staff_names": {s.email: s.display_name for s in self.staff},
            "history": history,
            "keeping": retention.keeping(lead.expires_at),  # None with retention off
            "answered_after": response_time.response_seconds(lead),
            "waiting_for": (timezone.now() - lead.created_at).total_seconds() if response_time.is_waiting(lead) else None,
            # The timeline's forms (leads.backoffice.timeline_views), and old notes not yet carried over.
            "note_form": note_form or timeline_forms.note_form(),
            "reply_form": reply_form or timeline_forms.reply_form(lead),
            "legacy_notes": timeline.legacy_notes(lead, history),
        }, status=status)


def _time_label(moment) -> str:
    """A time as the pages show it: in the staff member's zone, named ("2026-11-01 10:30 CET")."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


@method_decorator(never_cache, name="dispatch")
class LeadExtendView(StaffRequiredMixin, View):
    """"Keep for another N days" (POST, sales and admin): the lead's retention counted afresh from today."""

    http_method_names = ["post"]

    def post(self, request, lead_id):
        if not retention.enabled():
            raise Http404("Leads are kept without a time limit here.")
        try:
            lead, extended = services.lead_retention_extend(lead_id=lead_id, actor=request.staff.email)
        except LeadNotFound:
            raise Http404("No lead with this id.") from None
        except LeadConflict:
            messages.error(request, _("Someone else saved this lead just now, so it was not kept longer. "
                                    "Nothing was overwritten; please try again."))
            return redirect("backoffice:lead_detail", lead_id=lead_id)
        until = _time_label(lead.expires_at)
        if extended:
            messages.success(request, _("Kept until %(date)s.") % {"date": until})
        else:
            messages.info(request, _("It is already kept until %(date)s: it saw activity today.") % {"date": until})
        return redirect("backoffice:lead_detail", lead_id=lead_id)


@method_decorator(never_cache, name="dispatch")
class LeadDeleteView(AdminRequiredMixin, View):
    """GET asks for confirmation; POST moves the lead to Recently deleted."""

    template_name = "backoffice/lead_delete.html"

    def get(self, request, lead_id):
        return render(request, self.template_name, {"lead": _lead_or_404(lead_id)})

    def post(self, request, lead_id):
        try:
            lead = services.lead_delete(lead_id=lead_id, actor=request.staff.email)
        except LeadNotFound:
            raise Http404("No lead with this id.") from None
        except LeadConflict:
            messages.error(request, _("Someone else changed this lead just now; it was not deleted. Please check it again."))
            return redirect("backoffice:lead_detail", lead_id=lead_id)
        messages.success(request, _("Deleted the lead from %(email)s. You can restore it from Recently deleted for %(period)s.")
                         % {"email": lead.email, "period": trash_period()})
        return redirect("backoffice:lead_list")


@method_decorator(never_cache, name="dispatch")
class TrashView(AdminRequiredMixin, TemplateView):
    """Recently deleted leads, restorable for TRASH_DAYS days."""

    template_name = "backoffice/trash.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "trashed": selectors.trash_list()}


@method_decorator(never_cache, name="dispatch")
class LeadRestoreView(AdminRequiredMixin, View):
    """Bring a deleted lead back (POST)."""

    http_method_names = ["post"]

    def post(self, request, lead_id):
        try:
            lead = services.lead_restore(lead_id=lead_id, actor=request.staff.email)
        except LeadNotFound:
            messages.error(request, _("That lead can no longer be restored."))
            return redirect("backoffice:trash")
        messages.success(request, _("Restored the lead from %(email)s.") % {"email": lead.email})
        return redirect("backoffice:lead_detail", lead_id=lead_id)


@method_decorator(never_cache, name="dispatch")
class StaffListView(AdminRequiredMixin, View):
    """Everyone who can sign in, pending invitations, and a form to invite someone."""

    template_name = "backoffice/staff_list.html"

    def get(self, request):
        return self.render_page(InvitationForm())

    def post(self, request):
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation, token = invitations.invitation_create(**form.cleaned_data, invited_by=request.staff.email)
            except StaffExists:
                form.add_error("email", _("There is already an account with this email."))
            except StorageUnavailable:
                form.add_error(None, _("The invitation could not be saved just now. Please try again in a moment."))
                return self.render_page(form, status=503)
            else:
                send_invitation(request, invitation, token)
                return redirect("backoffice:staff_list")
        return self.render_page(form)

    def render_page(self, form, *, status=200):
        return render(self.request, self.template_name, {
            "staff": selectors.staff_list(), "invitations": invitations.invitation_list(), "form": form,
            "invitation_days": settings.LEADS_INVITATION_DAYS,
        }, status=status)


@method_decorator(never_cache, name="dispatch")
class StaffEditView(AdminRequiredMixin, View):
    """Change someone's name, role or access (their password is theirs alone)."""

    template_name = "backoffice/staff_edit.html"

    def get(self, request, email):
        member = self.get_member(email)
        return self.render_page(member, StaffEditForm(initial={"name": member.name, "role": member.role, "active": member.active}))

    def post(self, request, email):
        member = self.get_member(email)
        form = StaffEditForm(request.POST)
        if not form.is_valid():
            return self.render_page(member, form)
        if member.email == request.staff.email and (form.cleaned_data["role"] != "admin" or not form.cleaned_data["active"]):
            form.add_error(None, _("You cannot remove your own admin access; ask another admin."))
            return self.render_page(member, form)
        try:
            services.staff_update(email=member.email, **form.cleaned_data)
        except StaffNotFound:
            raise Http404("This staff member was removed meanwhile.") from None
        messages.success(request, _("Saved %(email)s.") % {"email": member.email})
        return redirect("backoffice:staff_list")

    def get_member(self, email):
        member = selectors.staff_get(email=email)
        if member is None:
            raise Http404("No staff member with this email.")
        return member

    def render_page(self, member, form):
        return render(self.request, self.template_name, {
            "member": member, "form": form, "two_factor_on": two_factor.is_enabled(member),
            "sessions": staff_sessions.sessions_of(
                email=member.email,
                current_key=self.request.session.session_key if member.email == self.request.staff.email else None),
        })

