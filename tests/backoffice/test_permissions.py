"""Every staff page, walked from the URLconf, so a new page cannot forget its access check."""
import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.helpers import make_lead

PUBLIC = {"backoffice:login", "backoffice:login_code", "backoffice:password_reset", "backoffice:password_reset_confirm",
          "backoffice:invitation_accept"}
ADMIN_ONLY = {"backoffice:lead_delete", "backoffice:lead_restore", "backoffice:trash", "backoffice:staff_list", "backoffice:staff_edit",
              "backoffice:staff_two_factor_reset", "backoffice:staff_end_sessions", "backoffice:invitation_resend",
              "backoffice:invitation_withdraw",
              "backoffice:privacy", "backoffice:privacy_export", "backoffice:privacy_erase", "backoffice:privacy_request",
              "backoffice:webhooks", "backoffice:webhook_retry"}
# Answer POST only (a GET is 405), or 404 while their feature is off: nothing to open.
POST_ONLY = {"backoffice:logout", "backoffice:lead_bulk", "backoffice:two_factor_disable", "backoffice:two_factor_recovery_codes",
             "backoffice:account_session_end", "backoffice:account_sessions_end_others", "backoffice:lead_extend",
             "backoffice:lead_follow_up", "backoffice:lead_note", "backoffice:lead_reply",
             "backoffice:lead_reply_retry"}
SAMPLE_ARGS = {"lead_id": "0" * 32, "email": "boss@example.com", "uidb64": "Ym9zc0BleGFtcGxlLmNvbQ", "token": "set-password",
               "invitation_id": "0" * 32, "request_id": "20261101T000000000000Z-00000000"}


def staff_url_names():
    resolver = get_resolver()
    [backoffice] = [p for p in resolver.url_patterns if isinstance(p, URLResolver) and p.namespace == "backoffice"]
    return sorted(f"backoffice:{p.name}" for p in backoffice.url_patterns if isinstance(p, URLPattern))


def sample_url(name, lead_id=None):
    pattern = next(p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "backoffice")
    [entry] = [p for p in pattern.url_patterns if f"backoffice:{p.name}" == name]
    kwargs = {k: (lead_id if k == "lead_id" and lead_id else v) for k, v in SAMPLE_ARGS.items()
              if k in entry.pattern.converters}
    return reverse(name, kwargs=kwargs)


def test_the_walk_sees_every_staff_page():
    names = set(staff_url_names())
    assert ADMIN_ONLY <= names and PUBLIC <= names and len(names) == 42


@pytest.mark.parametrize("name", [n for n in staff_url_names() if n not in PUBLIC])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_login(client, name, method):
    url = sample_url(name)
    response = getattr(client, method)(url)
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        expected = "/admin/login/" if name == "backoffice:logout" else "/admin/login/?next="
        assert response["Location"].startswith(expected)


@pytest.mark.parametrize("name", sorted(ADMIN_ONLY))
@pytest.mark.parametrize("method", ["get", "post"])
def test_sales_staff_get_403_on_admin_only_pages(sales_client, name, method):
    url = sample_url(name, lead_id=make_lead())
    response = getattr(sales_client, method)(url)
    assert response.status_code in (403, 405)
    if response.status_code == 403:
        assert "You are not allowed to do that" in response.content.decode()


@pytest.mark.parametrize("name", [n for n in staff_url_names() if n not in ADMIN_ONLY | PUBLIC | POST_ONLY])
def test_sales_staff_can_open_the_other_pages(sales_client, name):
    response = sales_client.get(sample_url(name, lead_id=make_lead()))
    assert response.status_code == 200


def test_sales_staff_cannot_bulk_delete(sales_client):
    lead_id = make_lead()
    response = sales_client.post("/admin/leads/bulk/", {"ids": [lead_id], "action": "delete", "confirm": "1"})
    assert response.status_code == 403
    assert sales_client.get(f"/admin/leads/{lead_id}/").status_code == 200


def test_admin_pages_refuse_unknown_lead_ids_with_404(admin_client):
    assert admin_client.get("/admin/leads/" + "f" * 32 + "/").status_code == 404
    assert admin_client.get("/admin/leads/not-a-lead/").status_code == 404
