"""A CloudFormation template for the tables and the app's IAM policies, generated from the PynamoDB models.

The models (``leads.storage.models.ALL_MODELS``) are the single source of truth: every table, key, attribute type,
index, projection, TTL attribute and stream below is read from them; nothing here names a table or an
attribute. Table names are ``${TablePrefix}`` + ``base_table_name``, as ``leads.storage.dynamodb`` names them
from ``DYNAMODB_TABLE_PREFIX``.

Two managed policies, because the two jobs need different power:

- ``AppPolicy`` — what the running app needs (RUNTIME_ACTIONS on its tables, Query on their indexes,
  reading the leads stream for the Lambda trigger). Attach it to the Lambda's or container's role.
- ``TablesAdminPolicy`` — ADMIN_ACTIONS, what ``manage.py create_tables`` needs to create tables, add
  indexes the models gained to existing ones, and turn on TTL and point-in-time recovery. Only for
  whoever runs that command: the app itself must never be able to create or reconfigure tables. (Where
  this stack is deployed, CloudFormation creates the tables and ``create_tables`` then only describes them.)

- ``MaintenancePolicy`` — exactly what the offline commands ``leads_audit`` and ``seed_demo`` call
  (``leads.management.maintenance.IAM_GRANTS``: a consistent Scan of the leads, the tallies, batch
  writes of demo data). Only the app itself never scans, so only this policy allows Scan.

Everything here is a pure function of its arguments (models in, dicts out).
"""

from dataclasses import dataclass

from pynamodb.constants import BINARY, NUMBER, PAY_PER_REQUEST_BILLING_MODE, STRING

from leads.storage import internals

PREFIX_PARAMETER = "TablePrefix"
DEFAULT_PREFIX = "leads-"
POLICY_VERSION = "2012-10-17"

# Every DynamoDB action the running app performs (web requests and the stream handler), and why.
# TransactWriteItems has no IAM action of its own: each Put/Update/Delete item in a transaction is
# authorised as PutItem/UpdateItem/DeleteItem on its table, and each ConditionCheck item as
# ConditionCheckItem. tests/test_cloudformation.py drives the app and fails if it performs an action
# missing here, or if an action here is never performed.
RUNTIME_ACTIONS = (
    "dynamodb:GetItem",  # Model.get: a lead, trashed lead, staff member, session; /healthz; stream markers
    "dynamodb:BatchGetItem",  # bulk actions, CSV export, dashboard counters
    "dynamodb:Query",  # inbox, trash and roster indexes, a lead's history, a staff member's sessions, failed webhooks
    "dynamodb:PutItem",  # sessions, new staff, stream and webhook markers, failed webhooks; Put in transactions
    "dynamodb:UpdateItem",  # staff changes; Update in transactions (lead edits, counters, rate/sign-in limits)
    "dynamodb:DeleteItem",  # logout, a failed webhook resent; Delete in transactions (lead to trash, trash on restore)
    "dynamodb:BatchWriteItem",  # ending every session of a staff member whose access changed
    "dynamodb:ConditionCheckItem",  # an invitation is written on condition that no account has its address
)
# The actions IAM authorises against an index's ARN; every other one acts on the table's.
INDEX_ACTIONS = ("dynamodb:Query", "dynamodb:Scan")
# What a Lambda event source mapping needs to read a table's stream.
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
# What `manage.py create_tables` needs (leads.storage.tables): exists(), create_table(wait=True), adding an
# index the models gained to an existing table (UpdateTable), TTL and PITR.
ADMIN_ACTIONS = (
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:UpdateTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:UpdateContinuousBackups",
)
KEY_TYPES = (STRING, NUMBER, BINARY)


def logical_name(model) -> str:
    """The name the template gives the model's table: its class name unless it keeps an older one (logical_name)."""
    return getattr(model, "logical_name", model.__name__)


def logical_id(model) -> str:
    """The table's logical id in the template (class names are alphanumeric, as CloudFormation wants)."""
    return f"{logical_name(model)}Table"


def has_indexes(model) -> bool:
    """True when the model declares secondary indexes."""
    schema = internals.table_schema(model)
    return bool(schema["global_secondary_indexes"] or schema["local_secondary_indexes"])


def stream_view_type(model) -> str | None:
    """The model's Meta.stream_view_type, or None when its table has no stream."""
    return getattr(model.Meta, "stream_view_type", None)


