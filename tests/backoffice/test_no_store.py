"""Every staff page, whatever its answer, tells browsers and proxies not to keep a copy."""
import pytest
from django.test import Client
from django.urls import reverse

from leads.backoffice import urls as backoffice_urls
from leads.domain import services
from tests.helpers import make_lead, signed_in

STAFF_URL_NAMES = sorted(pattern.name for pattern in backoffice_urls.urlpatterns)


def url_for(name, lead_id):
    pattern = next(p for p in backoffice_urls.urlpatterns if p.name == name)
    kwargs = {}
    if "lead_id" in pattern.pattern.converters:
        kwargs["lead_id"] = lead_id
    if "email" in pattern.pattern.converters:
        kwargs["email"] = "sam@example.com"
    if "request_id" in pattern.pattern.converters:
        kwargs["request_id"] = "20261101T000000000000Z-00000000"
    if "invitation_id" in pattern.pattern.converters:
        kwargs["invitation_id"] = "0" * 32
    for other in set(pattern.pattern.converters) - set(kwargs):
        kwargs[other] = "not-a-valid-" + other  # links with tokens: an invalid one still answers no-store
    return reverse(f"backoffice:{name}", kwargs=kwargs)


@pytest.mark.security(hole=4, title="CSV export sent without Cache-Control: no-store")
@pytest.mark.parametrize("name", STAFF_URL_NAMES)
def test_every_staff_url_answers_no_store(name, admin_client):
    signed_in("sam@example.com", "sales")
    lead_id = make_lead()
    url = url_for(name, lead_id)
    if name == "lead_restore":
        services.lead_delete(lead_id=lead_id, actor="boss@example.com")
    clients = {"admin": admin_client, "anonymous": Client()}
    for who, client in clients.items():
        for method in ("get", "post"):
            if name == "logout" and who == "admin":
                continue  # checked last, so the other pages still see a signed-in admin
            response = getattr(client, method)(url)
            assert "no-store" in response.get("Cache-Control", ""), (who, method, url, response.status_code)
    response = admin_client.post(reverse("backoffice:logout"))
    assert "no-store" in response["Cache-Control"]


def test_errors_on_staff_urls_are_no_store_too(admin_client, sales_client):
    assert "no-store" in admin_client.get("/admin/leads/" + "0" * 32 + "/")["Cache-Control"]  # 404
    assert "no-store" in sales_client.get("/admin/staff/")["Cache-Control"]  # 403
    assert "no-store" in admin_client.get("/admin/no-such-page/")["Cache-Control"]  # 404 from the resolver
