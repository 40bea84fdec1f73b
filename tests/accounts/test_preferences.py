"""The signed-in session carries the staff member's time zone and language, so no page reads them again."""
import pytest
from django.test import Client

from leads.domain import services
from leads.storage import dynamodb
from tests.backoffice.test_request_economy import SESSION, CallLog
from tests.helpers import PASSWORD, make_lead


@pytest.fixture
def dynamodb_calls():
    log = CallLog()
    client = dynamodb.shared_connection().client
    client.meta.events.register("before-parameter-build.dynamodb", log, unique_id="test-preferences-economy")
    yield log
    client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="test-preferences-economy")


def sign_in(email="ute@example.com", **preferences):
    services.staff_create(email=email, password=PASSWORD, role="sales", name="Ute")
    if preferences:
        services.staff_set_preferences(email=email, **preferences)
    client = Client()
    assert client.post("/admin/login/", {"email": email, "password": PASSWORD}).status_code == 302
    return client


def test_sign_in_puts_the_zone_and_language_in_the_session():
    client = sign_in(time_zone="Europe/Berlin", language="de")
    assert (client.session["staff_tz"], client.session["staff_lang"]) == ("Europe/Berlin", "de")


def test_without_preferences_the_session_holds_the_site_defaults(settings):
    client = sign_in()
    assert (client.session["staff_tz"], client.session["staff_lang"]) == (settings.TIME_ZONE, "")


def test_changing_them_updates_this_session_at_once():
    client = sign_in()
    client.post("/admin/account/preferences/", {"time_zone": "Asia/Tokyo", "language": "en"})
    assert (client.session["staff_tz"], client.session["staff_lang"]) == ("Asia/Tokyo", "en")


def test_sign_in_reads_the_account_once(dynamodb_calls):
    services.staff_create(email="ute@example.com", password=PASSWORD, role="sales")
    services.staff_set_preferences(email="ute@example.com", time_zone="Europe/Berlin", language="de")
    client = Client()
    response, calls = dynamodb_calls.during(
        lambda: client.post("/admin/login/", {"email": "ute@example.com", "password": PASSWORD}))
    assert response.status_code == 302
    assert [call for call in calls if call[1] == "staff"] == [("GetItem", "staff", None)]


def test_a_page_in_another_zone_costs_no_extra_call(dynamodb_calls):
    client = sign_in(time_zone="Europe/Berlin", language="")
    lead_id = make_lead()
    response, calls = dynamodb_calls.during(lambda: client.get(f"/admin/leads/{lead_id}/"))
    assert response.status_code == 200 and " CET" in response.content.decode()
    assert calls == [SESSION, ("GetItem", "leads", None), ("Query", "staff", "roster-index"), ("Query", "history", None)]
