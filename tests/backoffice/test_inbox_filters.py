"""The inbox's owner filter (mine, unassigned, anyone), arrival dates, prefix search and page boundaries."""
import csv
import io
import re
from datetime import datetime, timedelta, timezone
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from leads.domain import selectors, services
from leads.management import maintenance
from leads.storage.models import Lead, LeadIndexKeys, TrashedLead
from tests.helpers import make_lead, signed_in

SAM = "sam@example.com"  # the sales_client fixture's account


def rows(response):
    """The emails in the inbox table, top to bottom."""
    return re.findall(r'aria-label="Select lead from ([^"]+)"', response.content.decode())


def link(response, rel):
    match = re.search(rf'href="\?([^"]+)" rel="{rel}"', response.content.decode())
    return match and "/admin/leads/?" + unescape(match.group(1))


def assign(lead_id, owner, status=None):
    lead = selectors.lead_get(lead_id=lead_id)
    wanted = {"owner": owner} | ({"status": status} if status else {})
    services.lead_update(lead_id=lead_id, expected_version=lead.version, actor="boss@example.com", **wanted)


def at(day, hour=12, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def export_emails(client, query):
    response = client.get(f"/admin/leads/export.csv?{query}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return [row["email"] for row in csv.DictReader(io.StringIO(body))]


# --- Owner: mine, unassigned, anyone, with a status -------------------------------------------------

@pytest.fixture
def owned(sales_client):
    """Four leads: two Sam's (one contacted), one Nia's, one nobody's."""
    ids = {email: make_lead(email) for email in ("mine1@a.com", "mine2@a.com", "nias@a.com", "free@a.com")}
    assign(ids["mine1@a.com"], SAM)
    assign(ids["mine2@a.com"], SAM, status="contacted")
    assign(ids["nias@a.com"], "nia@example.com")
    return ids


def test_assigned_to_me_unassigned_and_one_owner(sales_client, owned):
    assert rows(sales_client.get("/admin/leads/?owner=me")) == ["mine2@a.com", "mine1@a.com"]
    assert rows(sales_client.get("/admin/leads/?owner=none")) == ["free@a.com"]
    assert rows(sales_client.get("/admin/leads/?owner=nia@example.com")) == ["nias@a.com"]
    assert len(rows(sales_client.get("/admin/leads/"))) == 4


def test_owner_combines_with_status(sales_client, owned):
    assert rows(sales_client.get("/admin/leads/?owner=me&status=contacted")) == ["mine2@a.com"]
    assert rows(sales_client.get("/admin/leads/?owner=me&status=new")) == ["mine1@a.com"]
    assert rows(sales_client.get("/admin/leads/?owner=none&status=new")) == ["free@a.com"]
    assert rows(sales_client.get("/admin/leads/?owner=none&status=contacted")) == []


def test_me_is_whoever_looks(sales_client, owned):
    other = signed_in("nia@example.com", "sales")
    assert rows(other.get("/admin/leads/?owner=me")) == ["nias@a.com"]


def test_unassigning_and_reassigning_move_a_lead_between_listings(sales_client, owned):
    assign(owned["mine1@a.com"], "")
    assert rows(sales_client.get("/admin/leads/?owner=none")) == ["free@a.com", "mine1@a.com"]
    assert rows(sales_client.get("/admin/leads/?owner=me")) == ["mine2@a.com"]
    services.lead_bulk_set_status(lead_ids=[owned["free@a.com"]], status="lost", actor=SAM)
    assert rows(sales_client.get("/admin/leads/?owner=none&status=lost")) == ["free@a.com"]


def owner_options(html):
    select = html.split('id="id_owner"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)


def test_the_owner_picker_offers_anyone_me_unassigned_and_the_chosen_owner(sales_client, owned):
    options = owner_options(sales_client.get("/admin/leads/?owner=none").content.decode())
    assert [(value, label) for value, _, label in options] == [("", "Anyone"), ("me", "Assigned to me"),
                                                                ("none", "Unassigned")]
    assert [value for value, selected, _ in options if selected] == ["none"]
    options = owner_options(sales_client.get("/admin/leads/?owner=nia@example.com").content.decode())
    assert [value for value, selected, _ in options if selected] == ["nia@example.com"]


def test_another_owner_is_picked_from_the_staff_keeping_status_and_dates(sales_client, owned):
    signed_in("nia@example.com", "sales")
    inbox = unescape(sales_client.get("/admin/leads/?status=new&from=2026-11-01&q=@a.com").content.decode())
    picker = re.search(r'href="(/admin/leads/owners/[^"]*)">Another owner…</a>', inbox).group(1)
    assert parse_qs(urlsplit(picker).query) == {"status": ["new"], "from": ["2026-11-01"]}  # no search
    html = unescape(sales_client.get(picker).content.decode())
    links = dict((label, href) for href, label in re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a></li>', html))
    assert list(links) == ["Assigned to me", "Unassigned", "Nia (nia@example.com)", "Sam (sam@example.com)"]
    assert parse_qs(urlsplit(links["Nia (nia@example.com)"]).query) == {
        "status": ["new"], "owner": ["nia@example.com"], "from": ["2026-11-01"]}
    assert rows(sales_client.get(links["Nia (nia@example.com)"])) == ["nias@a.com"]


def test_the_owners_page_refuses_a_bad_filter(sales_client):
    assert sales_client.get("/admin/leads/owners/?status=bogus").status_code == 400


def test_status_links_keep_the_owner(sales_client, owned):
    html = unescape(sales_client.get("/admin/leads/?owner=me").content.decode())
    assert 'href="?status=contacted&owner=me"' in html


def test_an_owner_and_a_search_do_not_combine_and_say_so(sales_client, owned):
    response = sales_client.get("/admin/leads/?owner=me&q=mine1@a.com")
    assert response.status_code == 200
    assert "A search covers every owner" in response.content.decode() and rows(response) == []


def test_a_malformed_owner_is_a_400(sales_client):
    assert sales_client.get("/admin/leads/?owner=not-an-address").status_code == 400


def test_the_export_follows_the_owner(sales_client, owned):
    assert export_emails(sales_client, "owner=me") == ["mine2@a.com", "mine1@a.com"]
    assert export_emails(sales_client, "owner=none") == ["free@a.com"]


# --- Dates: received from / to, in the viewer's zone ------------------------------------------------

@pytest.fixture
def dated(sales_client):
    """Leads at noon UTC on 1–5 November, and one at 23:30 UTC on 2 November (already the 3rd in Berlin)."""
    for day in range(1, 6):
        make_lead(f"d{day}@a.com", when=at(day))
    make_lead("late2@a.com", when=at(2, 23, 30))


def test_received_from_and_to_include_both_days(sales_client, dated):
    assert rows(sales_client.get("/admin/leads/?from=2026-11-02&to=2026-11-04")) == [
        "d4@a.com", "d3@a.com", "late2@a.com", "d2@a.com"]
    assert rows(sales_client.get("/admin/leads/?from=2026-11-04")) == ["d5@a.com", "d4@a.com"]
    assert rows(sales_client.get("/admin/leads/?to=2026-11-01")) == ["d1@a.com"]


def test_days_are_the_viewers_days(sales_client, dated):
    sales_client.post("/admin/account/preferences/", {"time_zone": "Europe/Berlin", "language": ""})
    # 23:30 UTC on the 2nd is 00:30 on the 3rd in Berlin.
    assert rows(sales_client.get("/admin/leads/?from=2026-11-03&to=2026-11-03")) == ["d3@a.com", "late2@a.com"]
    sales_client.post("/admin/account/preferences/", {"time_zone": "America/Los_Angeles", "language": ""})
    # Noon UTC on the 3rd is 04:00 on the 3rd in Los Angeles; 23:30 UTC on the 2nd is 15:30 on the 2nd.
    assert rows(sales_client.get("/admin/leads/?from=2026-11-02&to=2026-11-02")) == ["late2@a.com", "d2@a.com"]


def test_dates_combine_with_status_owner_and_searches(sales_client):
    first = make_lead("ann@acme.com", when=at(1))
    make_lead("ann@acme.com", when=at(3))
    second = make_lead("bob@acme.com", when=at(3))
    assign(first, SAM, status="contacted")
    assign(second, SAM, status="contacted")
    assert rows(sales_client.get("/admin/leads/?status=contacted&from=2026-11-02")) == ["bob@acme.com"]
    assert rows(sales_client.get("/admin/leads/?owner=me&to=2026-11-02")) == ["ann@acme.com"]
    assert rows(sales_client.get("/admin/leads/?owner=me&status=contacted&from=2026-11-02")) == ["bob@acme.com"]
    assert rows(sales_client.get("/admin/leads/?q=ann@acme.com&from=2026-11-02")) == ["ann@acme.com"]
    assert rows(sales_client.get("/admin/leads/?q=@acme.com&to=2026-11-02")) == ["ann@acme.com"]
    assert rows(sales_client.get("/admin/leads/?status=new&q=@acme.com&from=2026-11-02")) == ["ann@acme.com"]


@pytest.mark.parametrize("query, message", [
    ("from=2026-13-01", "Enter a date as YYYY-MM-DD."),
    ("to=yesterday", "Enter a date as YYYY-MM-DD."),
    ("from=2026-11-05&to=2026-11-01", "The end date is before the start date."),
    ("to=9999-12-31", "Ensure this value is less than or equal to 9000-12-31."),
    ("from=0001-01-01", "Ensure this value is greater than or equal to 1970-01-01."),
])
def test_invalid_dates_are_form_errors_not_500s(sales_client, dated, query, message):
    response = sales_client.get(f"/admin/leads/?{query}")
    assert response.status_code == 200
    assert message in unescape(response.content.decode())
    assert rows(response) == []


def test_an_invalid_date_in_the_export_link_is_a_400(sales_client):
    assert sales_client.get("/admin/leads/export.csv?from=2026-02-30").status_code == 400


def test_quick_picks_are_the_viewers_today_this_week_and_last_30_days(sales_client):
    sales_client.post("/admin/account/preferences/", {"time_zone": "Pacific/Kiritimati", "language": ""})  # UTC+14
    html = unescape(sales_client.get("/admin/leads/").content.decode())
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    picks = {label: parse_qs(query) for query, label in re.findall(
        r'<a href="\?(from=[^"]+)"[^>]*>(Today|This week|Last 30 days)</a>', html)}
    assert picks["Today"] == {"from": [today.isoformat()], "to": [today.isoformat()]}
    monday = today - timedelta(days=today.weekday())
    assert picks["This week"] == {"from": [monday.isoformat()], "to": [today.isoformat()]}
    assert picks["Last 30 days"] == {"from": [(today - timedelta(days=29)).isoformat()], "to": [today.isoformat()]}


def test_a_chosen_quick_pick_is_marked_and_keeps_the_other_filters(sales_client):
    today = datetime.now(timezone.utc).date().isoformat()
    html = unescape(sales_client.get(f"/admin/leads/?status=new&owner=none&from={today}&to={today}").content.decode())
    assert re.search(r'class="active" aria-current="true">Today</a>', html)
    assert f'href="?status=new&owner=none&from={today}&to={today}"' in html
    assert 'href="?status=new&owner=none">Any date</a>' in html


def test_dates_ride_along_through_the_cursors_and_the_export_link(sales_client):
    make_lead("earlier@acme.com", when=at(1))
    for n in range(60):  # hourly from 00:30 on the 2nd: p0 … p47 on the 2nd and 3rd, p48 … on the 4th
        make_lead(f"p{n}@acme.com", when=at(2, 0, 30) + timedelta(hours=n))
    first = sales_client.get("/admin/leads/?from=2026-11-02&to=2026-11-03")
    assert len(rows(first)) == 25 and rows(first)[0] == "p47@acme.com"
    export = re.search(r'href="/admin/leads/export\.csv\?([^"]+)"', first.content.decode()).group(1)
    assert parse_qs(unescape(export)) == {"from": ["2026-11-02"], "to": ["2026-11-03"]}
    assert export_emails(sales_client, unescape(export)) == [f"p{n}@acme.com" for n in range(47, -1, -1)]
    second = sales_client.get(link(first, "next"))
    assert parse_qs(urlsplit(link(first, "next")).query)["from"] == ["2026-11-02"]
    assert rows(second) == [f"p{n}@acme.com" for n in range(22, -1, -1)]
    assert link(second, "next") is None  # 48 leads: the second page is the last
    back = sales_client.get(link(second, "prev"))
    assert rows(back) == rows(first)


def test_a_cursor_from_other_dates_is_a_400(sales_client):
    for n in range(30):
        make_lead(f"p{n}@acme.com", when=at(1) + timedelta(hours=n))
    first = link(sales_client.get("/admin/leads/?from=2026-11-01"), "next")
    assert sales_client.get(first.replace("from=2026-11-01", "from=2026-11-02")).status_code == 400
    assert sales_client.get(first.replace("from=2026-11-01", "to=2026-11-02")).status_code == 400


# --- Prefix search -----------------------------------------------------------------------------------

@pytest.fixture
def addresses(sales_client):
    for email in ("j.weber@acme.com", "j.webster@post.example", "aj.weber@acme.com", "j.wu@acme.com",
                  "jweber@acme.com", "j.weber@other.org"):
        make_lead(email)


@pytest.mark.parametrize("query", ["j.web", "J.Web", " j.web "])
def test_a_query_without_at_finds_addresses_starting_with_it_a_to_z(sales_client, addresses, query):
    response = sales_client.get("/admin/leads/", {"q": query})
    assert rows(response) == ["j.weber@acme.com", "j.weber@other.org", "j.webster@post.example"]
    assert "Addresses starting with" in unescape(response.content.decode())


def test_a_partly_typed_address_is_a_prefix_too(sales_client, addresses):
    assert rows(sales_client.get("/admin/leads/", {"q": "j.weber@a"})) == ["j.weber@acme.com"]


def test_a_whole_address_and_a_domain_still_search_exactly(sales_client, addresses):
    assert rows(sales_client.get("/admin/leads/", {"q": "j.weber@acme.com"})) == ["j.weber@acme.com"]
    assert rows(sales_client.get("/admin/leads/", {"q": "@other.org"})) == ["j.weber@other.org"]


def test_a_bare_domain_is_a_prefix_and_the_page_says_how_to_search_a_domain(sales_client, addresses):
    response = sales_client.get("/admin/leads/", {"q": "acme.com"})
    assert rows(response) == []
    assert "For a whole domain, search @domain." in response.content.decode()


@pytest.mark.parametrize("extra", ["status=new", "owner=me", "from=2026-11-01", "to=2026-11-30"])
def test_a_prefix_stands_alone_and_says_so(sales_client, addresses, extra):
    response = sales_client.get(f"/admin/leads/?q=j.web&{extra}")
    assert response.status_code == 200 and rows(response) == []
    assert "The start of an address is searched on its own" in response.content.decode()


def test_status_links_of_a_prefix_search_start_a_listing_without_it(sales_client, addresses):
    html = unescape(sales_client.get("/admin/leads/?q=j.web").content.decode())
    assert 'href="?status=new"' in html and "status=new&q=" not in html


def test_prefix_pages_follow_cursors_a_to_z(sales_client):
    for n in range(30):
        make_lead(f"k{n:02d}@acme.com")
    make_lead("kz@zeta.example")
    make_lead("l00@acme.com")
    first = sales_client.get("/admin/leads/?q=k")
    assert rows(first) == [f"k{n:02d}@acme.com" for n in range(25)]
    second = sales_client.get(link(first, "next"))
    assert rows(second) == [f"k{n:02d}@acme.com" for n in range(25, 30)] + ["kz@zeta.example"]
    assert link(second, "next") is None
    assert rows(sales_client.get(link(second, "prev"))) == rows(first)
    assert export_emails(sales_client, "q=k") == rows(first) + rows(second)


def test_a_cursor_from_another_prefix_is_a_400(sales_client):
    for n in range(30):
        make_lead(f"k{n:02d}@acme.com")
    following = link(sales_client.get("/admin/leads/?q=k"), "next")
    assert sales_client.get(following).status_code == 200
    # The same index key ("k"), another prefix: its start key could lie outside the prefix's range.
    assert sales_client.get(following.replace("q=k&", "q=k2&")).status_code == 400


# --- Page boundary: the last page offers no Next -----------------------------------------------------

@pytest.mark.parametrize("query, make", [
    ("", lambda n: make_lead(f"p{n:02d}@acme.com")),
    ("?owner=none", lambda n: make_lead(f"p{n:02d}@acme.com")),
    ("?q=p", lambda n: make_lead(f"p{n:02d}@acme.com")),
    ("?from=2026-11-01", lambda n: make_lead(f"p{n:02d}@acme.com")),
])
def test_a_listing_ending_on_a_page_boundary_offers_no_next(sales_client, query, make):
    for n in range(50):
        make(n)
    first = sales_client.get(f"/admin/leads/{query}")
    assert len(rows(first)) == 25 and link(first, "next")
    second = sales_client.get(link(first, "next"))
    assert len(rows(second)) == 25
    assert link(second, "next") is None
    assert "No more leads." not in second.content.decode()


def test_exactly_one_page_offers_no_next(sales_client):
    for n in range(25):
        make_lead(f"p{n:02d}@acme.com")
    assert link(sales_client.get("/admin/leads/"), "next") is None


# --- Every write path keeps the derived keys; old leads get them from the backfill -------------------

def strip_new_keys(lead_id):
    """Make the lead look as if stored before the owner and prefix indexes existed."""
    LeadIndexKeys(lead_id).update(actions=[LeadIndexKeys.owner_key.remove(), LeadIndexKeys.owner_status.remove(),
                                           LeadIndexKeys.email_initial.remove()])


def test_an_old_lead_is_in_no_new_listing_until_backfilled_and_a_second_run_writes_nothing(sales_client):
    lead_id = make_lead("old@acme.com")
    strip_new_keys(lead_id)
    assert rows(sales_client.get("/admin/leads/?owner=none")) == []
    assert rows(sales_client.get("/admin/leads/?q=old")) == []
    version = selectors.lead_get(lead_id=lead_id).version
    assert maintenance.backfill_index_keys() == (1, 1)
    assert rows(sales_client.get("/admin/leads/?owner=none")) == ["old@acme.com"]
    assert rows(sales_client.get("/admin/leads/?q=old")) == ["old@acme.com"]
    assert selectors.lead_get(lead_id=lead_id).version == version  # no edit: an open form does not conflict
    assert maintenance.backfill_index_keys() == (1, 0)


def test_an_edit_gives_an_old_lead_its_keys(sales_client):
    lead_id = make_lead("old@acme.com")
    strip_new_keys(lead_id)
    services.lead_update(lead_id=lead_id, expected_version=1, actor=SAM, notes="Called")
    assert rows(sales_client.get("/admin/leads/?owner=none")) == ["old@acme.com"]


def test_a_restored_old_trash_copy_comes_back_with_its_keys(admin_client):
    lead_id = make_lead("old@acme.com")
    strip_new_keys(lead_id)
    services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    assert '"owner_key"' not in TrashedLead.get(lead_id).item
    services.lead_restore(lead_id=lead_id, actor="boss@example.com")
    lead = Lead.get(lead_id)
    assert (lead.owner_key, lead.owner_status, lead.email_initial) == ("-", "-#new", "o")
    assert rows(admin_client.get("/admin/leads/?owner=none")) == ["old@acme.com"]


def test_the_backfill_leaves_a_lead_edited_meanwhile_to_its_edit(sales_client, monkeypatch):
    lead_id = make_lead("old@acme.com")
    strip_new_keys(lead_id)
    scan = Lead.scan

    def scan_then_edit(*args, **kwargs):
        found = list(scan(*args, **kwargs))
        services.lead_update(lead_id=lead_id, expected_version=1, actor=SAM, owner=SAM)
        return iter(found)

    monkeypatch.setattr(Lead, "scan", scan_then_edit)
    assert maintenance.backfill_index_keys() == (1, 0)
    assert rows(sales_client.get("/admin/leads/?owner=me")) == ["old@acme.com"]
