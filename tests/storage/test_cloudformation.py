"""The CloudFormation template and IAM policies follow the models, and the policies match what the app really does."""
import fnmatch
import inspect
import io
import json
import re
from contextlib import contextmanager

import boto3
import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core import mail
from django.test import Client, override_settings
from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, Index, KeysOnlyProjection
from pynamodb.models import Model

from leads.storage import cloudformation, internals, tables
from leads.domain import services, tallies
from leads.public import tokens
from leads.storage.models import ALL_MODELS, CountersTable, HistoryEvent, Invitation, Lead, LeadIndexKeys, StaffSession, Tally, TrashedLead
from tests.faults import botocore_clients, dynamodb_fault, hooked
from tests.helpers import accept_invitation, invite

ACCOUNT = "123456789012"  # moto's; the recorded calls and the policies under test use the same one
PASSWORD = "correct horse battery staple"


@pytest.fixture
def moto_only():
    """Skip on backends other than moto's mock_aws (the conftest points DYNAMODB_HOST at those)."""
    if settings.DYNAMODB_HOST is not None:
        pytest.skip("needs moto: CloudFormation, or point-in-time recovery")


def command_output(name: str, *args) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def generated() -> dict:
    """The template as `manage.py dynamodb_template` prints it."""
    return json.loads(command_output("dynamodb_template"))


def tables_in(template: dict) -> dict[str, dict]:
    return {key: r for key, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}


