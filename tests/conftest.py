"""Shared fixtures: unit and view tests run against moto's mock_aws, or against Amazon's DynamoDB Local.

`LEADS_TEST_BACKEND=dynamodb-local` runs the same tests against DynamoDB Local: real DynamoDB is
stricter than moto (reserved words, item size, expression syntax, transaction rules), and so is it.
"""
import itertools
import os
import threading

import pytest
from django.conf import settings
from moto import mock_aws

from leads import dynamodb, tables
from leads.models import ALL_MODELS
from tests.helpers import signed_in
from tests.reliability.security_report import (  # noqa: F401  (pytest hooks: security.json)
    pytest_collection_modifyitems,
    pytest_runtest_logreport,
    pytest_sessionfinish,
)

BACKEND = os.environ.get("LEADS_TEST_BACKEND", "moto")
_prefixes = itertools.count()


def pytest_report_header(config):
    return f"DynamoDB backend for unit and view tests: {BACKEND}"


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
