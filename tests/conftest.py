"""Shared fixtures: every unit and view test runs against moto's in-memory DynamoDB."""
import pytest
from moto import mock_aws

from leads import dynamodb, tables


@pytest.fixture
def aws():
    """A fresh, empty mocked AWS account with every table created."""
    with mock_aws():
        dynamodb.configure()  # new clients, created inside the mock
        tables.create_all()
        yield
    dynamodb.configure()


@pytest.fixture(autouse=True)
def _mocked_dynamodb(request):
    """Use moto unless the test drives real servers."""
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
    """
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def serialized(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)
