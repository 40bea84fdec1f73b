"""The inbox view (selectors stubbed: no DynamoDB) with its template row loop vs the Python rows it replaced."""
# `python -m bench.rows [N]`: for 25 and 100 rows a page, the median of N interleaved renders of the old Python rows
# (`python`), the app's template loop (`template`) and the row as an `{% include %}` (`include`), ratios to `python`.
import os
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from .common import interleaved, median

os.environ.update({"DEBUG": "0", "SECRET_KEY": "bench-only-not-a-secret", "DYNAMODB_ENDPOINT": "aws",
                   "AWS_REGION": "us-east-1", "LOG_FORMAT": "text", "DJANGO_SETTINGS_MODULE": "leadsite.settings"})
import django  # noqa: E402

django.setup()
from django import template  # noqa: E402
from django.conf import settings  # noqa: E402
from django.template import engines  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils.html import format_html_join  # noqa: E402
from django.utils.text import Truncator  # noqa: E402
from django.utils.timezone import localtime  # noqa: E402

from leads.backoffice.views import LeadListView  # noqa: E402
from leads.domain import selectors  # noqa: E402
from leads.storage.models import STATUS_LABELS, STATUSES, Lead  # noqa: E402

# Plain static URLs: the production manifest needs `collectstatic`, and costs every variant the same.
settings.STORAGES = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# The inbox's row loop: {% inbox_rows %}, then {% for row in rows %} <row> {% empty %} … {% endfor %}.
LOOP = re.compile(r"\{% inbox_rows page\.leads as rows %\}\s*\{% for row in rows %\}"
                  r"(.*?)(\{% empty %\}.*?)\{% endfor %\}", re.S)
# The yardstick: the `lead_rows` tag the template replaced (commit 40829f0), as it was.
OLD_ROW = (
    '<tr><td><input type="checkbox" name="ids" value="{id}" aria-label="Select lead from {email}"></td>'
    '<td class="nowrap"><a href="{url}">{received}</a></td><td><a href="{url}">{name}</a></td><td>{email}</td>'
    '<td class="optional-col">{company}</td><td class="optional-col">{subject}</td>'
    '<td><span class="badge {status}">{label}</span></td><td class="optional-col">{owner}</td></tr>'
)
old_tags = template.Library()


@old_tags.simple_tag
def python_rows(leads):
    """The old tag: rows by format_html_join, the detail URL prefix sliced from a placeholder reverse."""
    prefix = reverse("backoffice:lead_detail", args=["0" * 32])[:-33]
    return format_html_join("\n", OLD_ROW, (
        {"id": lead.lead_id, "url": f"{prefix}{lead.lead_id}/", "email": lead.email, "name": lead.name,
         "received": localtime(lead.created_at).strftime("%Y-%m-%d %H:%M"), "company": lead.company or "",
         "subject": Truncator(lead.subject).chars(60), "status": lead.status,
         "label": STATUS_LABELS.get(lead.status, ""), "owner": lead.owner or ""}
        for lead in leads
    ))


def variant_views(directory: Path) -> dict:
    """The inbox view with each way's template (the other two written beside the app's inbox): variant → view."""
    engine = engines["django"].engine
    source = engine.get_template("backoffice/lead_list.html").source
    found = LOOP.search(source)
    assert found, "the inbox's row loop changed; update LOOP"
    row, empty = found.groups()
    texts = {"python": LOOP.sub(lambda _: "{% python_rows page.leads %}{% if not page.leads %}"
                                + empty.removeprefix("{% empty %}") + "{% endif %}", source),
             "include": LOOP.sub(lambda _: '{% inbox_rows page.leads as rows %}{% for row in rows %}'
                                 '{% include "row.html" %}' + empty + "{% endfor %}", source),
             "row": row}
    for name, text in texts.items():
        (directory / f"{name}.html").write_text(text)
    engine.dirs = [*engine.dirs, str(directory)]
    engine.template_builtins.append(old_tags)
    names = {"python": "python.html", "template": "backoffice/lead_list.html", "include": "include.html"}
    return {variant: LeadListView.as_view(template_name=name) for variant, name in names.items()}


def fake_leads(count: int) -> list[Lead]:
    """Leads with and without company and owner, short and long subjects, every status, HTML to escape."""
    start = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)
    return [Lead(lead_id=f"{n:032x}", created_at=start - timedelta(minutes=n), updated_at=start, name=f"Ann <{n}>",
                 email=f"ann{n}@acme{n % 7}.com", company=None if n % 3 else f"Acme & Co {n}",
                 subject="A question about pricing for a team of twelve, billed yearly, with support " * (1 + n % 2),
                 message="…", status=STATUSES[n % len(STATUSES)], owner=None if n % 2 else "sam@example.com")
            for n in range(count)]


def normalised(html: str) -> str:
    """The page without inter-tag whitespace and the per-response CSRF token."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r">\s+<", "><", html).strip()


def main(repeats: int) -> None:
    selectors.status_counts = lambda: {status: 7 for status in STATUSES}
    with tempfile.TemporaryDirectory() as directory:
        views = variant_views(Path(directory))
        print(f"inbox view, in-process, {repeats} renders each way, interleaved; ratio = median ÷ python's")
        for size in (25, 100):
            page = selectors.LeadPage(leads=fake_leads(size), next_cursor="x")
            selectors.lead_list = lambda **kwargs: page

            def render(_group, variant, _round) -> str:
                request = RequestFactory().get("/admin/leads/", {"per_page": size})
                request.staff = SimpleNamespace(display_name="Bench", role="admin", is_admin=True)
                response = views[variant](request)
                assert response.status_code == 200
                return response.content.decode()

            pages = {normalised(render(None, variant, 0)) for variant in views}
            assert len(pages) == 1, "the variants' HTML differs"
            assert pages.pop().count('name="ids"') == size

            def timed(*args) -> float:
                began = time.perf_counter()
                render(*args)
                return time.perf_counter() - began

            times = {variant: median(runs) for variant, runs in interleaved(repeats, views, timed)[None].items()}
            for variant, seconds in times.items():
                print(f"{size:>4} rows  {variant:<8} {seconds * 1e3:7.3f} ms  ×{seconds / times['python']:.3f}"
                      f"  ({(seconds - times['python']) / size * 1e6:+.1f} µs a row)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
