"""An account's record of its session keys stays bounded: keys of sessions that expired are dropped."""
from django.test import Client

from leads.storage.models import Staff
from tests.helpers import PASSWORD, signed_in


def test_keys_of_sessions_that_ended_by_themselves_do_not_pile_up_toward_the_item_limit():
    signed_in("sam@example.com", "sales")
    # A year of daily sign-ins whose sessions simply expired (no sign-out, no change of access).
    Staff("sam@example.com").update(actions=[Staff.session_keys.add({f"{n:032x}" for n in range(365)})])
    client = Client()
    assert client.post("/admin/login/", {"email": "sam@example.com", "password": PASSWORD}).status_code == 302
    # Only the two live sessions are left, and the new one works.
    assert len(Staff.get("sam@example.com", consistent_read=True).session_keys) == 2
    assert client.get("/admin/leads/").status_code == 200
