"""Shared fixtures: every test that uses DynamoDB runs on moto, or on Amazon's DynamoDB Local 3.3.1.

`LEADS_TEST_BACKEND=dynamodb-local` runs the same tests against DynamoDB Local: real DynamoDB is
stricter than moto (reserved words, item size, expression syntax, transaction rules), and so is it.
Unit and view tests get fresh tables from the `aws` fixture; tests that start servers (gunicorn, the
browser's devserver) give them the embedded store on moto, DynamoDB Local otherwise. A test that only makes sense once carries `@pytest.mark.backend(name, reason=...)` and is
skipped, with that reason, in the other run.
"""
import itertools
import os
import threading

import pytest
from django.conf import settings
from moto import mock_aws

from leads.storage import dynamodb, tables
from leads.storage.models import ALL_MODELS
from tests import helpers
from tests.helpers import signed_in
from tests.reliability.security_report import (  # noqa: F401  (pytest hooks: security.json)
    pytest_collection_modifyitems,
    pytest_runtest_logreport,
    pytest_sessionfinish,
)

BACKEND = os.environ.get("LEADS_TEST_BACKEND", "moto")
_prefixes = itertools.count()


def pytest_report_header(config):
    servers = "servers on the embedded store" if BACKEND == "moto" else "servers on DynamoDB Local too"
    return f"DynamoDB backend (LEADS_TEST_BACKEND): {BACKEND}; {servers}"


def pytest_runtest_setup(item):
    """Skip a test marked for the other backend before its fixtures start any server."""
    marker = item.get_closest_marker("backend")
    if marker and marker.args[0] != BACKEND:
        pytest.skip(f"runs once, with LEADS_TEST_BACKEND={marker.args[0]}: {marker.kwargs['reason']}")


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory):
    """A DynamoDB Local process for the whole session."""
    from tests.dynamodb_local import DynamoDBLocal

    server = DynamoDBLocal(tmp_path_factory.mktemp("dynamodb-local") / "server.log").start()
    yield server
    server.stop()


@pytest.fixture
def aws(request):
    """Fresh, empty tables for one test, on the selected backend."""
    if BACKEND == "dynamodb-local":
        server = request.getfixturevalue("dynamodb_local")
        overrides = {"DYNAMODB_HOST": server.url, "DYNAMODB_TABLE_PREFIX": f"t{next(_prefixes)}-"}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in overrides.items():
                patch.setattr(settings, name, value)
            dynamodb.configure()
            tables.create_all()
            yield
            for model in ALL_MODELS:
                if model.exists():  # a test may have dropped one on purpose
                    model.delete_table()
        dynamodb.configure()
        return
    with mock_aws():
        dynamodb.configure()  # new clients, created inside the mock
        tables.create_all()
        yield
    dynamodb.configure()


@pytest.fixture(autouse=True)
def lead_clock():
    """Each test's leads arrive from 2026-11-01 00:00, a minute apart, as when the test runs alone.

    tests.helpers.make_lead's clock ran on through the whole session: after 1,440 leads in earlier tests, a
    test's leads landed on 2 November and its day counts (DAY = 1 November) read 0.
    """
    helpers._clock = itertools.count()


@pytest.fixture(autouse=True)
def _mocked_dynamodb(request):
    """Every test gets fresh tables unless it drives real servers itself."""
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("browser"):
        yield
        return
    request.getfixturevalue("aws")
    yield


@pytest.fixture
def serialized_moto(monkeypatch):
    """Apply mocked DynamoDB calls one at a time, as DynamoDB itself applies each transaction atomically.

    moto is not thread-safe: a cancelled transaction restores a snapshot of the table taken before a
    concurrent one committed, losing its writes. Tests that post from several threads use this.
    DynamoDB Local needs no such help.
    """
    if BACKEND != "moto":
        return
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def serialized(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)


@pytest.fixture
def admin_client():
    """Signed in as an admin (replaces pytest-django's, which needs a SQL database)."""
    return signed_in("boss@example.com", "admin")


@pytest.fixture
def sales_client():
    """Signed in as sales staff."""
    return signed_in("sam@example.com", "sales")
