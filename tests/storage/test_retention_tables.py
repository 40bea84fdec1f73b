"""Tables for retention: TTL on leads and history (new and existing tables), and the leads stream's view type."""
import io

from django.core.management import call_command

from leads.storage import cloudformation, internals
from leads.storage.models import HistoryEvent, Lead


def create_tables() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_tables", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def ttl(model) -> tuple[str, str | None]:
    description = internals.botocore_client(model).describe_time_to_live(TableName=model.Meta.table_name)
    return description["TimeToLiveDescription"]["TimeToLiveStatus"], description["TimeToLiveDescription"].get("AttributeName")


def stream(model) -> dict:
    return internals.botocore_client(model).describe_table(TableName=model.Meta.table_name)["Table"]["StreamSpecification"]


def recreate_as_before_retention(model, *, stream_view_type=None) -> None:
    """Make the model's table again as the release before retention did: no TTL, and the stream it had then."""
    model.delete_table()
    properties = cloudformation.table_properties(model)
    client = internals.botocore_client(model)
    extra = {"GlobalSecondaryIndexes": properties["GlobalSecondaryIndexes"]} if "GlobalSecondaryIndexes" in properties else {}
    if stream_view_type:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream_view_type}
    client.create_table(TableName=model.Meta.table_name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=properties["KeySchema"], AttributeDefinitions=properties["AttributeDefinitions"], **extra)
    client.get_waiter("table_exists").wait(TableName=model.Meta.table_name)


def line_for(output: str, model) -> str:
    return next(line for line in output.splitlines() if line.split()[1] == model.Meta.table_name)


def test_new_tables_have_ttl_on_leads_and_history_and_the_leads_stream_has_old_images():
    # The `aws` fixture made the tables with create_tables, as a deployment would.
    assert ttl(Lead) == ("ENABLED", "expires_at")
    assert ttl(HistoryEvent) == ("ENABLED", "expires_at")
    assert stream(Lead) == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_existing_tables_get_ttl_turned_on_and_an_old_stream_is_reported_not_silently_kept():
    recreate_as_before_retention(Lead, stream_view_type="NEW_IMAGE")
    recreate_as_before_retention(HistoryEvent)
    assert ttl(Lead)[0] == ttl(HistoryEvent)[0] == "DISABLED"
    out, err = create_tables()
    assert "TTL turned on for expires_at" in line_for(out, Lead)
    assert "TTL turned on for expires_at" in line_for(out, HistoryEvent)
    assert ttl(Lead) == ttl(HistoryEvent) == ("ENABLED", "expires_at")
    # The view type cannot change in place: said on the table's line and again on stderr; left as it was.
    assert "stream NEW_IMAGE, NOT NEW_AND_OLD_IMAGES: AWS cannot change a stream's view type in place" in line_for(out, Lead)
    assert f"{Lead.Meta.table_name} needs attention: stream NEW_IMAGE, NOT NEW_AND_OLD_IMAGES" in err
    assert stream(Lead) == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    # Nothing else needs attention, and a second run says the same.
    assert err.count("needs attention") == 1
    assert create_tables()[1] == err


def test_a_leads_table_without_a_stream_is_reported_too():
    recreate_as_before_retention(Lead)
    out, err = create_tables()
    assert "stream off, NOT NEW_AND_OLD_IMAGES" in line_for(out, Lead) and "needs attention" in err
