"""CSV export: the current filter, streamed, safe to open in a spreadsheet."""
import csv
import io
from datetime import datetime, timezone

from leads.domain import services
from leads.public import tokens
from tests.helpers import make_lead


def export(client, query=""):
    response = client.get(f"/admin/leads/export.csv{query}")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="leads.csv"'
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_exports_every_field_of_the_filtered_leads(sales_client):
    make_lead("ann@acme.com", message="Full message, with, commas\nand lines", company="Acme")
    other = make_lead("bob@other.org")
    services.lead_update(lead_id=other, expected_version=1, actor="x", status="lost", notes="gone")
    rows = export(sales_client)
    assert [r["email"] for r in rows] == ["bob@other.org", "ann@acme.com"]
    assert rows[1]["message"] == "Full message, with, commas\nand lines" and rows[1]["company"] == "Acme"
    assert rows[0]["notes"] == "gone"
    assert [r["email"] for r in export(sales_client, "?status=lost")] == ["bob@other.org"]
    assert [r["email"] for r in export(sales_client, "?q=@acme.com")] == ["ann@acme.com"]


def test_more_than_one_page_of_leads(sales_client):
    for n in range(230):
        make_lead(f"p{n}@acme.com")
    rows = export(sales_client)
    assert len(rows) == 230 and rows[0]["email"] == "p229@acme.com" and rows[-1]["email"] == "p0@acme.com"


def test_formula_cells_are_neutralised(sales_client):
    make_lead("eve@acme.com", name="=HYPERLINK(\"http://evil\")", subject="+1+1", message="-2+3", company="@SUM(A1)")
    [row] = export(sales_client)
    assert row["name"] == "'=HYPERLINK(\"http://evil\")"
    assert (row["subject"], row["message"], row["company"]) == ("'+1+1", "'-2+3", "'@SUM(A1)")


def test_invalid_filter_gives_400(sales_client):
    assert sales_client.get("/admin/leads/export.csv?status=nope").status_code == 400


def test_exports_the_consent_given(sales_client):
    lead_id = tokens.new_lead_id()
    services.lead_submit(lead_id=lead_id, name="Ann", email="ann@acme.com", subject="Hi", message="Hello",
                         consent_text="I agree.", consent_version="v2",
                         now=datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc))
    make_lead("bob@other.org")
    rows = {row["email"]: row for row in export(sales_client)}
    assert (rows["ann@acme.com"]["consent_version"], rows["ann@acme.com"]["consent_at"]) == (
        "v2", "2026-11-03T09:30:00+00:00")
    assert rows["ann@acme.com"]["consent_text"] == "I agree."
    assert (rows["bob@other.org"]["consent_version"], rows["bob@other.org"]["consent_at"]) == ("", "")
