"""Bare PynamoDB models of the app's tables (names, keys, indexes), never imported from the app nor using Django.

BENCH_TABLE_PREFIX and BENCH_DYNAMODB_URL name the tables. All share one botocore client, as the app's models do.
"""
import os

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

PREFIX = os.environ.get("BENCH_TABLE_PREFIX", "leads-")
HOST = os.environ.get("BENCH_DYNAMODB_URL", "http://127.0.0.1:8000")
CREDENTIALS = {"region": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
STATUSES = ("new", "contacted", "qualified", "converted", "lost")
LIST_ATTRIBUTES = ["name", "email", "company", "subject", "status", "owner", "updated_at"]


def _keys(hash_key: str, range_key: str | None) -> dict:
    return {hash_key: UnicodeAttribute(hash_key=True), **({range_key: UnicodeAttribute(range_key=True)} if range_key else {})}


def _index(name: str, hash_key: str, range_key: str, projection) -> GlobalSecondaryIndex:
    meta = type("Meta", (), {"index_name": name, "projection": projection})
    return type(name, (GlobalSecondaryIndex,), {"Meta": meta, **_keys(hash_key, range_key)})()


def _model(name: str, table: str, keys: tuple, texts: str = "", numbers: str = "", **extra) -> type[Model]:
    """A model of PREFIX+table: its keys, nullable text and number attributes, and indexes (extra)."""
    meta = type("Meta", (), {"table_name": PREFIX + table, "host": HOST, **CREDENTIALS})
    return type(name, (Model,), {"Meta": meta, **_keys(*keys), **extra,
                                 **{n: UnicodeAttribute(null=True) for n in texts.split()},
                                 **{n: NumberAttribute(null=True) for n in numbers.split()}})


Lead = _model("Lead", "leads", ("lead_id", None),
              "feed created_at updated_at name email email_domain company subject message status notes owner source "
              "status_email status_domain owner_status consent_version consent_at consent_text", "version",
              created_index=_index("created-index", "feed", "created_at", IncludeProjection(LIST_ATTRIBUTES)),
              status_index=_index("status-index", "status", "created_at", IncludeProjection(LIST_ATTRIBUTES)),
              email_index=_index("email-index", "email", "created_at", IncludeProjection(LIST_ATTRIBUTES)))
# The app's tally shards (leads/domain/tallies.py): n_<status> per status shard, dDD per month shard.
TALLY_SHARDS = 32  # the app's LEADS_TALLY_SHARDS default
Counter = _model("Counter", "counters", ("counter_id", None), "tally_kind",
                 numbers=" ".join(["tally", *(f"n_{s}" for s in STATUSES), *(f"d{d:02d}" for d in range(1, 32))]),
                 tally_index=_index("tally-index", "tally_kind", None, IncludeProjection([f"n_{s}" for s in STATUSES])))
HistoryEvent = _model("HistoryEvent", "history", ("lead_id", "event_id"), "at actor action changes", "version")
Staff = _model("Staff", "staff", ("email", None), "roster name role",
               roster_index=_index("roster-index", "roster", "email", AllProjection()))
Session = _model("Session", "sessions", ("session_key", None), "data", "expires_at")

SHARED = Connection(host=HOST, **CREDENTIALS)  # PynamoDB's default is a client per table: more than the app pays
for _table in (model._get_connection() for model in (Lead, Counter, HistoryEvent, Staff, Session)):
    SHARED.add_meta_table(_table.get_meta_table())
    _table.connection = SHARED
