"""Table lifecycle: create every model's table, then make sure TTL and point-in-time recovery are on; idempotent."""
import logging
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
    """Create each missing table, turn on TTL and PITR where needed; report per table."""
    reports = []
    for model in ALL_MODELS:
        created = _create(model)
        notes = tuple(note for note in (ensure_ttl(model), ensure_pitr(model)) if note)
        reports.append(TableReport(model.Meta.table_name, created, notes))
    return reports
