"""`make deploy` and `make undeploy`, rehearsed end to end against an emulated AWS: moto in server mode.

`manage.py deploy` runs as `make deploy` runs it — the deploy virtualenv's Python (.venv-deploy, built
from requirements-deploy.txt by the Makefile), DEBUG off — in a copy of the project, with
AWS_ENDPOINT_URL sending every AWS call (botocore here, boto3 inside Zappa) to moto's server on a
loopback port. Zappa does its part for real: it packages the virtualenv, creates the S3 bucket and
uploads the zip, creates the IAM role (with the app's least-privilege policy), the Lambda function,
API Gateway (through its own CloudFormation stack) and the keep-warm rule.

What moto cannot rehearse: invoking the function, which needs a Docker engine to run Lambda's runtime,
so no request reaches the deployed code here. The package's handler has its own tests
(tests/integration/test_lambda_package.py runs the built package in a fresh interpreter). Zappa's
`touch` (a GET of the new API's URL, on the internet) is turned off for the same reason.

Where moto falls short of AWS: it lacks ListFunctionUrlConfigs, which `zappa update` calls (the `aws`
fixture adds it to moto's server, answering from moto's own store of function URLs; this deployment
configures none); deleting Zappa's API stack leaves the REST API behind in moto (AWS deletes it with the
stack); and moto answers Lambda's AddPermission with 200 where AWS says 201, so Zappa logs "Problem
creating permission" for the keep-warm rule although the permission exists.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest

from leads.management.deploy import Stage, execution_policy
from leads.storage.models import ALL_MODELS
from tests.integration.servers import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.backend("moto", reason="deploys to its own moto server; the suite's DynamoDB is not involved"),
]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"
REGION = "eu-west-1"
STAGE = "production"
FUNCTION = "leads-production"
PREFIX = "leads-rehearsal-"
STACK = "leads-rehearsal-tables"
BUCKET = "leads-rehearsal-deployments"
CONFIG_BUCKET = "leads-rehearsal-config"
ADMIN, PASSWORD = "owner@example.com", "correct horse battery staple"
# What a deployment's package needs of the project (Zappa packages the working directory).
PROJECT_FILES = ("leads", "leadsite", "templates", "static", "manage.py", "requirements.txt")

requires_deploy_venv = pytest.mark.skipif(
    not DEPLOY_PYTHON.exists(), reason="needs .venv-deploy (`make deploy-venv`; `make test` builds it)")


def list_function_url_configs(request, full_url, headers):
    """ListFunctionUrlConfigs, which moto's server lacks: the function's URL config from moto's store, if any."""
    from moto.awslambda.models import lambda_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    name = unquote(full_url.split("/functions/", 1)[1].split("/", 1)[0])
    region = request.headers["Authorization"].split("Credential=", 1)[1].split("/")[2]
    try:
        configs = [lambda_backends[DEFAULT_ACCOUNT_ID][region].get_function_url_config(name).to_dict()]
    except Exception:  # moto's FunctionUrlConfigNotFound: none configured
        configs = []
    return 200, {"Content-Type": "application/json"}, json.dumps({"FunctionUrlConfigs": configs})


@pytest.fixture(scope="module")
def aws():
    """moto's server on a loopback port, with ListFunctionUrlConfigs; the endpoint URL."""
    from moto.awslambda import urls
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(urls.url_paths, r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/urls/?$",
                      list_function_url_configs)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


@pytest.fixture(scope="module")
def clients(aws):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return lambda service: session.client(service, endpoint_url=aws)


def rehearsal_stage() -> dict:
    """zappa_settings.json's production stage, its CHANGE-MEs filled in as a deployer would."""
    stage = json.loads((ROOT / "zappa_settings.json").read_text())[STAGE]
    stage.update(s3_bucket=BUCKET, remote_env=f"s3://{CONFIG_BUCKET}/{STAGE}/env.json",
                 touch=False)  # touch GETs the new API on the internet
    stage["environment_variables"] = {**stage["environment_variables"], "DYNAMODB_TABLE_PREFIX": PREFIX,
                                      "ALLOWED_HOSTS": f"abc123.execute-api.{REGION}.amazonaws.com"}
    return stage


