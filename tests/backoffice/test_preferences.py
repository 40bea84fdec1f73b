"""Your preferences (/admin/account/preferences/): time zone and language, and times shown in that zone."""
import csv
import io
import re
from datetime import datetime, timezone

from django.test import Client

from leads.domain import selectors
from tests.faults import dynamodb_fault
from tests.helpers import make_lead, signed_in

URL = "/admin/account/preferences/"
WINTER = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)  # 10:30 in Berlin (CET, +01:00)


def choose(client, tz="Europe/Berlin", language=""):
    return client.post(URL, {"time_zone": tz, "language": language})


def selected(html, name):
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"[^>]*selected', select)


def test_the_page_shows_the_current_choices_and_is_linked_from_the_header(sales_client):
    html = sales_client.get(URL).content.decode()
    assert selected(html, "time_zone") == ["UTC"] and selected(html, "language") == [""]
    assert '<option value="Europe/Berlin">' in html and '<option value="de">German</option>' in html
    assert f'href="{URL}"' in sales_client.get("/admin/").content.decode()


def test_saving_a_zone_and_language_keeps_them(sales_client):
    response = choose(sales_client, "Europe/Berlin", "de")
    assert response.status_code == 302 and response["Location"] == URL
    html = sales_client.get(URL).content.decode()
    assert "Your preferences were saved." in html
    assert selected(html, "time_zone") == ["Europe/Berlin"] and selected(html, "language") == ["de"]
    staff = selectors.staff_get(email="sam@example.com")
    assert (staff.time_zone, staff.language) == ("Europe/Berlin", "de")


def test_an_unknown_zone_or_language_is_a_form_error_not_a_500(sales_client):
    for tz, language, field in [("Mars/Olympus_Mons", "", "time_zone"), ("Europe/Berlin", "fr", "language"),
                                ("x" * 5000, "", "time_zone"), ("../../etc/passwd", "", "time_zone")]:
        response = choose(sales_client, tz, language)
        assert response.status_code == 200, (tz, language)
        assert re.search(rf'id="id_{field}_error"|id="id_{field}-error"', response.content.decode()), field
    assert selectors.staff_get(email="sam@example.com").time_zone is None


def test_lead_times_are_shown_in_the_chosen_zone_with_its_name(sales_client):
    lead_id = make_lead(when=WINTER)
    detail = f"/admin/leads/{lead_id}/"
    assert "received 2026-11-01 09:30 UTC" in sales_client.get(detail).content.decode()
    choose(sales_client)
    html = sales_client.get(detail).content.decode()
    assert "received 2026-11-01 10:30 CET" in html and "09:30" not in html
    assert "2026-11-01 10:30 CET" in sales_client.get("/admin/leads/").content.decode()
    # The zone follows the person, not the server thread: someone else still sees UTC.
    other = signed_in("una@example.com", "sales")
    assert "received 2026-11-01 09:30 UTC" in other.get(detail).content.decode()


def test_summer_times_name_summer_time(sales_client):
    lead_id = make_lead(when=datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc))
    choose(sales_client, "America/New_York")
    assert "received 2026-07-01 08:00 EDT" in sales_client.get(f"/admin/leads/{lead_id}/").content.decode()


def export(client):
    response = client.get("/admin/leads/export.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_export_writes_times_in_the_chosen_zone_and_names_it(sales_client):
    make_lead(when=WINTER)
    [row] = export(sales_client)
    assert row["created_at"] == "2026-11-01T09:30:00+00:00" and row["time_zone"] == "UTC"
    choose(sales_client)
    [row] = export(sales_client)
    assert row["created_at"] == "2026-11-01T10:30:00+01:00" and row["time_zone"] == "Europe/Berlin"
    assert row["updated_at"].endswith("+01:00")


def test_the_dashboard_says_its_days_are_utc(sales_client):
    choose(sales_client)
    assert "Days are counted in UTC" in sales_client.get("/admin/").content.decode()


def test_signed_out_visitors_are_sent_to_sign_in():
    response = Client().post(URL, {"time_zone": "Europe/Berlin", "language": ""})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_dynamodb_outage_on_a_staff_page_is_the_503_page_not_a_500(sales_client):
    choose(sales_client)
    sales_client.raise_request_exception = False
    with dynamodb_fault(timeout=True):
        response = sales_client.get("/admin/leads/")
    assert response.status_code == 503


def test_a_failed_save_keeps_the_choice_and_says_so(sales_client):
    with dynamodb_fault(operations={"UpdateItem"}):
        response = choose(sales_client, "Asia/Tokyo", "de")
    assert response.status_code == 503
    html = response.content.decode()
    assert "could not be saved just now" in html and selected(html, "time_zone") == ["Asia/Tokyo"]
    assert sales_client.session["staff_tz"] == "UTC"
