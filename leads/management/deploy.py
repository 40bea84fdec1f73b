"""One Zappa stage on AWS Lambda, deployed or taken down idempotently (`manage.py deploy` / `undeploy`).

`deploy` plans every step first (what it would create, update or leave alone), and then applies them:

1. **tables** — the CloudFormation stack of the tables and IAM policies (leads.storage.cloudformation),
   named from the stage's DYNAMODB_TABLE_PREFIX (``leads-prod-`` → ``leads-prod-tables``): created, or
   updated when the models' template or the prefix differs from the stack's, or left alone.
2. **static files** — `collectstatic` into STATIC_ROOT, which Zappa packages and whitenoise serves, and the
   translations (locale/*/LC_MESSAGES/django.po) compiled into the .mo files Django reads, with GNU
   gettext's msgfmt (git keeps only the .po).
3. **function** — `zappa deploy` the first time, `zappa update` after: the S3 bucket, the IAM role, the
   Lambda function, API Gateway and the keep-warm rule (leads.management.zappa_cli, in a subprocess,
   packaging the virtualenv given; leads.management.lambda_package prunes the zip). The role's policy is
   execution_policy() — the app's least-privilege policy — not Zappa's default.
4. **stream trigger** — the event-source mapping from the leads table's stream (its ARN read from the
   stack's outputs) to the function, with STREAM_TRIGGER's settings: created, updated where they drifted,
   mappings from an older stream of the table removed. Zappa's handler routes the stream's records by
   that ARN, so it is written into the settings Zappa packages (``events``); zappa_settings.json itself
   holds no ARN.
5. **first admin** — when the stage has no admin, one is created from here, against the stage's tables,
   with a password typed on this machine: it never reaches Lambda's environment or remote_env.

`undeploy` removes the stream trigger and the Zappa deployment (function, API, rules), and keeps the
tables and their stack unless asked, by the stack's name, to delete them: they hold the leads.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Callable

import botocore.session
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings

from leads.domain import selectors, services
from leads.management.maintenance import IAM_GRANTS
from leads.management.zappa_cli import is_stream_trigger
from leads.storage import cloudformation, dynamodb
from leads.storage.models import ALL_MODELS, Lead

STREAM_FUNCTION = "leads.management.stream_handler.handle"
# Lambda reads the stream from its oldest record (24 hours): a lead stored before the mapping existed is
# still emailed, and the handler's markers make a re-read harmless.
STARTING_POSITION = "TRIM_HORIZON"
# Small batches; the handler reports the records it could not email (ReportBatchItemFailures), so a retry
# resumes there; a batch whose invocation fails outright is split to find the record at fault; after 10
# retries a record is given up on (the lead stays stored; only its email is not sent).
STREAM_TRIGGER = {
    "BatchSize": 10,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "MaximumRetryAttempts": 10,
    "BisectBatchOnFunctionError": True,
}
PLACEHOLDER = "CHANGE-ME"
REMOTE_ENV_KEYS = ("SECRET_KEY",)  # without it every request of the function fails
CAPABILITIES = ["CAPABILITY_IAM"]  # the stack creates IAM managed policies
STABLE_STACK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


class DeployError(Exception):
    """A reason to stop before (or while) changing anything; the message says what to do."""


@dataclass(frozen=True)
class Stage:
    """One stage of zappa_settings.json, as Zappa reads it (``extends`` resolved)."""

    name: str
    settings_file: Path
    config: dict
    lambda_name: str
    region: str

    @classmethod
    def load(cls, settings_file: Path, name: str) -> "Stage":
        from click.exceptions import ClickException
        from zappa.cli import ZappaCLI

        cli = ZappaCLI()
        cli.api_stage = name
        cli.load_credentials = False  # reading settings talks to nobody
        try:
            cli.load_settings(str(settings_file))
        except ClickException as error:
            raise DeployError(error.format_message()) from None
        return cls(name=name, settings_file=settings_file, config=dict(cli.stage_config),
                   lambda_name=cli.lambda_name, region=cli.aws_region)

    @property
    def environment(self) -> dict:
        return self.config.get("environment_variables", {})

    @property
    def prefix(self) -> str:
        return self.environment.get("DYNAMODB_TABLE_PREFIX", cloudformation.DEFAULT_PREFIX)

    @property
    def stack_name(self) -> str:
        """The tables stack: the table prefix made a stack name (``leads-prod-`` → ``leads-prod-tables``)."""
        name = re.sub(r"[^A-Za-z0-9-]+", "-", self.prefix).strip("-") or "leads"
        return f"{name}-tables" if name[0].isalpha() else f"leads-{name}-tables"

    def placeholders(self) -> list[str]:
        """The settings still holding CHANGE-ME, as `key` or `key.subkey`."""
        found = []
        for key, value in self.config.items():
            if isinstance(value, dict):
                found += [f"{key}.{sub}" for sub, inner in value.items() if PLACEHOLDER in json.dumps(inner)]
            elif PLACEHOLDER in json.dumps(value):
                found.append(key)
        return found


def stream_event(stream_arn: str) -> dict:
    """The `events` entry through which Zappa's handler routes the stream's records to the handler."""
    return {"function": STREAM_FUNCTION, "event_source": {
        "arn": stream_arn, "starting_position": STARTING_POSITION, "batch_size": STREAM_TRIGGER["BatchSize"]}}


def execution_policy(stage: Stage, *, account: str, partition: str = "aws") -> dict:
    """The function's IAM policy, in place of Zappa's default (which allows s3:*, dynamodb:*, sqs:*… on everything).

    The app's own policy (leads.storage.cloudformation: exactly its DynamoDB calls on its tables, reading the
    leads stream), writing its CloudWatch logs, and reading the stage's remote_env file; X-Ray when it traces.
    """
    arns = cloudformation.LiteralArns(prefix=stage.prefix, region=stage.region, account=account, partition=partition)
    policy = cloudformation.app_policy_document(ALL_MODELS, arns)
    log_group = f"arn:{partition}:logs:{stage.region}:{account}:log-group:/aws/lambda/{stage.lambda_name}"
    policy["Statement"].append({"Sid": "Logs", "Effect": "Allow", "Resource": [log_group, log_group + ":*"],
                                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]})
    if stage.config.get("remote_env"):
        bucket, _, key = stage.config["remote_env"].removeprefix("s3://").partition("/")
        policy["Statement"].append({"Sid": "RemoteEnv", "Effect": "Allow", "Action": ["s3:GetObject"],
                                    "Resource": f"arn:{partition}:s3:::{bucket}/{key}"})
    if stage.config.get("xray_tracing"):
        policy["Statement"].append({"Sid": "XRay", "Effect": "Allow", "Resource": "*",
                                    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]})
    return policy


def stream_output_key() -> str:
    """The stack output holding the leads table's stream ARN."""
    return f"{cloudformation.logical_name(Lead)}StreamArn"


