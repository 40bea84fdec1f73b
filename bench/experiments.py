"""Proposed app fixes, applied as monkeypatches so the bench can measure them before the app has them.

    python -m bench.run --app-patches rows,iso

serves a fourth gunicorn, "app + fixes" (bench/experiments_wsgi.py: the app with these patches), in
the same interleaved load rounds as the app, the floor and the ceiling. Nothing here is imported by the
app; each patch stands for a change proposed in bench/findings.md, to be made in the app itself.

rows   the inbox's table rows built in Python (format_html_join in a template tag) instead of a
       25–100-iteration template loop with two {% url %} tags, |date and |truncatechars per row
iso    IsoDateTimeAttribute.deserialize with datetime.fromisoformat (0.1 µs) instead of strptime (6 µs)
"""
import re
import tempfile
from datetime import datetime
from pathlib import Path

from .common import ROOT

ROW = (
    '<tr><td><input type="checkbox" name="ids" value="{id}" aria-label="Select lead from {email}"></td>'
    '<td class="nowrap"><a href="{url}">{received}</a></td><td><a href="{url}">{name}</a></td><td>{email}</td>'
    '<td class="optional-col">{company}</td><td class="optional-col">{subject}</td>'
    '<td><span class="badge {status}">{label}</span></td><td class="optional-col">{owner}</td></tr>'
)


def _rows() -> None:
    from django.conf import settings
    from django.urls import reverse
    from django.utils.html import format_html_join
    from django.utils.text import Truncator
    from django.utils.timezone import localtime

    from leads.models import STATUS_LABELS
    from leads.templatetags.leads_extras import register

    @register.simple_tag
    def lead_rows(leads):
        """The inbox rows in one pass of Python; the template engine costs ~0.1 ms a row."""
        prefix = reverse("staff:lead_detail", args=["0" * 32])[:-33]
        return format_html_join("\n", ROW, (
            {"id": lead.lead_id, "url": f"{prefix}{lead.lead_id}/", "email": lead.email, "name": lead.name,
             "received": localtime(lead.created_at).strftime("%Y-%m-%d %H:%M"), "company": lead.company or "",
             "subject": Truncator(lead.subject).chars(60), "status": lead.status,
             "label": STATUS_LABELS.get(lead.status, ""), "owner": lead.owner or ""}
            for lead in leads
        ))

    source = (ROOT / "templates" / "admin" / "lead_list.html").read_text()
    loop = re.search(r"\{% for lead in page\.leads %\}(.*?)\{% empty %\}(.*?)\{% endfor %\}", source, re.S)
    if loop is None:
        raise RuntimeError("templates/admin/lead_list.html no longer has the row loop the 'rows' patch replaces")
    patched = source.replace(loop.group(0), "{% lead_rows page.leads %}{% if not page.leads %}" + loop.group(2) + "{% endif %}")
    directory = Path(tempfile.mkdtemp(prefix="leads-bench-templates-"))
    (directory / "admin").mkdir()
    (directory / "admin" / "lead_list.html").write_text(patched)
    settings.TEMPLATES[0]["DIRS"] = [directory, *settings.TEMPLATES[0]["DIRS"]]


def _iso() -> None:
    from leads.models import IsoDateTimeAttribute

    IsoDateTimeAttribute.deserialize = lambda self, value: datetime.fromisoformat(value)


PATCHES = {"rows": _rows, "iso": _iso}


def apply(names) -> list[str]:
    """Apply the named patches (after django.setup(), before the first request); return their names."""
    applied = []
    for name in filter(None, (n.strip() for n in names)):
        PATCHES[name]()
        applied.append(name)
    return applied
