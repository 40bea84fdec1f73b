"""Every table shares one botocore client, configured from settings with explicit retries and timeouts."""
from django.conf import settings

from leads.storage import dynamodb, internals
from leads.storage.models import ALL_MODELS, SHARING_MODELS


def test_all_tables_and_transactions_share_one_client():
    clients = {id(internals.botocore_client(model)) for model in ALL_MODELS + SHARING_MODELS}
    assert clients == {id(dynamodb.shared_connection().client)}


def test_retries_and_timeouts_are_explicit():
    config = dynamodb.shared_connection().client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1 + settings.DYNAMODB_MAX_RETRIES}
    assert (config.connect_timeout, config.read_timeout) == (settings.DYNAMODB_CONNECT_TIMEOUT, settings.DYNAMODB_READ_TIMEOUT)
