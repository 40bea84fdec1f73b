"""Fixtures for the browser tests: the app started like `make run`, and Debian's Chromium driven by Playwright."""
from dataclasses import dataclass

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import BACKEND
from tests.integration.servers import DevServer, dev_env, free_port

CHROMIUM = "/usr/bin/chromium"  # Debian's build; a downloaded browser is never used
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@dataclass(frozen=True)
class Credentials:
    """An email and password to sign in with."""

    email: str
    password: str


@pytest.fixture
def admin() -> Credentials:
    """The admin account `manage.py devserver` creates from the environment."""
    return Credentials(email="admin@example.com", password="Harbour-lantern-47-quilt")


@pytest.fixture
def app_server_env() -> dict:
    """More environment for the app server; a test module overrides it (to collect the emails sent, say)."""
    return {}


@pytest.fixture
def app_server(request, tmp_path, admin, app_server_env):
    """`manage.py devserver` on free ports: the embedded DynamoDB as `make run` has it, or DynamoDB Local."""
    store = {}
    if BACKEND == "dynamodb-local":
        dynamodb_local = request.getfixturevalue("dynamodb_local")
        store = dict(DYNAMODB_ENDPOINT=dynamodb_local.url, DYNAMODB_TABLE_PREFIX=f"browser-{tmp_path.name}-")
    env = dev_env(
        data_dir=tmp_path / "dynamodb", dynamodb_port=free_port(),
        LEADS_ADMIN_EMAIL=admin.email, LEADS_ADMIN_PASSWORD=admin.password, **store, **app_server_env,
    )
    server = DevServer(port=free_port(), env=env, log=tmp_path / "devserver.log")
    try:
        yield server.start()
    finally:
        server.kill()


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_errors() -> list[str]:
    """Console errors and uncaught exceptions the page reported, filled in by the `page` fixture."""
    return []


def record_console_error(message, errors: list[str]) -> None:
    """Keep console errors (a missing stylesheet, icon or script shows up here)."""
    if message.type == "error":
        errors.append(f"console: {message.text} ({message.location.get('url', '')})")


@pytest.fixture
def page(chromium, app_server, browser_errors):
    """A fresh browser tab (1280x800) whose relative URLs point at the app."""
    context = chromium.new_context(base_url=app_server.url, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.on("console", lambda message: record_console_error(message, browser_errors))
    tab.on("pageerror", lambda error: browser_errors.append(f"pageerror: {error}"))
    try:
        yield tab
    finally:
        context.close()
