"""The dashboard: counts per status and a server-drawn chart of the last 30 days."""
import re
from datetime import timedelta

from leads.domain import services
from leads.storage.models import utcnow
from tests.helpers import make_lead


def test_counts_per_status(sales_client):
    ids = [make_lead(f"p{n}@acme.com", when=utcnow()) for n in range(3)]
    services.lead_update(lead_id=ids[0], expected_version=1, actor="x", status="converted")
    html = sales_client.get("/admin/").content.decode()
    assert re.search(r'<span class="number">3</span>All leads', html)
    assert re.search(r'<span class="number">2</span><span class="badge new">New</span>', html)
    assert re.search(r'<span class="number">1</span><span class="badge converted">Converted</span>', html)


def test_chart_has_one_bar_per_day_scaled_to_the_busiest(sales_client):
    today = utcnow()
    for _ in range(4):
        make_lead(when=today)
    make_lead(when=today - timedelta(days=2))
    make_lead(when=today - timedelta(days=45))  # outside the window
    html = sales_client.get("/admin/").content.decode()
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert svg.count('<rect class="bar"') == 30
    # The chart is drawn by the server: no script in it, and the page's only script is the self-hosted file.
    assert "<script" not in svg
    assert re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S) == [""]
    assert 'src="/static/leads/backoffice.js"' in html
    assert f"{today:%a} {today.day} {today:%b}: 4 leads" in svg
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"', svg)]
    assert max(heights) == heights[-1] and heights[-3] == heights[-1] / 4
    assert "5 in total; busiest day 4." in html