class StackArns:
    """ARNs as references to the template's own tables."""

    def table(self, model) -> dict:
        return {"Fn::GetAtt": [logical_id(model), "Arn"]}

    def indexes(self, model) -> dict:
        return {"Fn::Sub": "${%s.Arn}/index/*" % logical_id(model)}

    def stream(self, model) -> dict:
        return {"Fn::GetAtt": [logical_id(model), "StreamArn"]}


@dataclass(frozen=True)
class LiteralArns:
    """ARNs spelled out for one partition, region, account and table prefix."""

    prefix: str
    region: str
    account: str
    partition: str = "aws"

    def table(self, model) -> str:
        name = self.prefix + model.base_table_name
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{name}"

    def indexes(self, model) -> str:
        return self.table(model) + "/index/*"

    def stream(self, model) -> str:
        # A stream's label is its creation time, unknown until the table exists.
        return self.table(model) + "/stream/*"


def _key_schema(elements: list[dict]) -> list[dict]:
    """KeySchema with HASH first, then RANGE, as DynamoDB requires."""
    ordered = sorted(elements, key=lambda element: element["KeyType"] != "HASH")
    return [{"AttributeName": e["AttributeName"], "KeyType": e["KeyType"]} for e in ordered]


def _attribute_definitions(model, definitions: list[dict]) -> list[dict]:
    """AttributeDefinitions for the key attributes; DynamoDB keys can only be strings, numbers or binary."""
    for definition in definitions:
        if definition["AttributeType"] not in KEY_TYPES:
            raise ValueError(f"{model.__name__}.{definition['AttributeName']} cannot be a key: "
                             f"type {definition['AttributeType']}")
    return [{"AttributeName": d["AttributeName"], "AttributeType": d["AttributeType"]} for d in definitions]


def _index(index: dict) -> dict:
    """One secondary index as CloudFormation spells it."""
    projection = {"ProjectionType": index["projection"]["ProjectionType"]}
    if index["projection"].get("NonKeyAttributes"):
        projection["NonKeyAttributes"] = list(index["projection"]["NonKeyAttributes"])
    return {"IndexName": index["index_name"], "KeySchema": _key_schema(index["key_schema"]), "Projection": projection}


def _billing_mode(model) -> str:
    """PAY_PER_REQUEST, the only mode this template writes (it declares no provisioned capacity)."""
    mode = getattr(model.Meta, "billing_mode", None)
    if mode != PAY_PER_REQUEST_BILLING_MODE:
        raise ValueError(f"{model.__name__}.Meta.billing_mode is {mode!r}; only {PAY_PER_REQUEST_BILLING_MODE} is supported")
    return mode


def table_properties(model) -> dict:
    """An AWS::DynamoDB::Table's Properties for this model."""
    schema = internals.table_schema(model)
    properties = {
        "TableName": {"Fn::Sub": "${%s}%s" % (PREFIX_PARAMETER, model.base_table_name)},
        "BillingMode": _billing_mode(model),
        "AttributeDefinitions": _attribute_definitions(model, schema["attribute_definitions"]),
        "KeySchema": _key_schema(schema["key_schema"]),
    }
    if schema["global_secondary_indexes"]:
        properties["GlobalSecondaryIndexes"] = [_index(index) for index in schema["global_secondary_indexes"]]
    if schema["local_secondary_indexes"]:
        properties["LocalSecondaryIndexes"] = [_index(index) for index in schema["local_secondary_indexes"]]
    ttl = internals.ttl_attribute(model)
    if ttl is not None:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
    if stream_view_type(model):
        properties["StreamSpecification"] = {"StreamViewType": stream_view_type(model)}
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    # The AWS managed key: key use shows in CloudTrail, and its key policy already admits DynamoDB callers.
    properties["SSESpecification"] = {"SSEEnabled": True}
    return properties


