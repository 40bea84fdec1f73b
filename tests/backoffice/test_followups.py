"""Follow-ups on the staff pages: set or clear one on the lead page, and the Due today / Overdue lists."""
import re
from datetime import datetime, time, timedelta, timezone
from html import unescape
from zoneinfo import ZoneInfo

from leads.domain import followups, selectors
from tests.faults import dynamodb_fault
from tests.helpers import make_lead, signed_in

UTC = timezone.utc
TODAY_URL, OVERDUE_URL = "/admin/follow-ups/today/", "/admin/follow-ups/overdue/"


def berlin(client):
    assert client.post("/admin/account/preferences/", {"time_zone": "Europe/Berlin", "language": ""}).status_code == 302


def follow_up(client, lead_id, **fields):
    version = selectors.lead_get(lead_id=lead_id).version
    return client.post(f"/admin/leads/{lead_id}/follow-up/", {"version": version, **fields})


def assign(client, lead_id, owner):
    lead = selectors.lead_get(lead_id=lead_id)
    response = client.post(f"/admin/leads/{lead_id}/", {"status": lead.status, "notes": lead.notes or "",
                                                        "owner": owner, "version": lead.version})
    assert response.status_code == 302, response.content


def names(response) -> list[str]:
    """The names the list shows, in order."""
    assert response.status_code == 200
    return [unescape(name) for name in
            re.findall(r'data-label="Name"><a href="[^"]+">([^<]+)</a>', response.content.decode())]


def berlin_today():
    return followups.local_today(zone="Europe/Berlin")


def utc_today():
    """Today for staff who chose no zone (settings.TIME_ZONE)."""
    return followups.local_today(zone="UTC")


def test_setting_a_date_and_time_reads_them_in_your_zone(sales_client):
    berlin(sales_client)
    lead_id = make_lead(name="Ann")
    day = berlin_today() + timedelta(days=3)
    response = follow_up(sales_client, lead_id, due_date=day.isoformat(), due_time="14:30")
    assert response.status_code == 302 and response["Location"] == f"/admin/leads/{lead_id}/"
    lead = selectors.lead_get(lead_id=lead_id)
    expected = datetime.combine(day, time(14, 30), tzinfo=ZoneInfo("Europe/Berlin"))
    assert lead.due_at == expected.astimezone(UTC) and not lead.due_all_day
    html = sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    assert "Follow-up set." in html
    assert f"Due at {day.isoformat()} 14:30 CET" in html or f"Due at {day.isoformat()} 14:30 CEST" in html
    assert f'value="{day.isoformat()}"' in html and 'value="14:30"' in html  # the form shows what is stored
    assert "due_at" in html  # the history entry


def test_a_date_alone_is_due_by_the_end_of_that_day(sales_client):
    lead_id = make_lead()
    day = utc_today() + timedelta(days=1)
    assert follow_up(sales_client, lead_id, due_date=day.isoformat(), due_time="").status_code == 302
    lead = selectors.lead_get(lead_id=lead_id)
    assert lead.due_all_day and lead.due_at == followups.day_bounds(day=day, zone="UTC")[1]
    assert f"Due on {day.isoformat()}." in sales_client.get(f"/admin/leads/{lead_id}/").content.decode()


def test_bad_input_is_a_form_error_and_writes_nothing(sales_client):
    lead_id = make_lead()
    for fields, field, message in [
        ({"due_date": "2026-02-30", "due_time": ""}, "due_date", "Enter a date such as 2026-12-24."),
        ({"due_date": "tomorrow", "due_time": ""}, "due_date", "Enter a date such as 2026-12-24."),
        ({"due_date": "", "due_time": "14:30"}, "due_time", "Give a date for this time, or leave the time empty."),
        ({"due_date": "2026-12-24", "due_time": "25:00"}, "due_time", "Enter a time such as 14:30."),
    ]:
        response = follow_up(sales_client, lead_id, **fields)
        html = response.content.decode()
        assert response.status_code == 200, fields
        assert f'id="followup_{field}_error"' in html and message in html, fields
    lead = selectors.lead_get(lead_id=lead_id)
    assert lead.due_at is None and lead.version == 1


def test_clearing_takes_it_off_the_lists(sales_client):
    lead_id = make_lead(name="Ann")
    follow_up(sales_client, lead_id, due_date=(utc_today() - timedelta(days=2)).isoformat())
    assign(sales_client, lead_id, "sam@example.com")
    assert names(sales_client.get(OVERDUE_URL)) == ["Ann"]
    response = follow_up(sales_client, lead_id, due_date="2026-12-24", due_time="", clear="1")
    assert response.status_code == 302
    assert "Follow-up cleared." in sales_client.get(f"/admin/leads/{lead_id}/").content.decode()
    assert selectors.lead_get(lead_id=lead_id).due_at is None
    assert names(sales_client.get(OVERDUE_URL)) == []


def test_the_edit_form_keeps_its_fields_and_leaves_the_follow_up_alone(sales_client):
    lead_id = make_lead(name="Ann")
    follow_up(sales_client, lead_id, due_date=(utc_today() - timedelta(days=1)).isoformat())
    assign(sales_client, lead_id, "")
    lead = selectors.lead_get(lead_id=lead_id)
    response = sales_client.post(f"/admin/leads/{lead_id}/", {"status": "contacted", "notes": "Called",
                                                              "owner": "", "version": lead.version})
    assert response.status_code == 302
    lead = selectors.lead_get(lead_id=lead_id)
    assert lead.status == "contacted" and lead.due_at is not None
    assert [e.text for e in selectors.lead_history(lead_id=lead_id) if e.action == "note"] == ["Called"]
    assert names(sales_client.get(OVERDUE_URL, {"owner": "unassigned"})) == ["Ann"]


