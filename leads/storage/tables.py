"""Table lifecycle: create every model's table, add indexes the models gained since, make sure TTL and
point-in-time recovery are on; idempotent."""
import logging
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError
from pynamodb.exceptions import TableError

from leads.storage import internals
from leads.storage.models import ALL_MODELS

logger = logging.getLogger(__name__)

# What DynamoDB Local, LocalStack and similar emulators answer for an API they do not implement.
UNSUPPORTED = "UnknownOperationException"


@dataclass(frozen=True)
class TableReport:
    """What create_all found or did for one table."""

    name: str
    created: bool
    notes: tuple[str, ...]

    def __str__(self) -> str:
        return f"{'created' if self.created else 'exists '}  {self.name}  ({', '.join(self.notes)})"

    @property
    def attention(self) -> tuple[str, ...]:
        """The notes that need someone to act (a TTL or stream the command must not change by itself)."""
        return tuple(note for note in self.notes if NEEDS_ATTENTION in note)


def _create(model) -> bool:
    """Create the model's table unless it exists (waiting until it is active); True if this call created it."""
    if model.exists():
        return False
    try:
        model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
    except TableError as error:
        # Another process created it between exists() and create_table().
        if "ResourceInUseException" not in str(error.cause_response_code or error):
            raise
        return False
    return True


# Waiting for a new index: first poll after INDEX_POLL_SECONDS, doubling up to INDEX_POLL_MAX_SECONDS. On AWS a
# new index is backfilled from the table's items first (minutes for a small table, longer for a big one).
INDEX_POLL_SECONDS = 0.2
INDEX_POLL_MAX_SECONDS = 20.0


def _index_statuses(client, table: str) -> tuple[dict, dict[str, str]]:
    """The table's description and each global secondary index's IndexStatus, by name."""
    described = client.describe_table(TableName=table)["Table"]
    return described, {i["IndexName"]: i.get("IndexStatus", "ACTIVE") for i in described.get("GlobalSecondaryIndexes", [])}


def _wait_for_index(client, table: str, name: str) -> None:
    """Wait until the index and its table are ACTIVE (backfilled and usable; the table updatable again)."""
    delay = INDEX_POLL_SECONDS
    while True:
        described, statuses = _index_statuses(client, table)
        if statuses.get(name) == "ACTIVE" and described.get("TableStatus", "ACTIVE") == "ACTIVE":
            return
        logger.info("%s: waiting for index %s (%s)", table, name, statuses.get(name, "not listed yet"))
        time.sleep(delay)
        delay = min(delay * 2, INDEX_POLL_MAX_SECONDS)


def ensure_indexes(model) -> list[str]:
    """Add each global secondary index the model declares and its existing table lacks; one note per index.

    A table made by an older release keeps its items and gains the index (UpdateTable, which creates one
    index per call, as AWS allows), waited for until ACTIVE, since the app queries it straight away. An
    index still being created (a run cut short) is waited for. Indexes the model no longer declares are
    left alone: dropping one is a decision for a person, not for an idempotent command.
    """
    wanted = internals.table_schema(model)["global_secondary_indexes"]
    if not wanted:
        return []
    client, table = internals.botocore_client(model), model.Meta.table_name
    described, statuses = _index_statuses(client, table)
    notes = []
    for index in wanted:
        name = index["index_name"]
        if name in statuses:
            if statuses[name] != "ACTIVE":
                _wait_for_index(client, table, name)
                notes.append(f"index {name} finished")
            continue
        known = {d["AttributeName"]: d["AttributeType"] for d in described["AttributeDefinitions"]}
        known.update({d["AttributeName"]: d["AttributeType"] for d in index["attribute_definitions"]})
        projection = {"ProjectionType": index["projection"]["ProjectionType"]}
        if index["projection"].get("NonKeyAttributes"):
            projection["NonKeyAttributes"] = list(index["projection"]["NonKeyAttributes"])
        # On-demand tables: no ProvisionedThroughput (the index takes the table's billing mode).
        client.update_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in known.items()],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": name,
                "KeySchema": sorted(index["key_schema"], key=lambda e: e["KeyType"] != "HASH"),
                "Projection": projection,
            }}],
        )
        _wait_for_index(client, table, name)
        described, statuses = _index_statuses(client, table)
        notes.append(f"index {name} added")
    return notes


def ensure_ttl(model) -> str | None:
    """Turn TTL on for the model's TTLAttribute unless it already is; None when the model has none."""
    attribute = internals.ttl_attribute(model)
    if attribute is None:
        return None
    client, table = internals.botocore_client(model), model.Meta.table_name
    current = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        if current.get("AttributeName") != attribute.attr_name:
            return f"TTL on {current.get('AttributeName')}, NOT on {attribute.attr_name}: fix by hand"
        return f"TTL on {attribute.attr_name}"
    client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"AttributeName": attribute.attr_name, "Enabled": True}
    )
    return f"TTL turned on for {attribute.attr_name}"


# In a note that says what create_tables found but must not change by itself.
NEEDS_ATTENTION = ", NOT "


def ensure_stream(model) -> str | None:
    """Report the table's stream against the model's Meta.stream_view_type; None when the model has none.

    Never changes it: AWS cannot change a stream's view type in place. Disabling the stream and enabling
    a new one gives it a new ARN, which the Lambda trigger must then be pointed at (README, "Retention"),
    so that is left to a person; the note says so, rather than the stream silently staying as it was.
    """
    wanted = getattr(model.Meta, "stream_view_type", None)
    if wanted is None:
        return None
    client, table = internals.botocore_client(model), model.Meta.table_name
    stream = client.describe_table(TableName=table)["Table"].get("StreamSpecification") or {}
    current = stream.get("StreamViewType") if stream.get("StreamEnabled") else None
    if current == wanted:
        return f"stream {wanted}"
    return (f"stream {current or 'off'}{NEEDS_ATTENTION}{wanted}: AWS cannot change a stream's view type in place; "
            "replace the stream and repoint the Lambda trigger by hand (README, Retention)")


def ensure_pitr(model) -> str:
    """Turn point-in-time recovery on unless it already is, where the endpoint supports it."""
    client, table = internals.botocore_client(model), model.Meta.table_name
    try:
        described = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        if described["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED":
            return "PITR on"
        client.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    except ClientError as error:
        # Any other error (a missing permission, say) is real and must not pass for "unsupported".
        if error.response["Error"]["Code"] != UNSUPPORTED:
            raise
        logger.debug("%s: %s", table, error)
        return "PITR not supported by this endpoint"
    return "PITR turned on"


def create_all() -> list[TableReport]:
    """Create each missing table, add missing indexes, turn on TTL and PITR where needed; report per table."""
    reports = []
    for model in ALL_MODELS:
        created = _create(model)
        added = [] if created else ensure_indexes(model)
        notes = tuple(note for note in (*added, ensure_ttl(model), ensure_stream(model), ensure_pitr(model)) if note)
        reports.append(TableReport(model.Meta.table_name, created, notes))
    return reports
