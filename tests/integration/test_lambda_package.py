"""The Lambda package as `make deploy` builds it: small, and everything the function needs is in it.

The package is built as `make deploy` builds it — `manage.py deploy --package` with the deploy
virtualenv's Python (.venv-deploy: requirements-deploy.txt), in a copy of the project: collectstatic,
then `zappa package` with zappa_settings.json's production stage, whose "zip" callback
(leads.management.lambda_package) prunes what the function never imports. It is then unzipped, and
Zappa's handler runs from it in a fresh interpreter with nothing but the package and the standard
library on sys.path (`python -S -I -B`: no site-packages, no environment's PYTHONPATH, no bytecode
written, as on Lambda's read-only /var/task: the package's own bytecode is what it loads), serving API Gateway events (tests/integration/
test_zappa_stage.py's REST API events and worker): the contact form, its stylesheet, a submission,
a sign-in and the signed-in inbox. Only the package's zappa_settings.py is regenerated, to point the
function at the test's DynamoDB instead of AWS.

The sizes go to test-artifacts/lambda-package.json; `make bench` records them with the cold start.
"""
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from leads.management import lambda_package
from tests.integration.test_zappa_stage import (  # noqa: F401 (deployment is a fixture)
    ADMIN, REST_STAGE as STAGE_WALK_ENTRY, TABLE_PREFIX, WORKER, Browser, Function, Walk, deployment, generated_settings,
    post_contact_form, sign_in,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"
PROJECT_FILES = ("leads", "leadsite", "templates", "static", "locale", "manage.py", "requirements.txt",
                 "zappa_settings.json")
LIMIT = 20 * 2**20  # bytes, zipped
# Distributions of requirements-dev.txt and requirements-embedded.txt, and Zappa's deploy-time tools.
NEVER_SHIPPED = ("moto", "pytest", "hypothesis", "playwright", "cfn_lint", "cfnlint", "import_linter", "flask",
                 "flask_cors", "py_partiql_parser", "troposphere", "yaml", "pip", "setuptools", "wheel", "gunicorn",
                 "requests", "click")
ARTIFACT = ROOT / "test-artifacts" / "lambda-package.json"

# Its own visitor address: the stage walk posts from REST_STAGE's, and on DynamoDB Local the rate-limit
# window outlives a test, so sharing it would spend that walk's allowance.
REST_STAGE = replace(STAGE_WALK_ENTRY, client_ip="203.0.113.21")


def build_package(directory: Path) -> Path:
    """Build the production package into directory as `make deploy` would; the zip's path."""
    project = directory / "project"
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            # As a fresh clone has them: no compiled .mo (git ignores them), so deploy must compile them.
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            project.mkdir(exist_ok=True)
            shutil.copy(source, project / name)
    output = directory / "leads-production.zip"
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(directory), "DEBUG": "0",
                   "SECRET_KEY": "local-deploy-process-only", "DYNAMODB_ENDPOINT": "aws"}
    result = subprocess.run([str(DEPLOY_PYTHON), "manage.py", "deploy", "--stage", "production", "--package",
                             str(output)], cwd=project, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return output


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    if not DEPLOY_PYTHON.exists():
        pytest.skip("needs .venv-deploy (`make deploy-venv`; `make test` builds it)")
    return build_package(tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def unzipped(package, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("var-task")
    with zipfile.ZipFile(package) as archive:
        archive.extractall(directory)
    return directory


@pytest.mark.backend("moto", reason="builds and reads a zip; no DynamoDB involved")
def test_the_package_holds_the_runtime_only_and_is_at_most_20_mib(package):
    size = lambda_package.Size.of(package)
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names}
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps({
        "zipped_bytes": size.zipped, "unzipped_bytes": size.unzipped, "files": size.files,
        "largest": lambda_package.largest(package, depth=1, count=10)}, indent=2))
    assert size.zipped <= LIMIT, f"{size}: {lambda_package.largest(package)}"

    shipped = {re.split(r"[-.]", name)[0].lower() for name in top}
    assert not shipped & set(NEVER_SHIPPED), sorted(shipped & set(NEVER_SHIPPED))
    assert not {"tests", "bench", "docs", "var", "test-artifacts", "Makefile", "gunicorn.conf.py"} & top
    services = {name.split("/")[2] for name in names if name.startswith("botocore/data/") and name.count("/") > 3}
    assert services == set(lambda_package.AWS_SERVICES)
    # Bytecode: none of the virtualenv's (timestamp-checked, so useless in a zip dated 1980); ours, for the
    # runtime's Python, unchecked-hash (PEP 552), beside every module that compiles.
    compiled = {name for name in names if name.endswith(".pyc")}
    assert compiled and all(f"/__pycache__/" in f"/{name}" and ".cpython-311." in name for name in compiled)
    assert lambda_package.cached_name("zappa/handler.py") in compiled
    assert lambda_package.cached_name("leads/public/views.py") in compiled
    with zipfile.ZipFile(package) as archive:
        header = archive.read(lambda_package.cached_name("django/__init__.py"))[:8]
    assert header == importlib.util.MAGIC_NUMBER + lambda_package.UNCHECKED_HASH
    # Translations: the project's German compiled by deploy, and Django's own for English (the default) and
    # German (its form messages), no other language's.
    catalogues = {name for name in names if "/LC_MESSAGES/" in name and name.endswith(".mo")}
    assert {"locale/de/LC_MESSAGES/django.mo", "django/conf/locale/de/LC_MESSAGES/django.mo",
            "django/conf/locale/en/LC_MESSAGES/django.mo"} <= catalogues
    assert {name.split("/locale/")[-1].split("/")[0] for name in catalogues if "/locale/" in name} == {"en", "de"}
    # What the function does need: the handler, its settings, the app, the templates, the collected
    # static files with their manifest, and the data botocore and Django read at run time.
    assert {"handler.py", "zappa_settings.py", "leads", "leadsite", "templates", "staticfiles"} <= top
    assert "staticfiles/staticfiles.json" in names
    assert "django/contrib/auth/common-passwords.txt.gz" in names  # the password validator's list
    assert "botocore/data/endpoints.json" in names and "django/conf/locale/en/formats.py" in names


def test_the_package_alone_serves_the_form_and_the_signed_in_inbox(unzipped, deployment, tmp_path):
    # The function's settings for the test's DynamoDB, generated as `zappa package` generates them.
    generated_settings(REST_STAGE, unzipped, {
        "DYNAMODB_ENDPOINT": deployment.endpoint, "DYNAMODB_TABLE_PREFIX": TABLE_PREFIX,
        "ALLOWED_HOSTS": REST_STAGE.host, "LEADS_RATELIMIT_COUNT": "5"})
    environment = {name: value for name, value in deployment.env.items() if name != "STATIC_ROOT"}

    # Everything Zappa's handler and the app import comes from the package or the standard library.
    check = subprocess.run([sys.executable, "-S", "-I", "-B", "-c", IMPORTS_FROM_THE_PACKAGE_ONLY],
                           cwd=unzipped, env=environment, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout.splitlines()[-1]) == {"outside": []}

    function = PackagedFunction(REST_STAGE, unzipped, environment, tmp_path / "worker.log")
    try:
        walk, browser = Walk(REST_STAGE), Browser(function)
        form = walk.visit(browser, "GET", "/production/", 200)
        assert 'name="email"' in form.text and 'name="message"' in form.text
        [stylesheet] = [link for link in walk.found if link.endswith(".css")]
        css = walk.visit(browser, "GET", stylesheet, 200)
        assert css.headers["content-type"].startswith("text/css") and css.body  # from the package's staticfiles
        # A German visitor: the project's catalogue (compiled by deploy) and Django's own, both in the package.
        german = browser.get("/production/", headers={"Accept-Language": "de-DE,de;q=0.9"})
        assert german.status == 200 and "Nachricht senden" in german.text, german.text[:500]
        hidden = dict(re.findall(r'name="(csrfmiddlewaretoken|token)" value="([^"]+)"', german.text))
        refused = browser.send("POST", "/production/", headers={"Accept-Language": "de"},
                               form={**hidden, "email": "ada@example.org"})
        assert "Dieses Feld ist zwingend erforderlich." in refused.text, refused.text[:500]

        post_contact_form(walk, browser, 302, "ada@example.org")
        staff = Browser(function)
        sign_in(walk, staff, *ADMIN, next_url="/production/admin/leads/")
        inbox = walk.visit(staff, "GET", "/production/admin/leads/", 200)
        assert "ada@example.org" in inbox.text
    finally:
        function.stop()


# Run in the unzipped package as Lambda runs it (`-S -I -B`, cwd /var/task): import Zappa's handler and
# the app, and list every imported module whose file is neither in the package nor in the standard library.
IMPORTS_FROM_THE_PACKAGE_ONLY = """
import json, os, sys, sysconfig
here = os.getcwd()
sys.path[:1] = [here]
from zappa.handler import LambdaHandler
LambdaHandler()  # what the first invocation does: the package's settings, their environment, the Django app
import leads.management.stream_handler, boto3
stdlib = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
outside = sorted(name for name, module in list(sys.modules.items())
                 if getattr(module, "__file__", None)
                 and not os.path.realpath(module.__file__).startswith((here + os.sep, *stdlib)))
print(json.dumps({"outside": outside}))
"""


class PackagedFunction(Function):
    """The function as Lambda runs it: Zappa's handler from the unzipped package, and nothing else."""

    def __init__(self, entry, package_dir: Path, env: dict, log: Path):
        self.entry, self.log = entry, log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-S", "-I", "-B", str(WORKER), str(package_dir)], cwd=package_dir, env=env,
                text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=out, start_new_session=True,
            )