def table_names(prefix: str) -> list[str]:
    return [prefix + model.base_table_name for model in ALL_MODELS]


def compile_translations() -> str:
    """Compile every locale/<lang>/LC_MESSAGES/*.po of LOCALE_PATHS into the .mo Django reads (Zappa packages them)."""
    msgfmt = shutil.which("msgfmt")
    if not msgfmt:
        raise DeployError("GNU gettext's msgfmt is missing: apt-get install gettext (make deploy installs it).")
    catalogues = sorted(po for base in settings.LOCALE_PATHS for po in Path(base).glob("*/LC_MESSAGES/*.po"))
    for po in catalogues:
        result = subprocess.run([msgfmt, "--check", "-o", str(po.with_suffix(".mo")), str(po)],
                                capture_output=True, text=True)
        if result.returncode:
            raise DeployError(f"{po} does not compile: {result.stderr.strip()}")
    return f"{len(catalogues)} translation{'s' if len(catalogues) != 1 else ''} compiled"


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


class Aws:
    """The AWS clients a deployment uses, for the stage's region (AWS_ENDPOINT_URL and the usual chain apply)."""

    def __init__(self, region: str):
        self.session = botocore.session.get_session()
        self.region = region
        self._clients = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.create_client(service, region_name=self.region)
        return self._clients[service]

    def stack(self, name: str) -> dict | None:
        try:
            return self.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise

    def stack_outputs(self, name: str) -> dict:
        stack = self.stack(name) or {}
        return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}

    def stack_template(self, name: str) -> dict:
        body = self.client("cloudformation").get_template(StackName=name)["TemplateBody"]
        return json.loads(body) if isinstance(body, str) else body

    def table_exists(self, name: str) -> bool:
        try:
            self.client("dynamodb").describe_table(TableName=name)
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return False
            raise
        return True

    def function_exists(self, name: str) -> bool:
        try:
            self.client("lambda").get_function(FunctionName=name)
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return False
            raise
        return True

    def stream_mappings(self, function: str, table: str) -> list[dict]:
        """The function's event-source mappings from any stream of this table."""
        if not self.function_exists(function):
            return []
        pages = self.client("lambda").get_paginator("list_event_source_mappings").paginate(FunctionName=function)
        marker = f":table/{table}/stream/"
        return [mapping for page in pages for mapping in page["EventSourceMappings"]
                if ":dynamodb:" in mapping["EventSourceArn"] and marker in mapping["EventSourceArn"]]


