"""Bare PynamoDB models of the app's tables: the same names, keys and indexes, nothing else.

No Django here (the export floor uses these without Django). Table prefix and endpoint come from
BENCH_TABLE_PREFIX and BENCH_DYNAMODB_URL. Like the app, all models share one botocore client, so the
floor pays for one client, not one per table (PynamoDB's default): it is the least the app could do.
"""
import os

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

PREFIX = os.environ.get("BENCH_TABLE_PREFIX", "leads-")
HOST = os.environ.get("BENCH_DYNAMODB_URL", "http://127.0.0.1:8000")
REGION = "us-east-1"
STATUSES = ("new", "contacted", "qualified", "converted", "lost")
LIST_ATTRIBUTES = ["name", "email", "company", "subject", "status", "owner", "updated_at"]


class _Meta:
    host = HOST
    region = REGION
    aws_access_key_id = "local"
    aws_secret_access_key = "local"


class CreatedIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "created-index"
        projection = IncludeProjection(LIST_ATTRIBUTES)

    feed = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class StatusIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "status-index"
        projection = IncludeProjection(LIST_ATTRIBUTES)

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Lead(Model):
    class Meta(_Meta):
        table_name = PREFIX + "leads"

    lead_id = UnicodeAttribute(hash_key=True)
    feed = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    email_domain = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    owner = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)
    status_email = UnicodeAttribute(null=True)
    status_domain = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)

    created_index = CreatedIndex()
    status_index = StatusIndex()


class Counter(Model):
    class Meta(_Meta):
        table_name = PREFIX + "counters"

    counter_id = UnicodeAttribute(hash_key=True)
    tally = NumberAttribute(default=0)


class HistoryEvent(Model):
    class Meta(_Meta):
        table_name = PREFIX + "history"

    lead_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    at = UnicodeAttribute(null=True)
    actor = UnicodeAttribute(null=True)
    action = UnicodeAttribute(null=True)
    changes = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)


class RosterIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "roster-index"
        projection = AllProjection()

    roster = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class Staff(Model):
    class Meta(_Meta):
        table_name = PREFIX + "staff"

    email = UnicodeAttribute(hash_key=True)
    roster = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)

    roster_index = RosterIndex()


class Session(Model):
    class Meta(_Meta):
        table_name = PREFIX + "sessions"

    session_key = UnicodeAttribute(hash_key=True)
    data = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


MODELS = [Lead, Counter, HistoryEvent, Staff, Session]

SHARED = Connection(host=HOST, region=REGION, aws_access_key_id="local", aws_secret_access_key="local")
for _model in MODELS:
    _table: TableConnection = _model._get_connection()
    SHARED.add_meta_table(_table.get_meta_table())
    _table.connection = SHARED
