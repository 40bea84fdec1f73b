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


# --- Time to first response (leads.domain.response_time) ---------------------------------------------

def _response_table(html: str) -> list[list[str]]:
    section = html[html.index('id="response-times"'):]
    table = section[section.index("<tbody>"):section.index("</tbody>")]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_response_times_per_week_show_median_and_90th_percentile_as_buckets(sales_client):
    now = utcnow()
    for minutes in (20, 50, 55, 70, 200):  # answered now, after 20½ min … 200½ min
        lead_id = make_lead(when=now - timedelta(minutes=minutes, seconds=30))
        services.lead_update(lead_id=lead_id, expected_version=1, actor="x", status="contacted")
    html = sales_client.get("/admin/").content.decode()
    rows = _response_table(html)
    assert len(rows) == 12
    monday = (now - timedelta(days=now.weekday())).date()
    assert rows[-1] == [f"{monday:%a} {monday.day} {monday:%b %Y}", "5", "45 min – 1 h", "3 h – 4 h"]
    assert rows[0][1:] == ["0", "—", "—"]
    assert "Median and 90th percentile time to first response, by week, last 12 weeks" in html
    assert "“2 h – 3 h” means at least 2 hours and under 3" in html  # the resolution, said on the page


def test_new_leads_waiting_more_than_a_day_are_counted_and_linked(sales_client):
    now = utcnow()
    make_lead(when=now - timedelta(hours=30))
    make_lead(when=now - timedelta(days=4))
    make_lead(when=now - timedelta(hours=2))
    answered = make_lead(when=now - timedelta(hours=40))
    services.lead_update(lead_id=answered, expected_version=1, actor="x", status="lost")
    html = sales_client.get("/admin/").content.decode()
    assert re.search(r'<a href="/admin/leads/\?status=new">2 new leads have been waiting more than 24 hours.</a>', html)
    assert "3 leads are waiting for a first response in all." in html


def test_no_responses_yet_reads_as_dashes_not_zero_durations(sales_client):
    html = sales_client.get("/admin/").content.decode()
    assert "0 new leads have been waiting more than 24 hours." in html
    assert all(row[1:] == ["0", "—", "—"] for row in _response_table(html))


def test_the_response_table_is_german_for_german_staff(sales_client):
    from leads.storage.models import utcnow as now_

    lead_id = make_lead(when=now_() - timedelta(hours=26))
    services.lead_update(lead_id=lead_id, expected_version=1, actor="x", status="contacted")
    sales_client.post("/admin/account/preferences/", {"time_zone": "Europe/Berlin", "language": "de"})
    html = sales_client.get("/admin/").content.decode()
    assert "Zeit bis zur ersten Antwort" in html
    assert _response_table(html)[-1][2] == "1 Tag – 1 Tag 12 Std."


def test_the_response_chart_draws_each_weeks_steps_on_a_log_scale_without_script(sales_client):
    now = utcnow()
    for minutes in (20, 50, 55, 70, 200):
        lead_id = make_lead(when=now - timedelta(minutes=minutes, seconds=30))
        services.lead_update(lead_id=lead_id, expected_version=1, actor="x", status="contacted")
    html = sales_client.get("/admin/").content.decode()
    section = html[html.index('id="response-times"'):]
    svg = section[section.index("<svg"):section.index("</svg>")]
    assert "<script" not in svg and 'role="img"' in svg
    # Only the current week had responses: one pair of bars, its numbers in the title.
    assert svg.count("<g>") == 1
    monday = (now - timedelta(days=now.weekday())).date()
    assert f"<title>Week from {monday:%a} {monday.day} {monday:%b}: median 45 min – 1 h, 90th percentile 3 h – 4 h</title>" in svg
    (wide_y, wide_h), (narrow_y, narrow_h) = [(float(y), float(h)) for y, h in re.findall(
        r'<rect class="bar[^"]*" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg)]
    assert wide_y + wide_h <= narrow_y  # the 90th percentile's step (3 h – 4 h) lies wholly above the median's
    hour, day = (float(y) for y in re.findall(r'<line class="gridline" x1="0" x2="600" y1="([\d.]+)"', svg))
    assert day < hour and narrow_y + narrow_h >= hour >= narrow_y  # the median's step (45 min – 1 h) ends at the hour line