@dataclass
class Step:
    """One planned step: its title, what it will do (`action` "create", "update", "run" or "none") and how.

    `prepare` runs for every step before any step applies (so a question is asked before, not midway).
    """

    title: str
    action: str
    detail: str
    apply: Callable[[], str | None] = field(default=lambda: None, repr=False)
    prepare: Callable[[], None] = field(default=lambda: None, repr=False)

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}"


def drifted(mapping: dict) -> list[str]:
    """The STREAM_TRIGGER settings (and Enabled) a mapping does not have."""
    names = [name for name, value in STREAM_TRIGGER.items() if mapping.get(name) != value]
    if mapping.get("State") in ("Disabled", "Disabling"):
        names.append("Enabled")
    return names


def trigger_summary() -> str:
    return (f"{STARTING_POSITION}, batch {STREAM_TRIGGER['BatchSize']}, ReportBatchItemFailures, "
            f"{STREAM_TRIGGER['MaximumRetryAttempts']} retries, bisect on error")


@contextmanager
def stage_storage(stage: Stage):
    """Point the PynamoDB models at the stage's tables on AWS (AWS_ENDPOINT_URL still applies) for a while."""
    try:
        with override_settings(DYNAMODB_TABLE_PREFIX=stage.prefix, AWS_REGION=stage.region, DYNAMODB_HOST=None):
            dynamodb.configure()
            yield
    finally:
        dynamodb.configure()


