"""One's own preferences (/admin/account/preferences/): time zone and language. HTTP only."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from leads.accounts import auth
from leads.backoffice.forms import PreferencesForm
from leads.backoffice.permissions import StaffRequiredMixin
from leads.domain import services
from leads.domain.exceptions import InvalidPreference, StaffNotFound, StorageUnavailable


@method_decorator(never_cache, name="dispatch")
class PreferencesView(StaffRequiredMixin, View):
    """Any signed-in staff member picks their time zone and language; this session uses them at once."""

    template_name = "backoffice/preferences.html"

    def get(self, request):
        # The session holds the account's choices (copied at sign-in): no read of the account.
        return self.render_page(PreferencesForm(initial={
            "time_zone": request.session.get(auth.STAFF_TZ_KEY), "language": request.session.get(auth.STAFF_LANG_KEY, ""),
        }))

    def post(self, request):
        form = PreferencesForm(request.POST)
        if not form.is_valid():
            return self.render_page(form)
        time_zone, language = form.cleaned_data["time_zone"], form.cleaned_data["language"]
        try:
            services.staff_set_preferences(email=request.staff.email, time_zone=time_zone, language=language)
        except StaffNotFound:
            auth.logout(request)
            return redirect("backoffice:login")
        except InvalidPreference:  # the form offers only valid ones; this is a defence, not a path
            form.add_error(None, "That time zone or language is not available.")
            return self.render_page(form)
        except StorageUnavailable:
            form.add_error(None, "Your preferences could not be saved just now. Please try again in a moment.")
            return self.render_page(form, status=503)
        auth.remember_preferences(request, time_zone=time_zone, language=language)
        messages.success(request, "Your preferences were saved.")
        return redirect("backoffice:account_preferences")

    def render_page(self, form, *, status=200):
        return render(self.request, self.template_name, {"form": form}, status=status)