def test_a_stale_page_is_a_conflict_with_your_date_kept(sales_client):
    lead_id = make_lead()
    response = sales_client.post(f"/admin/leads/{lead_id}/follow-up/", {"version": 1, "due_date": "2026-12-24"})
    assert response.status_code == 302
    response = sales_client.post(f"/admin/leads/{lead_id}/follow-up/", {"version": 1, "due_date": "2026-12-25"})
    html = response.content.decode()
    assert response.status_code == 409 and "Someone else saved this lead" in html
    assert 'value="2026-12-25"' in html and 'name="version" value="2"' in html


def test_an_outage_keeps_the_form_and_says_so(sales_client):
    lead_id = make_lead()
    with dynamodb_fault(operations={"TransactWriteItems"}, code="ThrottlingException"):
        response = follow_up(sales_client, lead_id, due_date="2026-12-24", due_time="09:15")
    assert response.status_code == 503
    html = response.content.decode()
    assert "The follow-up could not be saved just now." in html and 'value="09:15"' in html


def test_an_unknown_lead_is_404_and_get_is_not_allowed(sales_client):
    assert sales_client.post(f"/admin/leads/{'0' * 32}/follow-up/", {"version": 1, "due_date": "2026-12-24"}).status_code == 404
    assert sales_client.get(f"/admin/leads/{make_lead()}/follow-up/").status_code == 405


def test_the_lists_show_yours_by_default_any_owner_on_request_and_the_unassigned(sales_client):
    boss = signed_in("boss@example.com", "admin")
    today, yesterday = utc_today(), utc_today() - timedelta(days=1)
    for name, owner, day in [("Mine today", "sam@example.com", today), ("Mine late", "sam@example.com", yesterday),
                             ("Hers today", "boss@example.com", today), ("Nobody's", "", yesterday),
                             ("Mine next week", "sam@example.com", today + timedelta(days=7))]:
        lead_id = make_lead(name=name)
        follow_up(sales_client, lead_id, due_date=day.isoformat())
        assign(sales_client, lead_id, owner)
    assert names(sales_client.get(TODAY_URL)) == ["Mine today"]
    assert names(sales_client.get(OVERDUE_URL)) == ["Mine late"]
    assert names(sales_client.get(TODAY_URL, {"owner": "boss@example.com"})) == ["Hers today"]
    assert names(boss.get(TODAY_URL)) == ["Hers today"]
    assert names(sales_client.get(OVERDUE_URL, {"owner": "unassigned"})) == ["Nobody's"]
    html = sales_client.get(TODAY_URL, {"owner": "unassigned"}).content.decode()
    assert "Nothing is due today." in html
    assert '<option value="unassigned" selected>' in html
    assert f'href="{OVERDUE_URL}?owner=unassigned"' in html  # the other list, same owner


def test_the_lists_page_like_the_inbox(sales_client):
    for n in range(30):
        lead_id = make_lead(f"p{n}@acme.example", name=f"Person {n:02d}")
        follow_up(sales_client, lead_id, due_date=(utc_today() - timedelta(days=40 - n)).isoformat())
    first = sales_client.get(OVERDUE_URL, {"owner": "unassigned"})
    assert names(first) == [f"Person {n:02d}" for n in range(25)]
    link = unescape(re.search(r'href="(\?[^"]*)" rel="next"', first.content.decode()).group(1))
    second = sales_client.get(OVERDUE_URL + link)
    assert names(second) == [f"Person {n:02d}" for n in range(25, 30)]
    back = unescape(re.search(r'href="(\?[^"]*)" rel="prev"', second.content.decode()).group(1))
    assert names(sales_client.get(OVERDUE_URL + back))[:1] == ["Person 00"]
    assert 'rel="next"' not in second.content.decode()


def test_a_bad_filter_or_cursor_is_a_400_not_a_500(sales_client):
    assert sales_client.get(TODAY_URL, {"owner": "stranger@example.com"}).status_code == 400
    assert sales_client.get(TODAY_URL, {"per_page": "7"}).status_code == 400
    response = sales_client.get(OVERDUE_URL, {"cursor": "not-a-cursor"})
    assert response.status_code == 400 and "This page link is not valid." in response.content.decode()


def test_the_lists_need_a_sign_in_and_are_in_the_staff_menu(sales_client):
    from django.test import Client

    assert Client().get(TODAY_URL)["Location"].startswith("/admin/login/")
    html = sales_client.get("/admin/").content.decode()
    assert f'href="{TODAY_URL}"' in html and f'href="{OVERDUE_URL}"' in html


def test_due_today_follows_your_zone(sales_client):
    lead_id = make_lead(name="Ann")
    assign(sales_client, lead_id, "sam@example.com")
    # 23:30 UTC today is tomorrow in Tokyo: due today for someone on UTC, not for someone in Tokyo.
    day = followups.local_today(zone="UTC")
    follow_up(sales_client, lead_id, due_date=day.isoformat(), due_time="23:30")
    assert names(sales_client.get(TODAY_URL)) == ["Ann"]
    assert sales_client.post("/admin/account/preferences/", {"time_zone": "Asia/Tokyo", "language": ""}).status_code == 302
    tokyo_today = followups.local_today(zone="Asia/Tokyo")
    expected = ["Ann"] if tokyo_today > day else []
    assert names(sales_client.get(TODAY_URL)) == expected