def table_resource(model) -> dict:
    """The model's table; kept when the stack is deleted or the table replaced, so leads are never dropped."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": table_properties(model),
    }


def app_policy_document(models, arns=None) -> dict:
    """The running app's IAM policy: RUNTIME_ACTIONS on the tables, Query on indexes, the leads stream."""
    arns = arns or StackArns()
    statements = [
        {"Sid": "AppTables", "Effect": "Allow", "Action": list(RUNTIME_ACTIONS),
         "Resource": [arns.table(model) for model in models]},
    ]
    index_actions = [action for action in RUNTIME_ACTIONS if action in INDEX_ACTIONS]
    indexed = [model for model in models if has_indexes(model)]
    if index_actions and indexed:
        statements.append({"Sid": "AppIndexes", "Effect": "Allow", "Action": index_actions,
                           "Resource": [arns.indexes(model) for model in indexed]})
    streamed = [model for model in models if stream_view_type(model)]
    if streamed:
        statements.append({"Sid": "StreamTrigger", "Effect": "Allow", "Action": list(STREAM_ACTIONS),
                           "Resource": [arns.stream(model) for model in streamed]})
        # ListStreams has no resource-level permissions: IAM accepts it only with Resource "*".
        statements.append({"Sid": "StreamTriggerListStreams", "Effect": "Allow",
                           "Action": ["dynamodb:ListStreams"], "Resource": "*"})
    return {"Version": POLICY_VERSION, "Statement": statements}


def admin_policy_document(models, arns=None) -> dict:
    """The IAM policy `manage.py create_tables` needs: ADMIN_ACTIONS on the tables, nothing else."""
    arns = arns or StackArns()
    return {"Version": POLICY_VERSION, "Statement": [
        {"Sid": "CreateTables", "Effect": "Allow", "Action": list(ADMIN_ACTIONS),
         "Resource": [arns.table(model) for model in models]},
    ]}


def maintenance_policy_document(models, grants: dict[str, tuple[str, ...]], arns=None) -> dict:
    """The offline maintenance commands' IAM policy: each action on exactly the tables it is used on.

    `grants` maps an action to the base table names it acts on (leads.management.maintenance.IAM_GRANTS).
    """
    arns = arns or StackArns()
    by_name = {model.base_table_name: model for model in models}
    statements = []
    for action, tables in grants.items():
        sid = "Maintenance" + action.partition(":")[2]
        statements.append({"Sid": sid, "Effect": "Allow", "Action": [action],
                           "Resource": [arns.table(by_name[name]) for name in tables]})
    return {"Version": POLICY_VERSION, "Statement": statements}


def _managed_policy(description: str, document: dict) -> dict:
    return {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Description": description, "PolicyDocument": document}}


def _outputs(models) -> dict:
    """Each table's name, each stream's ARN and both policies' ARNs."""
    outputs = {}
    for model in models:
        outputs[f"{logical_name(model)}TableName"] = {"Value": {"Ref": logical_id(model)}}
        if stream_view_type(model):
            outputs[f"{logical_name(model)}StreamArn"] = {"Value": {"Fn::GetAtt": [logical_id(model), "StreamArn"]}}
    outputs["AppPolicyArn"] = {"Value": {"Ref": "AppPolicy"}}
    outputs["TablesAdminPolicyArn"] = {"Value": {"Ref": "TablesAdminPolicy"}}
    outputs["MaintenancePolicyArn"] = {"Value": {"Ref": "MaintenancePolicy"}}
    return outputs


def template(models, maintenance_grants: dict[str, tuple[str, ...]]) -> dict:
    """The whole CloudFormation template for these models and the maintenance commands' grants."""
    resources = {logical_id(model): table_resource(model) for model in models}
    resources["AppPolicy"] = _managed_policy(
        "Leads app: read and write its DynamoDB tables and read the leads stream.", app_policy_document(models))
    resources["TablesAdminPolicy"] = _managed_policy(
        "Leads create_tables: create the tables, add indexes, turn on TTL and point-in-time recovery.",
        admin_policy_document(models))
    resources["MaintenancePolicy"] = _managed_policy(
        "Leads leads_audit and seed_demo: scan the leads, read and repair the tallies, write demo data.",
        maintenance_policy_document(models, maintenance_grants))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Leads: DynamoDB tables and IAM policies, generated from the PynamoDB models.",
        "Parameters": {PREFIX_PARAMETER: {
            "Type": "String", "Default": DEFAULT_PREFIX, "AllowedPattern": "[a-zA-Z0-9_.-]*",
            "Description": "Prepended to every table name; must match the app's DYNAMODB_TABLE_PREFIX.",
        }},
        "Resources": resources,
        "Outputs": _outputs(models),
    }
