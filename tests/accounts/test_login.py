"""Signing in and out: generic errors, throttling of guessers, session rotation, logout that really ends the session."""
import pytest
from django.test import Client

from leads.domain import services
from leads.storage.models import StaffSession
from tests.helpers import PASSWORD


def login(client, email, password, **extra):
    return client.post("/admin/login/", {"email": email, "password": password, **extra})


def test_anonymous_visitor_is_sent_to_login_and_back(client):
    services.staff_create(email="ann@example.com", password=PASSWORD, role="sales")
    response = client.get("/admin/leads/?status=new")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=%2Fadmin%2Fleads%2F%3Fstatus%3Dnew"
    response = login(client, "Ann@Example.com", PASSWORD, next="/admin/leads/?status=new")
    assert response["Location"] == "/admin/leads/?status=new"
    assert client.get("/admin/leads/").status_code == 200


def test_next_pointing_off_site_is_ignored(client):
    services.staff_create(email="ann@example.com", password=PASSWORD)
    response = login(client, "ann@example.com", PASSWORD, next="https://evil.example/")
    assert response["Location"] == "/admin/"


def test_wrong_password_and_unknown_account_get_the_same_message(client):
    services.staff_create(email="ann@example.com", password=PASSWORD)
    wrong_password = login(client, "ann@example.com", "nope").content.decode()
    unknown = login(client, "nobody@example.com", "nope").content.decode()
    message = "That email and password do not match an active account."
    assert message in wrong_password and message in unknown


def test_inactive_account_cannot_sign_in(client):
    services.staff_create(email="ann@example.com", password=PASSWORD)
    services.staff_update(email="ann@example.com", active=False)
    assert "do not match an active account" in login(client, "ann@example.com", PASSWORD).content.decode()


def test_repeated_failures_stop_the_guesser_even_with_the_right_password(settings):
    settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT = 3
    services.staff_create(email="ann@example.com", password=PASSWORD)
    guesser = Client(REMOTE_ADDR="10.6.6.6")
    for _ in range(3):
        assert login(guesser, "ann@example.com", "guess").status_code == 200
    response = login(guesser, "ann@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Please wait" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert guesser.get("/admin/").status_code == 302  # still signed out


@pytest.mark.security(hole=3, title="Anyone can lock any staff account")
def test_guessing_from_elsewhere_cannot_lock_the_owner_out(settings):
    settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT_CLIENT = 5
    services.staff_create(email="ann@example.com", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="10.6.6.6")
    statuses = [login(attacker, "ann@example.com", f"guess{n}").status_code for n in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    owner = Client(REMOTE_ADDR="192.0.2.7")
    assert login(owner, "ann@example.com", PASSWORD).status_code == 302
    assert owner.get("/admin/").status_code == 200


@pytest.mark.security(hole=3, title="Anyone can lock any staff account")
def test_guessing_from_many_addresses_meets_a_ceiling_that_spares_the_owners_known_browser(settings):
    settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT = 6
    services.staff_create(email="ann@example.com", password=PASSWORD)
    owner = Client(REMOTE_ADDR="192.0.2.7")
    assert login(owner, "ann@example.com", PASSWORD).status_code == 302
    assert owner.post("/admin/logout/").status_code == 302
    statuses = [login(Client(REMOTE_ADDR=f"10.0.1.{n}"), "ann@example.com", "guess").status_code for n in range(10)]
    assert statuses == [200] * 6 + [429] * 4  # a spread-out guesser gets no more than the ceiling
    assert login(Client(REMOTE_ADDR="192.0.2.8"), "ann@example.com", PASSWORD).status_code == 429  # new browser
    assert login(owner, "ann@example.com", PASSWORD).status_code == 302  # the owner's browser still gets in
    forged = Client(REMOTE_ADDR="10.0.1.99")
    forged.cookies["leads_device"] = "forged:token"
    assert login(forged, "ann@example.com", PASSWORD).status_code == 429
    other_account = Client(REMOTE_ADDR="10.0.1.98")
    other_account.cookies["leads_device"] = owner.cookies["leads_device"].value
    services.staff_create(email="bob@example.com", password=PASSWORD)
    assert login(other_account, "bob@example.com", PASSWORD).status_code == 302  # the ceiling is per account


def test_repeated_failures_from_one_client_lock_that_client(client, settings):
    settings.LEADS_LOGIN_MAX_FAILURES_PER_CLIENT = 4
    services.staff_create(email="ann@example.com", password=PASSWORD)
    for n in range(4):
        login(client, f"guess{n}@example.com", "guess")
    assert login(client, "ann@example.com", PASSWORD).status_code == 429
    other_client = Client(REMOTE_ADDR="10.9.9.9")
    assert login(other_client, "ann@example.com", PASSWORD).status_code == 302


def test_session_key_is_rotated_at_login(client):
    services.staff_create(email="ann@example.com", password=PASSWORD)
    client.get("/admin/login/")
    client.session["planted"] = "x"
    planted = client.cookies.get("leads_session")
    login(client, "ann@example.com", PASSWORD)
    assert client.cookies["leads_session"].value != (planted.value if planted else None)


def test_logout_deletes_the_session_so_a_copied_cookie_is_useless(client):
    services.staff_create(email="ann@example.com", password=PASSWORD)
    login(client, "ann@example.com", PASSWORD)
    stolen_key = client.cookies["leads_session"].value
    assert StaffSession.count(stolen_key) == 1
    assert client.get("/admin/logout/").status_code == 405  # a link cannot sign anyone out
    response = client.post("/admin/logout/")
    assert response["Location"] == "/admin/login/"
    assert StaffSession.count(stolen_key) == 0
    thief = Client()
    thief.cookies["leads_session"] = stolen_key
    assert thief.get("/admin/").status_code == 302


def test_an_expired_session_is_refused_before_dynamodb_removes_it(client, settings):
    services.staff_create(email="ann@example.com", password=PASSWORD)
    login(client, "ann@example.com", PASSWORD)
    key = client.cookies["leads_session"].value
    item = StaffSession.get(key)
    item.update(actions=[StaffSession.expires_at.set(item.expires_at.replace(year=2020))])
    assert client.get("/admin/").status_code == 302


def test_changing_someones_role_signs_them_out(sales_client):
    assert sales_client.get("/admin/").status_code == 200
    services.staff_update(email="sam@example.com", role="admin")
    assert sales_client.get("/admin/").status_code == 302


def test_login_page_sets_no_cache_and_hides_the_password(client):
    response = client.get("/admin/login/")
    assert "no-cache" in response["Cache-Control"]
    assert 'type="password"' in response.content.decode()


def test_a_burst_of_parallel_guesses_gets_no_more_password_checks_than_allowed(settings, serialized_moto, monkeypatch):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from leads.accounts import auth

    settings.LEADS_LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    services.staff_create(email="ann@example.com", password=PASSWORD)
    checks = []
    real_check = auth.check_password
    monkeypatch.setattr(auth, "check_password", lambda *a: checks.append(1) or real_check(*a))
    barrier = threading.Barrier(30)

    def guess(n):
        barrier.wait()
        return login(Client(REMOTE_ADDR=f"10.0.0.{n}"), "ann@example.com", f"guess{n}").status_code

    with ThreadPoolExecutor(30) as pool:
        statuses = sorted(pool.map(guess, range(30)))
    assert statuses == [200] * 5 + [429] * 25
    assert len(checks) == 5