def statements(template: dict) -> list[dict]:
    return [
        statement
        for resource in template["Resources"].values() if resource["Type"] == "AWS::IAM::ManagedPolicy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


# --- What each model declares, read from its attributes and index classes (not from the generator) ---

def key_schema(attributes) -> list[dict]:
    hash_keys = [a for a in attributes if a.is_hash_key]
    range_keys = [a for a in attributes if a.is_range_key]
    return [{"AttributeName": a.attr_name, "KeyType": "HASH"} for a in hash_keys] + [
        {"AttributeName": a.attr_name, "KeyType": "RANGE"} for a in range_keys
    ]


def declared_indexes(model) -> list[Index]:
    return [value for _, value in inspect.getmembers(model) if isinstance(value, Index)]


def index_attributes(index: Index) -> list[Attribute]:
    return [value for _, value in inspect.getmembers(type(index)) if isinstance(value, Attribute)]


def ttl_attribute(model) -> Attribute | None:
    found = [a for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    return found[0] if found else None


def expected_table(model) -> dict:
    """The key-related properties a table for this model must have."""
    attributes = list(model.get_attributes().values())
    keys = {a.attr_name: a.attr_type for a in attributes if a.is_hash_key or a.is_range_key}
    indexes = []
    for index in declared_indexes(model):
        members = index_attributes(index)
        keys.update({a.attr_name: a.attr_type for a in members if a.is_hash_key or a.is_range_key})
        projection = {"ProjectionType": index.Meta.projection.projection_type}
        if index.Meta.projection.non_key_attributes:
            projection["NonKeyAttributes"] = list(index.Meta.projection.non_key_attributes)
        indexes.append({"IndexName": index.Meta.index_name, "KeySchema": key_schema(members), "Projection": projection})
    return {
        "AttributeDefinitions": sorted(({"AttributeName": n, "AttributeType": t} for n, t in keys.items()),
                                       key=lambda d: d["AttributeName"]),
        "KeySchema": key_schema(attributes),
        "GlobalSecondaryIndexes": sorted(indexes, key=lambda i: i["IndexName"]),
    }


def actual_table(properties: dict) -> dict:
    definitions = properties["AttributeDefinitions"]
    assert len({d["AttributeName"] for d in definitions}) == len(definitions), "an attribute is defined twice"
    return {
        "AttributeDefinitions": sorted(definitions, key=lambda d: d["AttributeName"]),
        "KeySchema": properties["KeySchema"],
        "GlobalSecondaryIndexes": sorted(properties.get("GlobalSecondaryIndexes", []), key=lambda i: i["IndexName"]),
    }


class FingerprintIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "fingerprint-index"
        projection = KeysOnlyProjection()

    fingerprint = BinaryAttribute(hash_key=True, legacy_encoding=False)
    serial = NumberAttribute(range_key=True)


class Gadget(Model):
    """Not part of the app: a model with number and binary keys, a range key and a keys-only index."""

    base_table_name = "gadgets"

    class Meta:
        table_name = "gadgets"
        billing_mode = "PAY_PER_REQUEST"

    gadget_id = UnicodeAttribute(hash_key=True)
    serial = NumberAttribute(range_key=True)
    fingerprint = BinaryAttribute(null=True, legacy_encoding=False)
    label = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)

    by_fingerprint = FingerprintIndex()


# --- The template ---------------------------------------------------------------------------------

def test_one_table_per_model_named_prefix_plus_base_name():
    template = generated()
    names = [t["Properties"]["TableName"] for t in tables_in(template).values()]
    assert sorted(names, key=str) == sorted(({"Fn::Sub": f"${{TablePrefix}}{m.base_table_name}"} for m in ALL_MODELS), key=str)
    assert template["Parameters"]["TablePrefix"]["Default"] == "leads-"


@pytest.mark.parametrize("model", ALL_MODELS + [Gadget], ids=lambda m: m.__name__)
def test_keys_attributes_and_indexes_are_exactly_what_the_model_declares(model):
    [table] = tables_in(cloudformation.template([model], {})).values()
    assert actual_table(table["Properties"]) == expected_table(model)


def test_key_types_follow_the_attribute_classes():
    properties = cloudformation.table_properties(Gadget)
    types = {d["AttributeName"]: d["AttributeType"] for d in properties["AttributeDefinitions"]}
    assert types == {"gadget_id": "S", "serial": "N", "fingerprint": "B"}
    assert properties["GlobalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_index_projections_name_the_inbox_columns():
    properties = tables_in(generated())["LeadTable"]["Properties"]
    projections = {i["IndexName"]: i["Projection"] for i in properties["GlobalSecondaryIndexes"]}
    assert sorted(projections) == sorted(index.Meta.index_name for index in declared_indexes(Lead))
    assert all(p["ProjectionType"] == "INCLUDE" and "message" not in p["NonKeyAttributes"] for p in projections.values())


def test_ttl_stream_pitr_sse_billing_and_retention_on_every_table():
    template = generated()
    for model in ALL_MODELS:
        table = template["Resources"][cloudformation.logical_id(model)]
        properties = table["Properties"]
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        ttl = ttl_attribute(model)
        expected_ttl = ttl and {"AttributeName": ttl.attr_name, "Enabled": True}
        assert properties.get("TimeToLiveSpecification") == expected_ttl
        view = getattr(model.Meta, "stream_view_type", None)
        assert properties.get("StreamSpecification") == (view and {"StreamViewType": view})
    resources = template["Resources"]
    ttl_tables = {key for key, r in tables_in(template).items() if "TimeToLiveSpecification" in r["Properties"]}
    # Leads and their history expire by TTL when retention is on (LEADS_RETENTION_DAYS).
    assert ttl_tables == {"LeadTable", "HistoryEventTable", "CounterTable", "TrashedLeadTable", "StaffSessionTable", "InvitationTable"}
    # The old image of a lead TTL removed tells the stream handler which tallies to take it off.
    assert resources["LeadTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_logical_ids_are_those_deployed_stacks_have():
    # A renamed logical id makes CloudFormation replace the table: the counters table stays CounterTable
    # though no model is called Counter any more.
    assert set(tables_in(generated())) == {
        "LeadTable", "CounterTable", "HistoryEventTable", "TrashedLeadTable", "StaffTable", "StaffSessionTable",
        "InvitationTable",
    }
    assert "CounterTableName" in generated()["Outputs"]


def test_outputs_name_every_table_the_stream_and_the_policies():
    outputs = generated()["Outputs"]
    for model in ALL_MODELS:
        assert outputs[f"{cloudformation.logical_id(model)}Name"] == {"Value": {"Ref": cloudformation.logical_id(model)}}
    assert outputs["LeadStreamArn"] == {"Value": {"Fn::GetAtt": ["LeadTable", "StreamArn"]}}
    assert outputs["AppPolicyArn"] == {"Value": {"Ref": "AppPolicy"}}
    assert outputs["MaintenancePolicyArn"] == {"Value": {"Ref": "MaintenancePolicy"}}


def test_a_provisioned_model_is_refused_rather_than_silently_made_on_demand(monkeypatch):
    monkeypatch.setattr(Gadget.Meta, "billing_mode", "PROVISIONED")
    with pytest.raises(ValueError, match="billing_mode"):
        cloudformation.template([Gadget], {})


def referenced_table(resource) -> str:
    """The logical id of the table a policy Resource points at."""
    if "Fn::GetAtt" in resource:
        logical, attribute = resource["Fn::GetAtt"]
        assert attribute in ("Arn", "StreamArn")
        return logical
    match = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/\*", resource["Fn::Sub"])
    assert match, resource
    return match.group(1)


def test_policies_never_grant_wildcard_actions_and_only_list_streams_gets_resource_star():
    template = generated()
    assert "dynamodb:*" not in json.dumps(template)
    for statement in statements(template):
        assert statement["Effect"] == "Allow"
        assert all(action.startswith("dynamodb:") and "*" not in action for action in statement["Action"])
        if statement["Resource"] == "*":
            assert statement["Action"] == ["dynamodb:ListStreams"]


def test_every_policy_resource_is_one_of_the_templates_tables():
    template = generated()
    table_ids = set(tables_in(template))
    for statement in statements(template):
        if statement["Resource"] != "*":
            assert {referenced_table(r) for r in statement["Resource"]} <= table_ids
    by_sid = {s["Sid"]: s for s in statements(template)}
    indexed = {cloudformation.logical_id(m) for m in ALL_MODELS if declared_indexes(m)}
    assert {referenced_table(r) for r in by_sid["AppIndexes"]["Resource"]} == indexed
    assert by_sid["AppTables"]["Resource"] == [{"Fn::GetAtt": [t, "Arn"]} for t in tables_in(template)]
    assert by_sid["StreamTrigger"]["Resource"] == [{"Fn::GetAtt": ["LeadTable", "StreamArn"]}]


def test_cfn_lint_finds_nothing():
    cfnlint_api = pytest.importorskip("cfnlint.api")
    matches = cfnlint_api.lint(json.dumps(generated()), config=cfnlint_api.ManualArgs(regions=[settings.AWS_REGION]))
    assert [str(match) for match in matches] == []


def describe(client, name: str) -> dict:
    table = client.describe_table(TableName=name)["Table"]
    return {
        "AttributeDefinitions": sorted(table["AttributeDefinitions"], key=lambda d: d["AttributeName"]),
        "KeySchema": table["KeySchema"],
        "GlobalSecondaryIndexes": sorted(
            ({k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in table.get("GlobalSecondaryIndexes", [])),
            key=lambda i: i["IndexName"]),
        "StreamSpecification": table.get("StreamSpecification"),
    }


def test_the_stack_builds_the_same_tables_create_tables_builds(moto_only):
    region = settings.AWS_REGION
    stack = boto3.client("cloudformation", region_name=region)
    stack.create_stack(StackName="leads", TemplateBody=json.dumps(generated()),
                       Parameters=[{"ParameterKey": "TablePrefix", "ParameterValue": "stack-"}])
    [described] = stack.describe_stacks(StackName="leads")["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    client = boto3.client("dynamodb", region_name=region)
    for model in ALL_MODELS:
        assert describe(client, f"stack-{model.base_table_name}") == describe(client, model.Meta.table_name)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    assert outputs["LeadStreamArn"] == client.describe_table(TableName="stack-leads")["Table"]["LatestStreamArn"]


# --- The policies against what the app really does -------------------------------------------------

# IAM has no TransactWriteItems action: each item is authorised as the underlying action on its table.
TRANSACT_ITEM_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
                         "ConditionCheck": "dynamodb:ConditionCheckItem", "Get": "dynamodb:GetItem"}


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{settings.AWS_REGION}:{ACCOUNT}:table/{name}"


def authorisations(operation: str, params: dict):
    """(IAM action, resource ARN) pairs IAM checks for one DynamoDB call."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        for item in params["TransactItems"]:
            [(kind, body)] = item.items()
            yield TRANSACT_ITEM_ACTIONS[kind], table_arn(body["TableName"])
    elif "RequestItems" in params:
        for name in params["RequestItems"]:
            yield f"dynamodb:{operation}", table_arn(name)
    else:
        arn = table_arn(params["TableName"])
        yield f"dynamodb:{operation}", arn + (f"/index/{params['IndexName']}" if params.get("IndexName") else "")


@contextmanager
def recorded_calls():
    """Collect (action, resource) for every DynamoDB call made through the app's clients in the block."""
    calls = set()

    def record(model, params, **_):
        calls.update(authorisations(model.name, params))

    with hooked(botocore_clients(), {"before-parameter-build.dynamodb": record}):
        yield calls


def allowing(document: dict, action: str, arn: str) -> list[str]:
    """Sids of the statements that allow this action on this resource."""
    sids = []
    for statement in document["Statement"]:
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        if action in statement["Action"] and any(fnmatch.fnmatchcase(arn, r) for r in resources):
            sids.append(statement["Sid"])
    return sids


def literal_policy(document) -> dict:
    return document(ALL_MODELS, cloudformation.LiteralArns(
        prefix=settings.DYNAMODB_TABLE_PREFIX, region=settings.AWS_REGION, account=ACCOUNT))


def ok(response, status=302):
    assert response.status_code == status, response.content[:500]
    return response


def exercise_the_app() -> None:
    """Every page and action a visitor and the staff use, as their browsers would."""
    visitor = Client()
    token = re.search(r'name="token" value="([^"]+)"', ok(visitor.get("/"), 200).content.decode()).group(1)
    ok(visitor.post("/", {"name": "Grace Hopper", "email": "grace@navy.mil", "company": "US Navy",
                          "subject": "Compilers", "message": "Let's talk about COBOL.", "token": token}))
    lead_id = tokens.lead_id_from_token(token)
    ok(visitor.get("/healthz"), 200)

    services.staff_create(email="boss@example.com", password=PASSWORD, role="admin", name="Boss")
    admin = Client()
    ok(admin.post("/admin/login/", {"email": "boss@example.com", "password": "not the password"}), 200)
    ok(admin.post("/admin/login/", {"email": "boss@example.com", "password": PASSWORD}))
    ok(admin.get("/admin/"), 200)
    for query in ("", "?status=new", "?q=@navy.mil", "?status=new&q=@navy.mil", "?q=grace@navy.mil"):
        assert "grace@navy.mil" in ok(admin.get(f"/admin/leads/{query}"), 200).content.decode()
    ok(admin.get(f"/admin/leads/{lead_id}/"), 200)
    ok(admin.post(f"/admin/leads/{lead_id}/", {"status": "contacted", "notes": "Called", "owner": "", "version": 1}))
    ok(admin.post("/admin/leads/bulk/", {"ids": [lead_id], "action": "set_status", "status": "qualified", "confirm": "1"}))
    assert b"grace@navy.mil" in b"".join(ok(admin.get("/admin/leads/export.csv"), 200).streaming_content)
    ok(admin.post(f"/admin/leads/{lead_id}/delete/"))
    assert "grace@navy.mil" in ok(admin.get("/admin/leads/deleted/"), 200).content.decode()
    ok(admin.post(f"/admin/leads/{lead_id}/restore/"))
    ok(admin.get(f"/admin/leads/{lead_id}/"), 200)
    # One person's data: a live lead and a deleted one, looked up (the trash's email-index), exported, erased.
    second = tokens.new_lead_id()
    services.lead_submit(lead_id=second, name="Grace Hopper", email="grace@navy.mil", subject="Again", message="Hi")
    ok(admin.post(f"/admin/leads/{second}/delete/"))
    ok(admin.get("/admin/privacy/"), 200)
    assert "Compilers" in ok(admin.post("/admin/privacy/", {"email": "grace@navy.mil"}), 200).content.decode()
    ok(admin.post("/admin/privacy/export/", {"email": "grace@navy.mil"}), 200)
    ok(admin.post("/admin/privacy/erase/", {"email": "grace@navy.mil", "stage": "confirm", "confirm": "on"}))

    # An invitation (on condition that no account has the address: a ConditionCheck), listed on the staff
    # page (a Query on the invitations' index), resent, withdrawn, sent again and accepted.
    ok(admin.post("/admin/staff/", {"email": "sam@example.com", "name": "Sam", "role": "sales"}))
    invitation_id = re.search(r"/admin/staff/invitations/([0-9a-f]{32})/resend/",
                              ok(admin.get("/admin/staff/"), 200).content.decode()).group(1)
    ok(admin.post(f"/admin/staff/invitations/{invitation_id}/resend/"))
    ok(admin.post(f"/admin/staff/invitations/{invitation_id}/withdraw/"))
    link = invite(admin, "sam@example.com", name="Sam")
    sam = accept_invitation(link, PASSWORD)
    ok(sam.post("/admin/logout/"))
    ok(sam.post("/admin/login/", {"email": "sam@example.com", "password": PASSWORD}))
    # A new role ends every session of that person: a Query on the sessions' index and a BatchWriteItem.
    ok(admin.post("/admin/staff/sam@example.com/", {"name": "Sam", "role": "admin", "active": "on"}))
    assert ok(sam.get("/admin/")).url.startswith("/admin/login/")
    # Where you're signed in (a Query on the sessions' index and a BatchGetItem), one other session signed
    # out (a TransactWriteItems), everywhere else (a BatchWriteItem); the last activity (an UpdateItem).
    elsewhere = Client()
    ok(elsewhere.post("/admin/login/", {"email": "boss@example.com", "password": PASSWORD}))
    session = re.search(r'name="session" value="([0-9a-f]+)"', ok(admin.get("/admin/account/sessions/"), 200)
                        .content.decode()).group(1)
    ok(admin.post("/admin/account/sessions/end/", {"session": session}))
    ok(admin.post("/admin/account/sessions/end-others/"))
    with override_settings(LEADS_SESSION_ACTIVITY_INTERVAL=0):
        ok(admin.get("/admin/"), 200)
    # A password reset: the rate windows, the account read, its conditional update, its sessions ended.
    ok(Client().post("/admin/password-reset/", {"email": "sam@example.com"}), 200)
    reset_link = re.search(r"http://testserver(/admin/password-reset/\S+/)", mail.outbox[-1].body).group(1)
    resetting = Client()
    form = ok(resetting.get(reset_link))["Location"]
    ok(resetting.post(form, {"new_password1": "a brand new passphrase 42", "new_password2": "a brand new passphrase 42"}))
    # Webhooks (issue 14): a delivery that fails (its markers read, its dead letter written), the admins'
    # page (a Query on the history table) and "Try again" (the failure read, updated, then deleted).
    from tests.webhook_receiver import refused_url

    with override_settings(LEADS_WEBHOOKS=[{"kind": "slack", "name": "sales", "url": refused_url(), "secret": None}],
                           LEADS_WEBHOOK_TIMEOUT=0.3):
        hooked_lead = tokens.new_lead_id()
        services.lead_submit(lead_id=hooked_lead, name="Ada", email="ada@example.com", subject="Hooks", message="Hi")
        ok(admin.post(f"/admin/leads/{hooked_lead}/", {"status": "lost", "notes": "", "owner": "", "version": 1}))
        failure = re.search(r'name="failure" value="([^"]+)"', ok(admin.get("/admin/webhooks/"), 200).content.decode())
        ok(admin.post("/admin/webhooks/retry/", {"failure": failure.group(1)}))
    ok(admin.post("/admin/logout/"))


def test_the_app_policy_allows_every_call_the_app_makes_and_nothing_it_does_not_use():
    with recorded_calls() as calls:
        exercise_the_app()
    policy = literal_policy(cloudformation.app_policy_document)
    denied = sorted(call for call in calls if not allowing(policy, *call))
    assert denied == []
    used = {action for action, _ in calls}
    # Every runtime action is exercised above; none is granted just in case.
    assert used == set(cloudformation.RUNTIME_ACTIONS)
    # The stream statements are left out: the Lambda event source mapping reads the stream, not app code.
    used_statements = {sid for call in calls for sid in allowing(policy, *call)}
    assert used_statements == {"AppTables", "AppIndexes"}


def test_the_admin_policy_covers_create_tables_exactly():
    from tests.storage.test_tables import recreate_without

    for model in ALL_MODELS:
        model.delete_table()
    recreate_without(TrashedLead, "email-index")  # made by an older release: create_tables adds the index
    with recorded_calls() as calls:
        reports = tables.create_all()
    policy = literal_policy(cloudformation.admin_policy_document)
    assert sorted(call for call in calls if not allowing(policy, *call)) == []
    # An endpoint without point-in-time recovery (DynamoDB Local) is never asked to turn it on.
    pitr_supported = not any("PITR not supported by this endpoint" in report.notes for report in reports)
    unused = set() if pitr_supported else {"dynamodb:UpdateContinuousBackups"}
    assert {action for action, _ in calls} == set(cloudformation.ADMIN_ACTIONS) - unused


@pytest.mark.security(hole=7, title="leads_audit, seed_demo and leads_backfill_keys get exactly the IAM actions they use")
def test_the_maintenance_policy_covers_leads_audit_seed_demo_and_the_backfill_exactly():
    from leads.management.maintenance import IAM_GRANTS

    for n in range(3):
        services.lead_submit(lead_id=f"{n:032x}", name="Ann", email=f"ann{n}@acme.com", subject="Hi", message="Hello")
    Tally(tallies.status_shard_key(5)).update(actions=[Tally.n_lost.add(2)])  # drift for --repair to fix
    # A lead stored before the owner and prefix indexes: the backfill gives it their keys.
    LeadIndexKeys(f"{0:032x}").update(actions=[LeadIndexKeys.owner_key.remove(), LeadIndexKeys.owner_status.remove()])
    with recorded_calls() as calls:
        command_output("seed_demo", "--count", "30", "--verbosity", "0")
        command_output("leads_audit", "--repair")
        command_output("leads_audit")
        command_output("leads_backfill_keys")
    policy = literal_policy(lambda models, arns: cloudformation.maintenance_policy_document(models, IAM_GRANTS, arns))
    assert sorted(call for call in calls if not allowing(policy, *call)) == []
    granted = {(action, table_arn(settings.DYNAMODB_TABLE_PREFIX + table))
               for action, tables in IAM_GRANTS.items() for table in tables}
    assert calls == granted  # nothing granted that the commands do not use
    # The running app never scans: the app policy does not allow it anywhere.
    assert not allowing(literal_policy(cloudformation.app_policy_document), "dynamodb:Scan",
                        table_arn(settings.DYNAMODB_TABLE_PREFIX + "leads"))


def test_runtime_and_admin_actions_do_not_overlap():
    assert not set(cloudformation.RUNTIME_ACTIONS) & set(cloudformation.ADMIN_ACTIONS)


# --- The commands ------------------------------------------------------------------------------------

def test_policy_only_prints_the_app_policy_document_for_the_configured_tables():
    document = json.loads(command_output("dynamodb_template", "--policy-only"))
    assert document["Version"] == "2012-10-17"
    [tables_statement] = [s for s in document["Statement"] if s["Sid"] == "AppTables"]
    prefix = f"arn:aws:dynamodb:{settings.AWS_REGION}:*:table/{settings.DYNAMODB_TABLE_PREFIX}"
    assert tables_statement["Resource"] == [prefix + m.base_table_name for m in ALL_MODELS]


def test_policy_only_admin_prints_the_create_tables_policy_for_an_account():
    document = json.loads(command_output("dynamodb_template", "--policy-only", "--admin", "--account-id", ACCOUNT))
    [statement] = document["Statement"]
    assert statement["Action"] == list(cloudformation.ADMIN_ACTIONS)
    assert statement["Resource"] == [table_arn(m.Meta.table_name) for m in ALL_MODELS]


def test_policy_only_maintenance_prints_the_maintenance_policy():
    document = json.loads(command_output("dynamodb_template", "--policy-only", "--maintenance", "--account-id", ACCOUNT))
    scan = [s for s in document["Statement"] if s["Action"] == ["dynamodb:Scan"]]
    # The leads, and the counters table's tally shards (the audit finds months TTL emptied of leads).
    assert [s["Resource"] for s in scan] == [[table_arn(Lead.Meta.table_name), table_arn(CountersTable.Meta.table_name)]]


def test_admin_without_policy_only_is_an_error():
    with pytest.raises(CommandError):
        command_output("dynamodb_template", "--admin")
    with pytest.raises(CommandError):
        command_output("dynamodb_template", "--maintenance")


def ttl_status(model) -> tuple[str, str | None]:
    description = internals.botocore_client(model).describe_time_to_live(TableName=model.Meta.table_name)
    return description["TimeToLiveDescription"]["TimeToLiveStatus"], description["TimeToLiveDescription"].get("AttributeName")


def pitr_status(model) -> str:
    client = internals.botocore_client(model)
    description = client.describe_continuous_backups(TableName=model.Meta.table_name)["ContinuousBackupsDescription"]
    return description["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]


def test_create_tables_twice_creates_then_finds_them_with_ttl_and_pitr_on(moto_only):
    for model in ALL_MODELS:
        model.delete_table()
    first, second = command_output("create_tables"), command_output("create_tables")
    prefix = settings.DYNAMODB_TABLE_PREFIX
    assert f"created  {prefix}leads  (TTL on expires_at, stream NEW_AND_OLD_IMAGES, PITR turned on)\n" in first
    assert f"created  {prefix}sessions  (TTL on expires_at, PITR turned on)\n" in first
    assert second.splitlines() == [
        f"exists   {model.Meta.table_name}  ({'TTL on expires_at, ' if ttl_attribute(model) else ''}"
        f"{'stream NEW_AND_OLD_IMAGES, ' if model is Lead else ''}PITR on)"
        for model in ALL_MODELS
    ]
    for model in (Lead, HistoryEvent, StaffSession, TrashedLead, CountersTable, Invitation):
        assert ttl_status(model) == ("ENABLED", "expires_at")
    assert {pitr_status(model) for model in ALL_MODELS} == {"ENABLED"}


def test_create_tables_turns_ttl_and_pitr_on_for_tables_made_without_them(moto_only):
    client = internals.botocore_client(StaffSession)
    client.update_time_to_live(TableName=StaffSession.Meta.table_name,
                               TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": False})
    client.update_continuous_backups(TableName=Lead.Meta.table_name,
                                     PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    output = command_output("create_tables")
    assert f"exists   {StaffSession.Meta.table_name}  (TTL turned on for expires_at, PITR on)" in output
    assert f"exists   {Lead.Meta.table_name}  (TTL on expires_at, stream NEW_AND_OLD_IMAGES, PITR turned on)" in output
    assert ttl_status(StaffSession) == ("ENABLED", "expires_at") and pitr_status(Lead) == "ENABLED"


def test_create_tables_reports_an_endpoint_without_pitr_instead_of_failing():
    with dynamodb_fault(operations={"DescribeContinuousBackups"}, code="UnknownOperationException"):
        lines = command_output("create_tables").splitlines()
    assert len(lines) == len(ALL_MODELS)
    assert all(line.endswith("PITR not supported by this endpoint)") for line in lines)
    assert f"exists   {CountersTable.Meta.table_name}  (TTL on expires_at, PITR not supported by this endpoint)" in lines


def test_create_tables_does_not_hide_other_pitr_errors():
    with dynamodb_fault(operations={"DescribeContinuousBackups"}, code="AccessDeniedException"):
        with pytest.raises(ClientError, match="AccessDenied"):
            command_output("create_tables")
