"""The rules under `make deploy`, without AWS: stack names, placeholders, the trigger's drift, what the package keeps.

The whole deployment is rehearsed against moto's server in tests/integration/test_deploy_rehearsal.py, and the
built package is run in tests/integration/test_lambda_package.py; these check the decisions one by one.
"""
import importlib.util
import io
import marshal
import zipfile
from pathlib import Path

import pytest

from leads.management import lambda_package
from leads.management.deploy import STREAM_TRIGGER, Stage, drifted, execution_policy, stream_event
from leads.storage.cloudformation import RUNTIME_ACTIONS
from leads.storage.models import ALL_MODELS
from leads.management.zappa_cli import is_stream_trigger

pytestmark = pytest.mark.backend("moto", reason="no DynamoDB involved")

ROOT = Path(__file__).resolve().parents[2]


def stage_with(prefix: str) -> Stage:
    return Stage(name="x", settings_file=ROOT / "zappa_settings.json", lambda_name="leads-x", region="eu-west-1",
                 config={"environment_variables": {"DYNAMODB_TABLE_PREFIX": prefix}})


@pytest.mark.parametrize("prefix, stack", [
    ("leads-prod-", "leads-prod-tables"), ("leads-", "leads-tables"), ("", "leads-tables"),
    ("acme_leads.", "acme-leads-tables"), ("2026-", "leads-2026-tables"),
])
def test_the_tables_stack_is_named_from_the_table_prefix(prefix, stack):
    assert stage_with(prefix).stack_name == stack


def test_the_committed_stages_are_incomplete_until_their_placeholders_are_filled():
    for name in ("production", "dev"):
        stage = Stage.load(ROOT / "zappa_settings.json", name)
        assert stage.placeholders() == ["s3_bucket", "remote_env", "environment_variables.ALLOWED_HOSTS"]
        assert stage.lambda_name == f"leads-{name}"
    assert Stage.load(ROOT / "zappa_settings.json", "dev").prefix == "leads-dev-"


def test_the_function_may_call_its_tables_read_its_stream_log_and_read_remote_env_and_nothing_else():
    stage = Stage.load(ROOT / "zappa_settings.json", "production")
    policy = execution_policy(stage, account="123456789012")
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    assert statements["AppTables"]["Action"] == list(RUNTIME_ACTIONS)
    assert statements["AppTables"]["Resource"] == [
        f"arn:aws:dynamodb:eu-west-1:123456789012:table/leads-prod-{model.base_table_name}" for model in ALL_MODELS]
    assert statements["StreamTrigger"]["Resource"] == [
        "arn:aws:dynamodb:eu-west-1:123456789012:table/leads-prod-leads/stream/*"]
    assert statements["RemoteEnv"] == {"Sid": "RemoteEnv", "Effect": "Allow", "Action": ["s3:GetObject"],
                                       "Resource": "arn:aws:s3:::CHANGE-ME-leads-config/production/env.json"}
    assert statements["Logs"]["Resource"] == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/leads-production",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/leads-production:*"]
    assert set(statements) == {"AppTables", "AppIndexes", "StreamTrigger", "StreamTriggerListStreams", "Logs",
                               "RemoteEnv"}
    actions = [action for statement in policy["Statement"] for action in statement["Action"]]
    assert not [action for action in actions if action.endswith("*")]


def test_a_mapping_has_drifted_when_any_trigger_setting_or_its_state_differs():
    mapping = {**STREAM_TRIGGER, "State": "Enabled"}
    assert drifted(mapping) == []
    assert drifted({**mapping, "BatchSize": 100, "State": "Disabled"}) == ["BatchSize", "Enabled"]
    assert drifted({**mapping, "FunctionResponseTypes": []}) == ["FunctionResponseTypes"]


def test_zappa_is_kept_away_from_stream_triggers_only():
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/leads-prod-leads/stream/2026-01-01T00:00:00.000"
    assert is_stream_trigger(stream_event(arn))
    assert not is_stream_trigger({"function": "app.tick", "expression": "rate(1 hour)"})
    assert not is_stream_trigger({"function": "app.on_upload", "event_source": {"arn": "arn:aws:s3:::bucket"}})


