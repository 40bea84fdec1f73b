"""Follow-ups: set or clear a lead's follow-up date, and the "Due today" and "Overdue" lists. HTTP only."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _, gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache

from leads.backoffice.followup_forms import MINE, UNASSIGNED, FollowUpFilterForm, FollowUpForm
from leads.backoffice.permissions import StaffRequiredMixin
from leads.backoffice.views import LeadDetailView, _lead_or_404, bad_request, reposted
from leads.domain import followups, selectors, services
from leads.domain.exceptions import BadCursor, LeadConflict, LeadNotFound, StorageUnavailable

TITLES = {followups.TODAY: gettext_lazy("Due today"), followups.OVERDUE: gettext_lazy("Overdue")}


@method_decorator(never_cache, name="dispatch")
class LeadFollowUpView(LeadDetailView):
    """Set (a date, optionally a time, in the staff member's zone) or clear a lead's follow-up (POST)."""

    http_method_names = ["post"]

    def post(self, request, lead_id):
        lead = _lead_or_404(lead_id)
        posted = request.POST.copy()
        if "clear" in posted:  # the Clear button: whatever the fields hold
            posted["due_date"] = posted["due_time"] = ""
        form = FollowUpForm(posted, auto_id="followup_%s")
        if not form.is_valid():
            return self.render_page(lead, self.edit_form(lead), follow_up_form=form)
        data = form.cleaned_data
        due_at = all_day = None
        if data["due_date"]:
            due_at = followups.due_moment(day=data["due_date"], at=data["due_time"],
                                          zone=timezone.get_current_timezone_name())
            all_day = True if data["due_time"] is None else None  # stored only when true
        try:
            lead, changes = services.lead_update(
                lead_id=lead_id, expected_version=data["version"], actor=request.staff.email, current=lead,
                due_at=due_at, due_all_day=all_day,
            )
        except LeadNotFound:
            raise Http404("This lead was deleted.") from None
        except LeadConflict as conflict:
            return self.conflict_page(conflict, since=data["version"], message=_(
                "Someone else saved this lead while you were editing. Nothing was overwritten: review their changes "
                "below, then save again to apply yours."),
                follow_up_form=FollowUpForm(reposted(posted, conflict), auto_id="followup_%s"))
        except StorageUnavailable:
            messages.error(request, _("The follow-up could not be saved just now. Please try again."))
            return self.render_page(lead, self.edit_form(lead), follow_up_form=form, status=503)
        if not changes:
            messages.success(request, _("No changes to save."))
        elif due_at:
            messages.success(request, _("Follow-up set."))
        else:
            messages.success(request, _("Follow-up cleared."))
        return redirect("backoffice:lead_detail", lead_id=lead_id)


def _list_query(owner: str, per_page: int, **extra) -> str:
    """A follow-up list's query string (defaults left out)."""
    params = {"owner": owner, "per_page": per_page if per_page != 25 else "", **extra}
    return urlencode({k: v for k, v in params.items() if v})


@method_decorator(never_cache, name="dispatch")
class FollowUpListView(StaffRequiredMixin, View):
    """One owner's follow-ups due today or overdue (yours unless another owner is chosen), soonest first."""

    template_name = "backoffice/followup_list.html"
    view = followups.TODAY

    def get(self, request):
        form = FollowUpFilterForm(request.GET, staff=self.staff)
        if not form.is_valid():
            return bad_request(request, _("That filter is not valid. Please start again from the list."))
        owner, per_page, cursor = form.cleaned_data["owner"], form.cleaned_data["per_page"], form.cleaned_data["cursor"]
        owner_email = request.staff.email if owner == MINE else None if owner == UNASSIGNED else owner
        try:
            page = followups.follow_up_list(view=self.view, owner=owner_email, cursor=cursor or None,
                                            zone=timezone.get_current_timezone_name(), page_size=per_page)
        except BadCursor as error:
            return bad_request(request, _("%(problem)s Please start again from the first page.") % {"problem": error})
        return render(request, self.template_name, {
            "form": form, "page": page, "view": self.view, "title": TITLES[self.view],
            "owner": owner, "owner_choices": form.fields["owner"].choices,
            "staff_names": {s.email: s.display_name for s in self.staff},
            "query_base": _list_query(owner, per_page),
            "owner_query": _list_query(owner, 25),
            "next_query": page.next_cursor and _list_query(owner, per_page, cursor=page.next_cursor),
            "previous_query": page.previous_cursor and _list_query(owner, per_page, cursor=page.previous_cursor),
        })

    @cached_property
    def staff(self):
        """Everyone a follow-up can belong to (one Query), for the owner choice."""
        return selectors.staff_list()


class OverdueListView(FollowUpListView):
    """Follow-ups whose time has passed."""

    view = followups.OVERDUE