@pytest.fixture(scope="module")
def project(tmp_path_factory, clients):
    """A copy of the project with a filled-in zappa_settings.json, and the stage's remote_env uploaded."""
    root = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    (root / "zappa_settings.json").write_text(json.dumps({STAGE: rehearsal_stage()}, indent=2))
    s3 = clients("s3")
    s3.create_bucket(Bucket=CONFIG_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=CONFIG_BUCKET, Key=f"{STAGE}/env.json",
                  Body=json.dumps({"SECRET_KEY": "k" * 50, "EMAIL_URL": "smtp+tls://mail.example.com:587"}))
    return root


@pytest.fixture(scope="module")
def manage(aws, project):
    """Run `manage.py …` in the project copy as `make deploy` does; the CompletedProcess."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("AWS_", "DYNAMODB_", "LEADS_", "DJANGO_")) and key != "VIRTUAL_ENV"}
    environment.update(DEBUG="0", SECRET_KEY="local-deploy-process-only", DYNAMODB_ENDPOINT="aws",
                       AWS_ENDPOINT_URL=aws, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_DEFAULT_REGION=REGION)

    def run(*args, stdin="", root=project):
        return subprocess.run([str(DEPLOY_PYTHON), "manage.py", *args], cwd=root, env=environment,
                              input=stdin, text=True, capture_output=True, timeout=300)

    return run


def succeeded(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def snapshot(clients) -> dict:
    """Everything a deployment creates, in a comparable form."""
    lam, cfn = clients("lambda"), clients("cloudformation")
    functions = {f["FunctionName"]: (f["CodeSha256"], f["LastModified"]) for f in lam.list_functions()["Functions"]}
    stacks = {s["StackName"]: (s["StackStatus"], str(s.get("LastUpdatedTime")))
              for s in cfn.describe_stacks()["Stacks"]}
    mappings = sorted(json.dumps({k: v for k, v in m.items() if k != "LastModified"}, sort_keys=True, default=str)
                      for m in lam.list_event_source_mappings()["EventSourceMappings"])
    return {
        "functions": functions,
        "stacks": stacks,
        "mappings": mappings,
        "apis": sorted(api["name"] for api in clients("apigateway").get_rest_apis()["items"]),
        "rules": sorted(rule["Name"] for rule in clients("events").list_rules()["Rules"]),
        "tables": sorted(clients("dynamodb").list_tables()["TableNames"]),
        "objects": sorted(o["Key"] for o in clients("s3").list_objects_v2(Bucket=BUCKET).get("Contents", []))
        if BUCKET in [b["Name"] for b in clients("s3").list_buckets()["Buckets"]] else None,
        "staff": clients("dynamodb").scan(TableName=PREFIX + "staff")["Items"]
        if PREFIX + "staff" in clients("dynamodb").list_tables()["TableNames"] else None,
    }


def stream_arn(clients) -> str:
    outputs = clients("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}["LeadStreamArn"]


def only_mapping(clients) -> dict:
    mappings = clients("lambda").list_event_source_mappings(FunctionName=FUNCTION)["EventSourceMappings"]
    assert len(mappings) == 1, mappings
    return mappings[0]


@requires_deploy_venv
def test_deploy_redeploy_dry_run_and_undeploy(manage, clients, project):
    # The first deploy, planned: nothing exists, nothing is changed by the plan.
    before = snapshot(clients)
    out = succeeded(manage("deploy", "--stage", STAGE, "--dry-run", "--admin-email", ADMIN))
    assert f"create the stack: {len(ALL_MODELS)} tables and 3 IAM policies, TablePrefix={PREFIX}" in out
    assert f"zappa deploy {STAGE}" in out and "create admin owner@example.com" in out
    assert "Dry run: nothing was changed." in out
    assert snapshot(clients) == before

    # Without an admin to create, a stage with no admin is refused before anything changes.
    refused = manage("deploy", "--stage", STAGE)
    assert refused.returncode != 0 and "no admin yet" in refused.stderr
    assert snapshot(clients) == before

    # Deploy: the password comes from stdin (a terminal would be asked twice), never from the environment.
    out = succeeded(manage("deploy", "--stage", STAGE, "--admin-email", ADMIN, stdin=PASSWORD + "\n"))
    assert "Deployed production." in out

    stack = clients("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {"TablePrefix": PREFIX}
    tables = clients("dynamodb").list_tables()["TableNames"]
    assert sorted(tables) == sorted(PREFIX + model.base_table_name for model in ALL_MODELS)
    leads_table = clients("dynamodb").describe_table(TableName=PREFIX + "leads")["Table"]
    assert leads_table["LatestStreamArn"] == stream_arn(clients)

    function = clients("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert (function["Runtime"], function["Handler"], function["MemorySize"], function["Timeout"]) == (
        "python3.11", "handler.lambda_handler", 1024, 30)
    assert function["CodeSize"] <= 20 * 2**20  # the pruned package
    # The stage's environment_variables travel inside the package (Zappa's zappa_settings.py); Lambda's own
    # environment holds nothing of ours, and certainly no password.
    assert PASSWORD not in json.dumps(function) and "PASSWORD" not in json.dumps(function.get("Environment", {}))
    role = f"{FUNCTION}-ZappaLambdaExecutionRole"
    assert clients("iam").get_role(RoleName=role)["Role"]["Arn"] == function["Role"]
    # The role may do what the app does, and no more: not Zappa's default (s3:*, dynamodb:*… on everything).
    policy = clients("iam").get_role_policy(RoleName=role, PolicyName="zappa-permissions")["PolicyDocument"]
    assert policy == execution_policy(Stage.load(project / "zappa_settings.json", STAGE), account="123456789012")
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert not [action for action in actions if action.endswith("*")]

    apis = clients("apigateway").get_rest_apis()["items"]
    assert [api["name"] for api in apis] == [FUNCTION]
    assert [s["stageName"] for s in clients("apigateway").get_stages(restApiId=apis[0]["id"])["item"]] == [STAGE]
    # Zappa's keep-warm, and the daily follow-up digest (zappa_settings.json's `events`).
    assert sorted(r["Name"] for r in clients("events").list_rules()["Rules"]) == [
        f"{FUNCTION}-leads.management.digests.handle", f"{FUNCTION}-zappa-keep-warm-handler.keep_warm_callback"]
    assert snapshot(clients)["objects"] == []  # Zappa removed the uploaded zip once the function had it

    mapping = only_mapping(clients)
    assert mapping["EventSourceArn"] == stream_arn(clients)
    assert mapping["FunctionArn"] == function["FunctionArn"]
    assert (mapping["StartingPosition"], mapping["BatchSize"], mapping["FunctionResponseTypes"],
            mapping["MaximumRetryAttempts"], mapping["BisectBatchOnFunctionError"], mapping["State"]) == (
        "TRIM_HORIZON", 10, ["ReportBatchItemFailures"], 10, True, "Enabled")

    admin = clients("dynamodb").get_item(TableName=PREFIX + "staff", Key={"email": {"S": ADMIN}})["Item"]
    assert admin["role"]["S"] == "admin" and admin["password"]["S"].startswith("pbkdf2_sha256$")
    assert PASSWORD not in admin["password"]["S"]

    # Planned again: everything is up to date except the code, which Zappa updates.
    deployed = snapshot(clients)
    out = succeeded(manage("deploy", "--stage", STAGE, "--dry-run"))
    assert "tables (stack leads-rehearsal-tables): up to date" in out
    assert f"zappa update {STAGE}" in out
    assert "stream trigger: up to date" in out and "the stage has 1 admin(s)" in out
    assert snapshot(clients) == deployed

    # Someone changed the trigger by hand; deploying again restores it and duplicates nothing.
    clients("lambda").update_event_source_mapping(UUID=mapping["UUID"], BatchSize=100, MaximumRetryAttempts=-1)
    out = succeeded(manage("deploy", "--stage", STAGE, "--dry-run"))
    assert "update BatchSize, MaximumRetryAttempts of leads-rehearsal-leads's stream mapping" in out
    out = succeeded(manage("deploy", "--stage", STAGE))
    assert "mapping updated" in out and "Calling update for stage production" in out
    again = snapshot(clients)
    assert again["stacks"][STACK] == deployed["stacks"][STACK]  # the tables stack was not touched
    assert list(again["stacks"]) == list(deployed["stacks"]) and again["tables"] == deployed["tables"]
    assert again["apis"] == deployed["apis"] and again["rules"] == deployed["rules"]
    assert again["staff"] == deployed["staff"]
    assert list(again["functions"]) == [FUNCTION]
    assert again["functions"][FUNCTION] != deployed["functions"][FUNCTION]  # new code
    assert only_mapping(clients)["UUID"] == mapping["UUID"]
    assert (only_mapping(clients)["BatchSize"], only_mapping(clients)["MaximumRetryAttempts"]) == (10, 10)

    # The stack drifted from the models' template (a policy removed by hand): deploy updates it, in place.
    template = clients("cloudformation").get_template(StackName=STACK)["TemplateBody"]
    template = json.loads(template) if isinstance(template, str) else template
    del template["Resources"]["MaintenancePolicy"], template["Outputs"]["MaintenancePolicyArn"]
    clients("cloudformation").update_stack(StackName=STACK, TemplateBody=json.dumps(template),
                                           Parameters=[{"ParameterKey": "TablePrefix", "UsePreviousValue": True}],
                                           Capabilities=["CAPABILITY_IAM"])
    out = succeeded(manage("deploy", "--stage", STAGE, "--dry-run"))
    assert "tables (stack leads-rehearsal-tables): update the stack: MaintenancePolicy" in out
    out = succeeded(manage("deploy", "--stage", STAGE))
    assert "stack updated" in out
    stack = clients("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE" and "MaintenancePolicyArn" in str(stack["Outputs"])
    assert "tables (stack leads-rehearsal-tables): up to date" in succeeded(manage("deploy", "--stage", STAGE, "--dry-run"))
    assert snapshot(clients)["tables"] == deployed["tables"] and snapshot(clients)["staff"] == deployed["staff"]
    again = snapshot(clients)

    # Undeploy: the trigger and Zappa's deployment go; the tables and their leads stay.
    out = succeeded(manage("undeploy", "--stage", STAGE, "--dry-run"))
    assert f"kept: stack {STACK}" in out and snapshot(clients) == again
    out = succeeded(manage("undeploy", "--stage", STAGE))
    gone = snapshot(clients)
    assert gone["functions"] == {} and gone["rules"] == [] and gone["mappings"] == []
    # Zappa deletes API Gateway by deleting its stack, which is gone; moto leaves the REST API itself behind
    # (its RestApi has no CloudFormation delete), where AWS deletes it with the stack.
    assert gone["stacks"] == {STACK: again["stacks"][STACK]}
    assert gone["tables"] == deployed["tables"] and gone["staff"] == deployed["staff"]
    succeeded(manage("undeploy", "--stage", STAGE))  # again: nothing left to do

    # The tables go only when their stack is named.
    refused = manage("undeploy", "--stage", STAGE, "--delete-tables", "leads-prod-tables")
    assert refused.returncode != 0 and "must name the stage's stack" in refused.stderr
    assert snapshot(clients)["tables"] == deployed["tables"]
    out = succeeded(manage("undeploy", "--stage", STAGE, "--delete-tables", STACK))
    assert clients("dynamodb").list_tables()["TableNames"] == []
    assert clients("cloudformation").describe_stacks()["Stacks"] == [] or all(
        s["StackStatus"] == "DELETE_COMPLETE" for s in clients("cloudformation").describe_stacks()["Stacks"])


@requires_deploy_venv
def test_the_committed_settings_are_refused_until_filled_in(manage, clients, project, tmp_path):
    """zappa_settings.json as committed: the plan lists every CHANGE-ME, and nothing is created."""
    shutil.copytree(project, tmp_path / "fresh", ignore=shutil.ignore_patterns("staticfiles"))
    shutil.copy(ROOT / "zappa_settings.json", tmp_path / "fresh" / "zappa_settings.json")
    before = snapshot(clients)
    result = manage("deploy", "--stage", "dev", "--admin-email", ADMIN, root=tmp_path / "fresh")
    assert result.returncode != 0
    assert "Nothing was changed" in result.stderr
    assert "CHANGE-ME in: s3_bucket, remote_env, environment_variables.ALLOWED_HOSTS" in result.stderr
    assert snapshot(clients) == before