class Deployment:
    """Plans and applies `deploy` and `undeploy` for one stage."""

    def __init__(self, stage: Stage, *, venv: Path | None = None, python: str = sys.executable,
                 admin_email: str = "", password: Callable[[], str] | None = None,
                 say: Callable[[str], None] = print):
        self.stage = stage
        self.venv = venv
        self.python = python
        self.admin_email = admin_email
        self.password = password
        self.say = say
        self.aws = Aws(stage.region)
        self.template = cloudformation.template(ALL_MODELS, IAM_GRANTS)

    # --- checks --------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What must be fixed before deploying; nothing has been changed when any is found."""
        found = []
        placeholders = self.stage.placeholders()
        if placeholders:
            found.append(f"zappa_settings.json's stage {self.stage.name!r} still has {PLACEHOLDER} in: "
                         + ", ".join(placeholders))
        if self.stage.config.get("events") and any(is_stream_trigger(e) for e in self.stage.config["events"]):
            found.append("remove the DynamoDB stream entry from the stage's `events`: deploy manages the trigger")
        if settings.DEBUG:
            found.append("DEBUG is on: collectstatic would not write the hashed, compressed files (make deploy sets DEBUG=0)")
        if not shutil.which("msgfmt"):
            found.append("GNU gettext's msgfmt is missing: the translations cannot be compiled "
                         "(apt-get install gettext; make deploy installs it)")
        if not Path(settings.STATIC_ROOT).resolve().is_relative_to(settings.BASE_DIR):
            found.append(f"STATIC_ROOT ({settings.STATIC_ROOT}) is outside the project, which is what Zappa packages")
        if not placeholders:
            found += self._remote_env_problems()
        return found

    def _remote_env_problems(self) -> list[str]:
        url = self.stage.config.get("remote_env")
        if not url:
            return ["the stage has no remote_env: the function needs SECRET_KEY (and EMAIL_URL) from an S3 file"]
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            body = self.aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            return [f"cannot read remote_env {url} ({_error_code(error)}): upload a JSON object with "
                    f"SECRET_KEY and EMAIL_URL there first"]
        try:
            values = json.loads(body)
        except ValueError:
            return [f"remote_env {url} is not a JSON object"]
        missing = [name for name in REMOTE_ENV_KEYS if not (isinstance(values, dict) and values.get(name))]
        return [f"remote_env {url} lacks {', '.join(missing)}"] if missing else []

    # --- deploy --------------------------------------------------------------------------------
    def deploy_plan(self) -> list[Step]:
        stack = self.aws.stack(self.stage.stack_name)
        function_exists = self.aws.function_exists(self.stage.lambda_name)
        return [self._tables_step(stack), self._static_step(), self._function_step(function_exists),
                self._trigger_step(stack), self._admin_step(stack)]

    def deploy(self, *, dry_run: bool = False) -> list[Step]:
        problems = self.problems()
        try:
            plan = self.deploy_plan()
        except DeployError as error:
            plan, problems = [], [*problems, str(error)]
        self.say(f"Deploy plan for stage {self.stage.name} (function {self.stage.lambda_name}, "
                 f"region {self.stage.region}):")
        for number, step in enumerate(plan, 1):
            self.say(f"  {number}. {step}")
        if problems:
            raise DeployError("Nothing was changed. Fix first:\n" + "\n".join(f"  - {p}" for p in problems))
        if dry_run:
            self.say("Dry run: nothing was changed.")
            return plan
        for step in plan:
            step.prepare()
        self._apply(plan)
        self.say(f"Deployed {self.stage.name}.")
        return plan

    def _apply(self, plan: list[Step]) -> None:
        for number, step in enumerate(plan, 1):
            if step.action == "none":
                self.say(f"[{number}/{len(plan)}] {step.title}: {step.detail}")
                continue
            self.say(f"[{number}/{len(plan)}] {step.title}…")
            outcome = step.apply()
            if outcome:
                self.say(f"      {outcome}")

    def _tables_step(self, stack: dict | None) -> Step:
        name, prefix = self.stage.stack_name, self.stage.prefix
        resources = self.template["Resources"]
        tables = sum(1 for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table")
        title = f"tables (stack {name})"
        if stack is None:
            existing = [table for table in table_names(prefix) if self.aws.table_exists(table)]
            if existing:
                raise DeployError(
                    f"Tables {', '.join(existing)} exist outside CloudFormation (made by create_tables?). "
                    f"Import them into a stack named {name} (CloudFormation resource import, template from "
                    f"`manage.py dynamodb_template`) or use another DYNAMODB_TABLE_PREFIX.")
            return Step(title, "create", f"create the stack: {tables} tables and {len(resources) - tables} IAM "
                        f"policies, TablePrefix={prefix}", self._create_stack)
        status = stack["StackStatus"]
        if status not in STABLE_STACK:
            raise DeployError(f"Stack {name} is {status}: wait for it, or repair it in the CloudFormation console "
                              f"(a stack that failed to create must be deleted).")
        current = self.aws.stack_template(name)
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        changed = sorted(key for key in set(resources) | set(current.get("Resources", {}))
                         if resources.get(key) != current.get("Resources", {}).get(key))
        if not changed and current == self.template and parameters.get(cloudformation.PREFIX_PARAMETER) == prefix:
            return Step(title, "none", "up to date")
        what = ", ".join(changed) or "the template's other sections, or TablePrefix"
        return Step(title, "update", f"update the stack: {what}", self._update_stack)

    def _stack_arguments(self) -> dict:
        return {
            "StackName": self.stage.stack_name,
            "TemplateBody": json.dumps(self.template),
            "Parameters": [{"ParameterKey": cloudformation.PREFIX_PARAMETER, "ParameterValue": self.stage.prefix}],
            "Capabilities": CAPABILITIES,
        }

    def _create_stack(self) -> str:
        self.aws.client("cloudformation").create_stack(**self._stack_arguments())
        self.aws.client("cloudformation").get_waiter("stack_create_complete").wait(StackName=self.stage.stack_name)
        return "stack created"

    def _update_stack(self) -> str:
        try:
            self.aws.client("cloudformation").update_stack(**self._stack_arguments())
        except ClientError as error:
            if "No updates are to be performed" in str(error):
                return "no change"
            raise
        self.aws.client("cloudformation").get_waiter("stack_update_complete").wait(StackName=self.stage.stack_name)
        return "stack updated"

    def _static_step(self) -> Step:
        def collect() -> str:
            out = StringIO()
            call_command("collectstatic", interactive=False, verbosity=1, stdout=out)
            collected = out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else "done"
            return f"{collected}; {compile_translations()}"

        return Step("static files", "run", f"collectstatic into {settings.STATIC_ROOT}, compile the translations",
                    collect)

    def _function_step(self, exists: bool) -> Step:
        action = "update" if exists else "deploy"
        what = ("new code and configuration for" if exists else
                "S3 bucket if missing, IAM role, Lambda function, API Gateway for")
        role = ("its execution role as the stage's attach_policy says" if self.stage.config.get("attach_policy") else
                "its execution role limited to the app's DynamoDB calls, its logs and remote_env")
        return Step("function", "update" if exists else "create",
                    f"zappa {action} {self.stage.name}: {what} {self.stage.lambda_name}; {role}",
                    lambda: self._zappa(action, stream_arn=self._stream_arn(), policy=self._execution_policy()))

    def _execution_policy(self) -> dict | None:
        """The function's policy, unless the stage names its own (attach_policy)."""
        if self.stage.config.get("attach_policy"):
            return None
        account = self.aws.client("sts").get_caller_identity()["Account"]
        partition = self.aws.session.get_partition_for_region(self.stage.region)
        return execution_policy(self.stage, account=account, partition=partition)

    def package(self, output: Path) -> str:
        """Only build the package `deploy` would upload (after collectstatic), into output; no AWS involved."""
        self.say(self._static_step().apply())
        return self._zappa("package", "-o", str(output.resolve()))

    def _stream_arn(self) -> str:
        return self.aws.stack_outputs(self.stage.stack_name)[stream_output_key()]

    def _zappa(self, action: str, *extra: str, stream_arn: str | None = None, policy: dict | None = None) -> str:
        """Run Zappa (leads.management.zappa_cli) with the settings it needs, packaging self.venv.

        stream_arn: the leads stream, routed to its handler by the package's settings (deploy, update);
        policy: the execution role's policy (Zappa's attach_policy), in place of Zappa's default.
        """
        with tempfile.TemporaryDirectory(prefix="leads-zappa-") as directory:
            settings_file = Path(directory) / "zappa_settings.json"
            configuration = self.zappa_settings(stream_arn)
            if policy is not None:
                policy_file = Path(directory) / "execution-policy.json"
                policy_file.write_text(json.dumps(policy, indent=2))
                configuration[self.stage.name]["attach_policy"] = str(policy_file)
            settings_file.write_text(json.dumps(configuration, indent=2))
            environment = dict(os.environ)
            if self.venv:
                environment["VIRTUAL_ENV"] = str(self.venv)
            command = [self.python, "-m", "leads.management.zappa_cli", action, self.stage.name,
                       "-s", str(settings_file), "--disable_progress", *extra]
            result = subprocess.run(command, cwd=settings.BASE_DIR, env=environment)
        if result.returncode:
            raise DeployError(f"zappa {action} {self.stage.name} failed (exit {result.returncode}); see above.")
        return f"zappa {action} done"

    def zappa_settings(self, stream_arn: str | None) -> dict:
        """zappa_settings.json with the stage's `events` routing the leads stream to its handler."""
        everything = json.loads(self.stage.settings_file.read_text())
        own = [event for event in self.stage.config.get("events", []) if not is_stream_trigger(event)]
        everything[self.stage.name] = {**everything[self.stage.name],
                                       "events": own + ([stream_event(stream_arn)] if stream_arn else [])}
        return everything

    def _trigger_step(self, stack: dict | None) -> Step:
        table = self.stage.prefix + Lead.base_table_name
        title = "stream trigger"
        stream_arn = self.aws.stack_outputs(self.stage.stack_name).get(stream_output_key()) if stack else None
        mappings = self.aws.stream_mappings(self.stage.lambda_name, table)
        current = [m for m in mappings if stream_arn and m["EventSourceArn"] == stream_arn]
        stale = [m for m in mappings if m not in current]
        notes = [f"remove {len(stale)} mapping(s) from an older stream of {table}"] if stale else []
        if not current:
            action, detail = "create", f"create {table}'s stream → {self.stage.lambda_name} ({trigger_summary()})"
        elif drifted(current[0]):
            action, detail = "update", f"update {', '.join(drifted(current[0]))} of {table}'s stream mapping"
        else:
            action, detail = ("update" if stale else "none"), "up to date"
        return Step(title, action, "; ".join([detail, *notes]), lambda: self._apply_trigger(table))

    def _apply_trigger(self, table: str) -> str:
        stream_arn = self._stream_arn()
        client = self.aws.client("lambda")
        done = []
        for mapping in self.aws.stream_mappings(self.stage.lambda_name, table):
            if mapping["EventSourceArn"] != stream_arn:
                client.delete_event_source_mapping(UUID=mapping["UUID"])
                done.append("removed a mapping from an older stream")
            elif drifted(mapping):
                client.update_event_source_mapping(UUID=mapping["UUID"], FunctionName=self.stage.lambda_name,
                                                   Enabled=True, **STREAM_TRIGGER)
                done.append("mapping updated")
            else:
                done.append("mapping up to date")
        if not any(d.startswith("mapping") for d in done):
            client.create_event_source_mapping(
                FunctionName=self.stage.lambda_name, EventSourceArn=stream_arn,
                StartingPosition=STARTING_POSITION, Enabled=True, **STREAM_TRIGGER)
            done.append("mapping created")
        return "; ".join(done)

    def _admin_step(self, stack: dict | None) -> Step:
        title = "first admin"
        if stack is not None:
            with stage_storage(self.stage):
                admins = [staff for staff in selectors.staff_list() if staff.is_admin and staff.active]
            if admins:
                return Step(title, "none", f"the stage has {len(admins)} admin(s)")
        if not self.admin_email:
            raise DeployError("The stage has no admin yet: give one with --admin-email (make deploy "
                              "ADMIN_EMAIL=…); the password is asked for here.")
        return Step(title, "create", f"create admin {self.admin_email} with a password typed here "
                    f"(it never reaches Lambda)", self._create_admin, self._ask_password)

    def _ask_password(self) -> None:
        self._admin_password = self.password()

    def _create_admin(self) -> str:
        password, self._admin_password = self._admin_password, None
        with stage_storage(self.stage):
            if selectors.staff_get(email=self.admin_email) is None:
                services.staff_create(email=self.admin_email, password=password, role="admin")
                return f"created admin {self.admin_email}"
        return f"{self.admin_email} already exists"

    # --- undeploy ------------------------------------------------------------------------------
    def undeploy_plan(self, delete_tables: bool) -> list[Step]:
        table = self.stage.prefix + Lead.base_table_name
        mappings = self.aws.stream_mappings(self.stage.lambda_name, table)
        steps = [
            Step("stream trigger", "delete" if mappings else "none",
                 f"remove {len(mappings)} mapping(s) from {table}'s stream" if mappings else "none",
                 lambda: self._remove_mappings(table)),
        ]
        if self.aws.function_exists(self.stage.lambda_name):
            steps.append(Step("function", "delete", f"zappa undeploy {self.stage.name}: {self.stage.lambda_name}, "
                              "its API Gateway and rules", lambda: self._zappa("undeploy", "--yes")))
        else:
            steps.append(Step("function", "none", f"{self.stage.lambda_name} is not deployed"))
        stack = self.aws.stack(self.stage.stack_name)
        if stack is None:
            steps.append(Step("tables", "none", f"no stack {self.stage.stack_name}"))
        elif delete_tables:
            steps.append(Step("tables", "delete", f"DELETE stack {self.stage.stack_name} and the tables "
                              + ", ".join(table_names(self.stage.prefix)) + ", with every lead in them",
                              self._delete_tables))
        else:
            steps.append(Step("tables", "none", f"kept: stack {self.stage.stack_name} and its tables hold the "
                              f"leads (--delete-tables {self.stage.stack_name} deletes them)"))
        return steps

    def undeploy(self, *, delete_tables: str = "", dry_run: bool = False) -> list[Step]:
        if delete_tables and delete_tables != self.stage.stack_name:
            raise DeployError(f"--delete-tables must name the stage's stack, {self.stage.stack_name}, to "
                              f"confirm; {delete_tables!r} does not. Nothing was changed.")
        plan = self.undeploy_plan(bool(delete_tables))
        self.say(f"Undeploy plan for stage {self.stage.name}:")
        for number, step in enumerate(plan, 1):
            self.say(f"  {number}. {step}")
        if dry_run:
            self.say("Dry run: nothing was changed.")
            return plan
        self._apply(plan)
        self.say(f"Undeployed {self.stage.name}.")
        return plan

    def _remove_mappings(self, table: str) -> str:
        mappings = self.aws.stream_mappings(self.stage.lambda_name, table)
        for mapping in mappings:
            self.aws.client("lambda").delete_event_source_mapping(UUID=mapping["UUID"])
        return f"removed {len(mappings)} mapping(s)"

    def _delete_tables(self) -> str:
        # The tables are Retain in the template, so deleting the stack removes the policies only.
        cfn = self.aws.client("cloudformation")
        cfn.delete_stack(StackName=self.stage.stack_name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=self.stage.stack_name)
        deleted = []
        for table in table_names(self.stage.prefix):
            if self.aws.table_exists(table):
                self.aws.client("dynamodb").delete_table(TableName=table)
                self.aws.client("dynamodb").get_waiter("table_not_exists").wait(TableName=table)
                deleted.append(table)
        return f"stack deleted; tables deleted: {', '.join(deleted) or 'none'}"