@pytest.mark.parametrize("name, unneeded", [
    ("botocore/data/ec2/2016-11-15/service-2.json.gz", True),
    ("botocore/data/dynamodb/2012-08-10/service-2.json.gz", False),
    ("botocore/data/dynamodbstreams/2012-08-10/service-2.json.gz", False),
    ("botocore/data/endpoints.json", False),
    ("boto3/data/ec2/2016-11-15/resources-1.json", True),
    ("django/contrib/admin/static/admin/js/core.js", True),
    ("django/contrib/auth/hashers.py", False),
    ("django/contrib/auth/common-passwords.txt.gz", False),
    ("django/conf/locale/fr/LC_MESSAGES/django.mo", True),
    ("django/conf/locale/en/LC_MESSAGES/django.mo", False),  # the default language must have a catalogue
    ("django/conf/locale/de/LC_MESSAGES/django.mo", True),  # unless the project ships German (below)
    ("django/conf/locale/en/formats.py", False),
    ("django/db/backends/sqlite3/base.py", True),
    ("django/db/backends/dummy/base.py", False),
    ("csp/tests/test_utils.py", True),
    ("pynamodb/__pycache__/models.cpython-311.pyc", True),
    ("leads/public/views.py", False),
    ("django-5.2.19.dist-info/RECORD", True),
    ("django-5.2.19.dist-info/METADATA", False),
    ("django-5.2.19.dist-info/licenses/LICENSE", False),
    ("django_csp-4.0.dist-info/entry_points.txt", False),
])
def test_what_the_package_drops_of_the_distributions_it_keeps(name, unneeded):
    assert lambda_package.unneeded_file(name) is unneeded


def test_django_keeps_its_translations_for_the_languages_the_project_ships():
    names = ["locale/de/LC_MESSAGES/django.mo", "locale/de/LC_MESSAGES/django.po", "leads/__init__.py"]
    languages = lambda_package.shipped_languages(names)
    assert languages == {"en", "de"}
    assert not lambda_package.unneeded_file("django/conf/locale/de/LC_MESSAGES/django.mo", languages)
    assert not lambda_package.unneeded_file("django/contrib/auth/locale/de/LC_MESSAGES/django.mo", languages)
    assert lambda_package.unneeded_file("django/conf/locale/de_CH/LC_MESSAGES/django.mo", languages)
    assert lambda_package.unneeded_file("django/conf/locale/fr/LC_MESSAGES/django.mo", languages)


class FakeDistribution:
    def __init__(self, *requires):
        self.requires = list(requires)


def test_only_the_runtime_and_the_handler_with_their_requirements_are_kept(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# runtime\nDjango==5.2.19\npynamodb==6.1.0\ngunicorn==27.0.1\n-r other.txt\n")
    installed = {
        "django": FakeDistribution("asgiref>=3.8.1", "sqlparse>=0.3.1", 'argon2-cffi>=19.1.0; extra == "argon2"'),
        "asgiref": FakeDistribution(), "sqlparse": FakeDistribution(), "argon2-cffi": FakeDistribution(),
        "pynamodb": FakeDistribution("botocore>=1.12.54"), "botocore": FakeDistribution("urllib3 (<3,>=1.25.4)"),
        "urllib3": FakeDistribution(), "gunicorn": FakeDistribution("packaging"), "packaging": FakeDistribution(),
        "zappa": FakeDistribution("troposphere>=3.0", "boto3>=1.17.28", "werkzeug"),
        "troposphere": FakeDistribution(), "werkzeug": FakeDistribution("markupsafe>=2.1.1"),
        "markupsafe": FakeDistribution(), "boto3": FakeDistribution("botocore (<1.45.0,>=1.44.5)", "s3transfer"),
        "s3transfer": FakeDistribution(), "durationpy": FakeDistribution(), "moto": FakeDistribution("werkzeug"),
    }
    kept = lambda_package.kept_distributions(installed, lambda_package.runtime_roots(requirements))
    assert kept == {"django", "asgiref", "sqlparse", "pynamodb", "botocore", "urllib3", "zappa", "werkzeug",
                    "markupsafe", "boto3", "s3transfer", "durationpy"}


def test_pruning_rewrites_the_zip_with_unchecked_bytecode_beside_each_module(tmp_path):
    package = tmp_path / "package.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("leads/__init__.py", "VALUE = 6 * 7\n")
        archive.writestr("leads/broken.py", "def (:\n")
        archive.writestr("zappa_settings.py", "API_STAGE = 'production'\n")
        archive.writestr("leads/__pycache__/__init__.cpython-311.pyc", b"stale")
        archive.writestr("botocore/data/ec2/2016-11-15/service-2.json.gz", b"x" * 1000)
    (tmp_path / "requirements.txt").write_text("")
    before, after = lambda_package.prune_zip(package, tmp_path / "requirements.txt", compile_bytecode=True)
    assert (before.files, after.files) == (5, 4)
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        compiled = archive.read(lambda_package.cached_name("leads/__init__.py"))
    assert names == {"leads/__init__.py", "leads/broken.py", "zappa_settings.py",
                     lambda_package.cached_name("leads/__init__.py")}
    assert compiled[:8] == importlib.util.MAGIC_NUMBER + lambda_package.UNCHECKED_HASH
    assert compiled[8:16] == importlib.util.source_hash(b"VALUE = 6 * 7\n")
    namespace = {}
    exec(marshal.load(io.BytesIO(compiled[16:])), namespace)
    assert namespace["VALUE"] == 42
