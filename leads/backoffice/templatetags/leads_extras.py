"""Template helpers for the staff pages."""
from django import template
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.text import Truncator
from django.utils.timezone import localtime

from leads.storage.models import STATUS_LABELS

register = template.Library()

_ROW = (
    '<tr><td><input type="checkbox" name="ids" value="{id}" aria-label="Select lead from {email}"></td>'
    '<td class="nowrap"><a href="{url}">{received}</a></td><td><a href="{url}">{name}</a></td><td>{email}</td>'
    '<td class="optional-col">{company}</td><td class="optional-col">{subject}</td>'
    '<td><span class="badge {status}">{label}</span></td><td class="optional-col">{owner}</td></tr>'
)


@register.filter
def get_item(mapping, key):
    """``{{ labels|get_item:lead.status }}``: look a key up in a dict."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.simple_tag
def lead_rows(leads):
    """The inbox's rows, escaped, in one pass: through the template engine each row cost ~0.1 ms."""
    prefix = reverse("backoffice:lead_detail", args=["0" * 32])[:-33]  # "/admin/leads/", reversed once
    return format_html_join("\n", _ROW, (
        {"id": lead.lead_id, "url": f"{prefix}{lead.lead_id}/", "email": lead.email, "name": lead.name,
         "received": localtime(lead.created_at).strftime("%Y-%m-%d %H:%M"), "company": lead.company or "",
         "subject": Truncator(lead.subject).chars(60), "status": lead.status,
         "label": STATUS_LABELS.get(lead.status, ""), "owner": lead.owner or ""}
        for lead in leads
    ))
