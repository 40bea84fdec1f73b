"""create_tables on tables made by an older release: a global secondary index the models gained is added."""
import io

from django.core.management import call_command

from leads.storage import cloudformation, internals, tables
from leads.storage.models import TrashedLead, utcnow
from tests.faults import botocore_clients, hooked


def recreate_without(model, index_name: str) -> None:
    """Drop the model's table and make it again as an older release did, without one of its indexes."""
    if model.exists():
        model.delete_table()
    properties = cloudformation.table_properties(model)
    indexes = [index for index in properties["GlobalSecondaryIndexes"] if index["IndexName"] != index_name]
    keys = {e["AttributeName"] for e in properties["KeySchema"]} | {
        e["AttributeName"] for index in indexes for e in index["KeySchema"]}
    client = internals.botocore_client(model)
    client.create_table(
        TableName=model.Meta.table_name, BillingMode="PAY_PER_REQUEST", KeySchema=properties["KeySchema"],
        AttributeDefinitions=[d for d in properties["AttributeDefinitions"] if d["AttributeName"] in keys],
        GlobalSecondaryIndexes=indexes,
    )
    client.get_waiter("table_exists").wait(TableName=model.Meta.table_name)


def index_names(model) -> set[str]:
    table = internals.botocore_client(model).describe_table(TableName=model.Meta.table_name)["Table"]
    return {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}


def trashed(lead_id: str, email: str) -> TrashedLead:
    now = utcnow()
    item = TrashedLead(lead_id=lead_id, deleted_at=now, deleted_by="boss@example.com", name="Ann", email=email,
                       subject="Hi", status="new", item="{}", expires_at=now)
    item.save()
    return item


def test_create_tables_adds_the_trash_email_index_to_a_table_made_without_it():
    recreate_without(TrashedLead, "email-index")
    assert index_names(TrashedLead) == {"deleted-index"}
    trashed("a" * 32, "ann@acme.com")  # stored before the index existed: the index is backfilled with it
    updates = []

    def record(params, **_):
        updates.append(params)

    with hooked(botocore_clients(), {"provide-client-params.dynamodb.UpdateTable": record}):
        out = io.StringIO()
        call_command("create_tables", stdout=out)
    assert index_names(TrashedLead) == {"deleted-index", "email-index"}
    line = next(line for line in out.getvalue().splitlines() if line.split()[1] == TrashedLead.Meta.table_name)
    assert line.startswith("exists ") and "index email-index added" in line
    # One index per UpdateTable, as AWS allows, with the definitions of its keys.
    [update] = updates
    [change] = update["GlobalSecondaryIndexUpdates"]
    assert change["Create"]["IndexName"] == "email-index"
    assert change["Create"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert {"AttributeName": "email", "AttributeType": "S"} in update["AttributeDefinitions"]
    # The old item is found through the new index, and a new one too.
    trashed("b" * 32, "ann@acme.com")
    trashed("c" * 32, "bob@acme.com")
    assert sorted(t.lead_id for t in TrashedLead.email_index.query("ann@acme.com")) == ["a" * 32, "b" * 32]


def test_a_second_run_finds_every_index_and_changes_nothing():
    recreate_without(TrashedLead, "email-index")
    tables.create_all()
    reports = {report.name: report for report in tables.create_all()}
    assert not any("added" in note for report in reports.values() for note in report.notes)
    assert index_names(TrashedLead) == {"deleted-index", "email-index"}


def test_every_missing_index_is_added_one_call_each(monkeypatch):
    """Two indexes missing (the models gained two in one release): two UpdateTable calls, each waited for."""
    recreate_without(TrashedLead, "email-index")
    TrashedLead.delete_table()
    properties = cloudformation.table_properties(TrashedLead)
    client = internals.botocore_client(TrashedLead)
    client.create_table(TableName=TrashedLead.Meta.table_name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=properties["KeySchema"],
                        AttributeDefinitions=[{"AttributeName": "lead_id", "AttributeType": "S"}])
    client.get_waiter("table_exists").wait(TableName=TrashedLead.Meta.table_name)
    calls = []
    with hooked(botocore_clients(), {"provide-client-params.dynamodb.UpdateTable": lambda params, **_: calls.append(
            params["GlobalSecondaryIndexUpdates"][0]["Create"]["IndexName"])}):
        [report] = [r for r in tables.create_all() if r.name == TrashedLead.Meta.table_name]
    assert sorted(calls) == ["deleted-index", "email-index"]
    assert [note for note in report.notes if "index" in note] == [f"index {name} added" for name in calls]
    assert index_names(TrashedLead) == {"deleted-index", "email-index"}
