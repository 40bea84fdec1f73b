"""Two-factor helpers for tests: a clock the TOTP checks read, codes an app would show, enrolment through the page."""
import re
from dataclasses import dataclass

import pyotp
import pytest
from django.test import Client

from leads.domain import two_factor
from tests.helpers import PASSWORD, signed_in

# 15 s into a time step, so one step either way stays clear of the boundary.
START = (1_900_000_000 // 30) * 30 + 15


@dataclass
class Clock:
    """The time the two-factor checks see (the throttling windows keep real time)."""

    now: float = START

    def tick(self, steps: int = 1) -> None:
        self.now += 30 * steps

    @property
    def step(self) -> int:
        return int(self.now // 30)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(two_factor, "_now", lambda: clock.now)
    return clock


def code_at(secret: str, step: int) -> str:
    """The code an authenticator app shows during this time step."""
    return pyotp.TOTP(secret).generate_otp(step)


def wrong_code(secret: str, step: int) -> str:
    """Six digits that match no step in the drift window around `step`."""
    near = {code_at(secret, s) for s in range(step - 2, step + 3)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in near)


def enrolment_form(client: Client) -> tuple[str, str]:
    """Open the two-factor page; return the secret as shown (spaces removed) and the signed pending value."""
    page = client.get("/admin/account/two-factor/").content.decode()
    secret = re.search(r'<code id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    pending = re.search(r'name="pending" value="([^"]+)"', page).group(1)
    return secret, pending


def recovery_codes_on(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page)


def enrol(client: Client, clock: Clock) -> tuple[str, list[str]]:
    """Turn two-factor on through the page with the current code; return the secret and the recovery codes."""
    secret, pending = enrolment_form(client)
    response = client.post("/admin/account/two-factor/", {"pending": pending, "code": code_at(secret, clock.step)})
    assert response.status_code == 200, response.content
    codes = recovery_codes_on(response.content.decode())
    assert len(codes) == 10
    return secret, codes


def two_factor_account(clock: Clock, email: str = "ann@example.com", role: str = "sales") -> tuple[str, list[str]]:
    """A staff member with two-factor on, signed out; the clock has moved past the step enrolment used."""
    client = signed_in(email, role)
    secret, codes = enrol(client, clock)
    client.post("/admin/logout/")
    clock.tick()
    return secret, codes


def password_step(client: Client, email: str = "ann@example.com", password: str = PASSWORD, **extra):
    return client.post("/admin/login/", {"email": email, "password": password, **extra})


def code_step(client: Client, code: str):
    return client.post("/admin/login/code/", {"code": code})
