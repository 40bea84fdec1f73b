"""The inbox: newest first, status filter with counts, email/domain search, signed cursors."""
import re
from urllib.parse import unquote

import pytest
from django.urls import reverse

from leads.domain import services
from tests.helpers import make_lead


def rows(response):
    """The emails in the inbox table, top to bottom."""
    return re.findall(r'aria-label="Select lead from ([^"]+)"', response.content.decode())


def link(response, rel):
    match = re.search(rf'href="\?([^"]+)" rel="{rel}"', response.content.decode())
    return match and "/admin/leads/?" + match.group(1).replace("&amp;", "&")


def set_status(lead_id, status):
    services.lead_update(lead_id=lead_id, expected_version=1, actor="boss@example.com", status=status)


def test_newest_first(sales_client):
    for n in range(3):
        make_lead(f"p{n}@acme.com")
    assert rows(sales_client.get("/admin/leads/")) == ["p2@acme.com", "p1@acme.com", "p0@acme.com"]


def test_status_filter_and_counts_beside_each_filter(sales_client):
    ids = [make_lead(f"p{n}@acme.com") for n in range(4)]
    set_status(ids[0], "contacted")
    set_status(ids[1], "contacted")
    set_status(ids[2], "lost")
    response = sales_client.get("/admin/leads/?status=contacted")
    assert rows(response) == ["p1@acme.com", "p0@acme.com"]
    html = response.content.decode()
    for label, count in [("All", 4), ("New", 1), ("Contacted", 2), ("Lost", 1), ("Converted", 0)]:
        assert re.search(rf'>{label}<span class="count">{count}</span>', html), label


def test_email_search_is_case_insensitive_and_exact(sales_client):
    make_lead("ann@acme.com")
    make_lead("joann@acme.com")
    assert rows(sales_client.get("/admin/leads/?q=ANN@Acme.COM")) == ["ann@acme.com"]


@pytest.mark.parametrize("query", ["@acme.com", "@ACME.com", "%40acme.com"])
def test_domain_search(sales_client, query):
    make_lead("ann@acme.com")
    make_lead("bob@other.org")
    make_lead("cy@acme.com")
    assert rows(sales_client.get(f"/admin/leads/?q={query}")) == ["cy@acme.com", "ann@acme.com"]


def test_status_and_search_combine(sales_client):
    first = make_lead("ann@acme.com")
    make_lead("ann@acme.com")
    make_lead("bob@acme.com")
    set_status(first, "qualified")
    assert rows(sales_client.get("/admin/leads/?status=qualified&q=@acme.com")) == ["ann@acme.com"]
    assert len(rows(sales_client.get("/admin/leads/?status=new&q=ann@acme.com"))) == 1


@pytest.mark.parametrize("query", ["bob smith", "a@@b", "@nodot", "@"])
def test_a_search_that_is_neither_address_prefix_nor_domain_explains_itself(sales_client, query):
    response = sales_client.get("/admin/leads/", {"q": query})
    assert response.status_code == 200
    assert "Search by the start of an address (j.web), a full address (ann@acme.com) or a domain" in response.content.decode()


def test_cursor_round_trip_next_and_previous(sales_client):
    for n in range(60):
        make_lead(f"p{n}@acme.com")
    first = sales_client.get("/admin/leads/")
    assert rows(first)[:2] == ["p59@acme.com", "p58@acme.com"] and len(rows(first)) == 25
    assert link(first, "prev") is None
    second = sales_client.get(link(first, "next"))
    assert rows(second)[0] == "p34@acme.com" and len(rows(second)) == 25
    third = sales_client.get(link(second, "next"))
    assert rows(third) == [f"p{n}@acme.com" for n in range(9, -1, -1)]
    back = sales_client.get(link(third, "prev"))
    assert rows(back) == rows(second)
    newest = sales_client.get(link(back, "prev"))
    assert rows(newest) == rows(first) and link(newest, "prev") is None


def test_page_size_choice(sales_client):
    for n in range(60):
        make_lead(f"p{n}@acme.com")
    assert len(rows(sales_client.get("/admin/leads/?per_page=50"))) == 50
    assert len(rows(sales_client.get("/admin/leads/?per_page=100"))) == 60


def test_cursor_is_opaque_and_signed(sales_client):
    for n in range(30):
        make_lead(f"p{n}@acme.com")
    cursor = unquote(re.search(r"cursor=([^&]+)", link(sales_client.get("/admin/leads/"), "next")).group(1))
    assert "acme" not in cursor and "lead_id" not in cursor


@pytest.mark.parametrize("tamper", [lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"), lambda c: "x" + c,
                                    lambda c: "garbage", lambda c: c.replace(":", ".")])
def test_a_tampered_cursor_gives_400_not_500(sales_client, tamper):
    for n in range(30):
        make_lead(f"p{n}@acme.com")
    cursor = unquote(re.search(r"cursor=([^&]+)", link(sales_client.get("/admin/leads/"), "next")).group(1))
    response = sales_client.get("/admin/leads/", {"cursor": tamper(cursor)})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_a_cursor_from_another_filter_gives_400(sales_client):
    for n in range(30):
        make_lead(f"p{n}@acme.com")
    cursor = unquote(re.search(r"cursor=([^&]+)", link(sales_client.get("/admin/leads/"), "next")).group(1))
    response = sales_client.get("/admin/leads/", {"cursor": cursor, "status": "new"})
    assert response.status_code == 400
    assert "belongs to a different filter" in response.content.decode()


@pytest.mark.parametrize("query", ["status=bogus", "per_page=7", "per_page=abc"])
def test_invalid_filters_give_400(sales_client, query):
    assert sales_client.get(f"/admin/leads/?{query}").status_code == 400


def test_lead_fields_are_shown_escaped(sales_client):
    make_lead("x@acme.com", name="<img src=x onerror=alert(1)>")
    html = sales_client.get("/admin/leads/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_each_row_links_to_its_lead(sales_client):
    lead_id = make_lead("ann@acme.com")
    html = sales_client.get("/admin/leads/").content.decode()
    assert html.count(f'<a href="{reverse("backoffice:lead_detail", args=[lead_id])}">') == 2
