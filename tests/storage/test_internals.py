"""Fails if a PynamoDB upgrade changes the private API leads.storage.internals wraps (names, signatures, shapes)."""
import inspect

from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.models import Model

from leads.storage import dynamodb, internals
from leads.storage.models import CountersTable, HistoryEvent, Lead, RateWindow, Staff, StaffSession, Tally


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_private_names_exist_with_the_signatures_we_call():
    for name in ("_get_connection", "_get_schema", "_ttl_attribute", "_hash_key_attribute", "_range_key_attribute"):
        assert parameters(getattr(Model, name)) == [], name  # classmethods called with no arguments
    assert parameters(Lead.created_index._hash_key_attribute) == []
    assert "_connection" in vars(Model)
    assert "_tables" in vars(Connection(host="http://localhost:1"))
    assert parameters(Connection.add_meta_table) == ["self", "meta_table"]
    assert parameters(TableConnection.get_meta_table) == ["self"]


def test_a_table_connection_sends_through_the_shared_connection():
    table = internals.table_connection(Lead)
    assert isinstance(table, TableConnection) and table.table_name == Lead.Meta.table_name
    assert table.connection is dynamodb.shared_connection()
    assert internals.botocore_client(Tally) is dynamodb.shared_connection().client
    assert internals.has_client(dynamodb.shared_connection())


def test_bind_sets_meta_and_a_fresh_connection_follows_it():
    before = internals.table_connection(StaffSession)
    internals.bind(StaffSession, table_name=StaffSession.Meta.table_name)
    after = internals.table_connection(StaffSession)
    assert after is not before and after.table_name == StaffSession.Meta.table_name
    internals.share_connection(StaffSession, dynamodb.shared_connection())
    assert after.connection is dynamodb.shared_connection()


def test_schema_has_the_shape_create_table_and_cloudformation_read():
    schema = internals.table_schema(Lead)
    assert {"attribute_definitions", "key_schema", "global_secondary_indexes", "local_secondary_indexes"} <= set(schema)
    assert {"AttributeName": "lead_id", "KeyType": "HASH"} in schema["key_schema"]
    index = next(i for i in schema["global_secondary_indexes"] if i["index_name"] == "status-index")
    assert {"index_name", "key_schema", "projection"} <= set(index)
    assert index["projection"]["ProjectionType"] == "INCLUDE" and index["projection"]["NonKeyAttributes"]
    assert {"AttributeName": "lead_id", "AttributeType": "S"} in schema["attribute_definitions"]


def test_ttl_and_key_attributes():
    assert isinstance(internals.ttl_attribute(CountersTable), TTLAttribute)
    assert internals.ttl_attribute(CountersTable).attr_name == "expires_at"
    assert internals.ttl_attribute(Staff) is None
    assert internals.hash_key_attribute(Lead).attr_name == "lead_id"
    assert internals.hash_key_attribute(RateWindow).attr_name == "counter_id"  # inherited from the table model
    assert internals.hash_key_attribute(Lead.status_index).attr_name == "status"
    assert internals.range_key_attribute(Lead) is None
    assert isinstance(internals.range_key_attribute(HistoryEvent), Attribute)
    assert internals.range_key_attribute(HistoryEvent).attr_name == "event_id"
    assert internals.hash_key_attribute(Staff).attr_name == "email"
