"""Template helpers for the staff pages."""
from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import gettext, gettext_lazy as _, ngettext

from leads.domain import services
from leads.storage.models import STATUS_LABELS

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``{{ staff_names|get_item:event.actor }}``: look a key up in a dict."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.simple_tag
def inbox_rows(leads) -> list[dict[str, str]]:
    """What each inbox row shows of a lead, as strings: half the cost of template filters (BENCHMARKS.md, findings)."""
    # Per page, not per row: a lead's page is its id under the inbox's URL (one reverse, not 25), the status
    # labels are translated once, and each checkbox's label is formatted from one translated string (a
    # {% blocktranslate %} a row cost the inbox about half a millisecond: BENCHMARKS.md, "Where the time goes").
    inbox_url = reverse("backoffice:lead_list")
    labels = {status: str(label) for status, label in STATUS_LABELS.items()}
    select_label = gettext("Select lead from %(email)s")
    return [
        {"id": lead.lead_id, "url": f"{inbox_url}{lead.lead_id}/", "email": lead.email, "name": lead.name,
         "select_label": select_label % {"email": lead.email},
         "received": localtime(lead.created_at).strftime("%Y-%m-%d %H:%M %Z"), "company": lead.company or "",
         "subject": Truncator(lead.subject).chars(60), "status": lead.status,
         "label": labels.get(lead.status, ""), "owner": lead.owner or ""}
        for lead in leads
    ]


# The staff menu (templates/backoffice/base.html): URL name, label, for admins only. The first group sits left of
# the signed-in name, the second (one's own account) right of it.
STAFF_MENU = (
    ("backoffice:dashboard", _("Dashboard"), False), ("backoffice:lead_list", _("Leads"), False),
    ("backoffice:followups_today", _("Due today"), False), ("backoffice:followups_overdue", _("Overdue"), False),
    ("backoffice:trash", _("Recently deleted"), True), ("backoffice:staff_list", _("Staff"), True),
    ("backoffice:privacy", _("Privacy"), True), ("backoffice:webhooks", _("Webhooks"), True),
)
ACCOUNT_MENU = (
    ("backoffice:two_factor", _("Two-factor"), False), ("backoffice:password_change", _("Your account"), False),
    ("backoffice:account_preferences", _("Preferences"), False), ("backoffice:account_sessions", _("Sessions"), False),
)


@lru_cache(maxsize=8)
def _menu_urls(script_prefix: str) -> dict[str, str]:
    """Every menu link's URL under this script prefix (reverse() prepends it), reversed once a process."""
    return {name: reverse(name) for name, _label, _admin in STAFF_MENU + ACCOUNT_MENU}


@register.simple_tag
def staff_menu(staff) -> dict[str, list[tuple[str, str]]]:
    """The staff menu's (URL, label) links this staff member may follow: twelve reverses a page saved on
    every staff page (BENCHMARKS.md, "Where the time goes")."""
    urls = _menu_urls(get_script_prefix())

    def links(menu):
        return [(urls[name], label) for name, label, admin_only in menu if staff.is_admin or not admin_only]
    return {"main": links(STAFF_MENU), "account": links(ACCOUNT_MENU)}


@register.filter
def status_label(status):
    """``{{ lead.status|status_label }}``: "contacted" → "Contacted"."""
    return STATUS_LABELS.get(status, "")


@register.simple_tag
def trash_period():
    """How long a deleted lead can be restored, as words ("30 days"), from the one constant."""
    days = services.TRASH_DAYS
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


@register.filter
def duration(seconds):
    """``{{ seconds|duration }}``: a time span in words, to the minute ("3 h 12 min", "2 days 4 h")."""
    if seconds is None:
        return ""
    minutes = int(seconds // 60)
    if minutes < 1:
        return gettext("under a minute")
    if minutes < 60:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
        return gettext("%(hours)d h") % {"hours": hours}
    days, hours = divmod(hours, 24)
    if hours:
        return ngettext("%(days)d day %(hours)d h", "%(days)d days %(hours)d h", days) % {"days": days, "hours": hours}
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


@register.filter
def percentile_range(percentile):
    """``{{ week.median|percentile_range }}``: the histogram bucket a percentile lies in ("2 h – 3 h")."""
    if percentile is None:
        return ""
    if percentile.upper is None:
        return gettext("%(lower)s or more") % {"lower": duration(percentile.lower)}
    if not percentile.lower:
        return gettext("under %(upper)s") % {"upper": duration(percentile.upper)}
    return gettext("%(lower)s – %(upper)s") % {"lower": duration(percentile.lower), "upper": duration(percentile.upper)}
