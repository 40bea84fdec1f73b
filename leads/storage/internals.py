"""PynamoDB's private API, wrapped: the one module that may touch it (tests/storage/test_internals.py guards it).

PynamoDB 6.1 has no public way to reach a model's connection, schema, TTL or key attributes; these
one-line functions name what each private call gives, so a PynamoDB upgrade breaks here, under a test
that says which call changed, and nowhere else.
"""

from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.indexes import Index
from pynamodb.models import Model


def table_connection(model: type[Model]) -> TableConnection:
    """The model's table connection, made on first use (and cached on the class)."""
    return model._get_connection()


def bind(model: type[Model], **meta) -> None:
    """Set the model's Meta options (table_name, host, region, ...) and drop the connection made from the old ones."""
    for name, value in meta.items():
        setattr(model.Meta, name, value)
    model._connection = None


def share_connection(model: type[Model], connection: Connection) -> None:
    """Make the model's table connection send through `connection` (one botocore client for all tables).

    Models sharing a table share its key schema, so the table's first model tells `connection` about it.
    """
    table = table_connection(model)
    if table.table_name not in connection._tables:
        connection.add_meta_table(table.get_meta_table())
    table.connection = connection


def botocore_client(model: type[Model]):
    """The botocore DynamoDB client the model's table connection sends through."""
    return table_connection(model).connection.client


def has_client(connection: Connection) -> bool:
    """True once the connection has made its botocore client (it makes it lazily, on first use)."""
    return connection._client is not None


def table_schema(model: type[Model]) -> dict:
    """The model's table as CreateTable spells it: attribute_definitions, key_schema, and both kinds of index."""
    return model._get_schema()


def ttl_attribute(model: type[Model]) -> TTLAttribute | None:
    """The model's TTLAttribute, or None when it has none."""
    return model._ttl_attribute()


def hash_key_attribute(model_or_index: type[Model] | type[Index]) -> Attribute:
    """The hash key attribute of a model or of an index."""
    return model_or_index._hash_key_attribute()


def range_key_attribute(model: type[Model]) -> Attribute | None:
    """The model's range key attribute, or None when its table has none."""
    return model._range_key_attribute()
