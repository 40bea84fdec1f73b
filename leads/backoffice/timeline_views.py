"""The lead page's timeline: add a note, reply to the visitor by email, retry a reply that failed. HTTP only."""

import re

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.cache import never_cache
from pynamodb.exceptions import PynamoDBException

from leads.backoffice.timeline_forms import NoteForm, ReplyForm
from leads.backoffice.views import LeadDetailView, _lead_or_404, reposted
from leads.domain import replies, timeline
from leads.domain.exceptions import LeadConflict, LeadNotFound, StorageUnavailable

EVENT_ID = re.compile(r"^[0-9T:.\-Z]{20,32}#[0-9a-z\-]{1,40}$")


def _timeline_url(lead_id: str) -> str:
    return reverse("backoffice:lead_detail", kwargs={"lead_id": lead_id}) + "#timeline"


class _TimelinePost(LeadDetailView):
    """A POST from the lead page's timeline: DynamoDB out of reach shows the form again, text and token kept."""

    http_method_names = ["post"]
    form_class = NoteForm
    unavailable = ""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except (StorageUnavailable, PynamoDBException):
            # Even when the session could not be read: the text goes back to the person who just sent it,
            # in a form that posts it again with the same token (so it is stored and sent at most once).
            form = self.form_class(request.POST)
            response = render(request, "backoffice/timeline_unavailable.html", {
                "form": form, "explanation": self.unavailable, "action": request.path,
                "back": _timeline_url(kwargs["lead_id"]),
            }, status=503)
            response["Retry-After"] = "30"
            return response

    def lead_page(self, lead, **forms):
        """The lead page again, with this form's errors (the rest of the page as a GET shows it)."""
        for form in forms.values():
            form.renew_expired_token()
        return self.render_page(lead, self.edit_form(lead), **forms)


@method_decorator(never_cache, name="dispatch")
class LeadNoteView(_TimelinePost):
    """Add a note to the lead's timeline (POST)."""

    unavailable = gettext_lazy("The note could not be saved just now. It is below: send it again in a moment.")

    def post(self, request, lead_id):
        form = NoteForm(request.POST)
        if not form.is_valid():
            return self.lead_page(_lead_or_404(lead_id), note_form=form)
        try:
            timeline.note_add(lead_id=lead_id, actor=request.staff.email, text=form.cleaned_data["text"],
                              form_id=form.cleaned_data["token"])
        except LeadNotFound:
            raise Http404("This lead was deleted.") from None
        messages.success(request, _("Note added."))
        return redirect(_timeline_url(lead_id))


@method_decorator(never_cache, name="dispatch")
class LeadReplyView(_TimelinePost):
    """Email the visitor from the lead page (POST): recorded in the timeline, sent once, retried by hand."""

    form_class = ReplyForm
    unavailable = gettext_lazy("The reply could not be saved just now, so it was not sent. It is below: send it "
                               "again in a moment (it is never sent twice).")

    def post(self, request, lead_id):
        lead = _lead_or_404(lead_id)
        form = ReplyForm(request.POST)
        if not form.is_valid():
            return self.lead_page(lead, reply_form=form)
        data = form.cleaned_data
        staff = request.staff
        try:
            outcome = replies.reply_send(
                lead=lead, expected_version=data["version"], sender=replies.Sender(email=staff.email, name=staff.name),
                subject=data["subject"], text=data["text"], form_id=data["token"],
            )
        except LeadNotFound:
            raise Http404("This lead was deleted.") from None
        except LeadConflict as conflict:
            return self.conflict_page(conflict, since=data["version"], message=_(
                "Someone else changed this lead while you were writing. Your reply was not sent: review their "
                "changes below, then send it again."), reply_form=ReplyForm(reposted(request.POST, conflict)))
        _tell(request, outcome)
        return redirect(_timeline_url(lead_id))


@method_decorator(never_cache, name="dispatch")
class LeadReplyRetryView(_TimelinePost):
    """Send a reply that failed again (POST, its entry's id): from its author, never twice."""

    form_class = NoteForm  # no text travels with a retry: the stored reply holds it

    def dispatch(self, request, *args, **kwargs):
        return super(_TimelinePost, self).dispatch(request, *args, **kwargs)

    def post(self, request, lead_id):
        event_id = request.POST.get("entry", "")
        if not EVENT_ID.match(event_id):
            raise Http404("No such reply.")
        names = {member.email: member.name for member in self.staff}
        try:
            outcome = replies.reply_retry(
                lead_id=lead_id, event_id=event_id,
                sender_for=lambda actor: replies.Sender(email=actor, name=names.get(actor, "")),
            )
        except LeadNotFound:
            raise Http404("No such reply.") from None
        _tell(request, outcome)
        return redirect(_timeline_url(lead_id))


def _tell(request, outcome: str) -> None:
    """Say what became of a reply."""
    if outcome == replies.SENT:
        messages.success(request, _("Reply sent."))
    elif outcome == replies.FAILED:
        messages.error(request, _("The email could not be sent. Your reply is kept in the timeline below: "
                                  "use Retry to send it again."))
    elif outcome == replies.DUPLICATE:
        messages.info(request, _("This reply was already submitted; the timeline shows what became of it."))
    elif outcome == replies.BUSY:
        messages.info(request, _("This reply was already sent, or is being sent."))
    else:
        messages.warning(request, _("The reply was sent, but could not be recorded as sent; the timeline may "
                                    "show it as not confirmed."))
