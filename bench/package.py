"""3b. The Lambda package: its size, and its cold start through Zappa's handler, app vs floor packaged the same way."""
# The app's package is built as `make deploy` builds it (`manage.py deploy --package`: the deploy virtualenv, the
# production stage, its pruning callback); the floor is bench/baseline (plain Django + one bare PynamoDB GetItem)
# packaged by the same Zappa from the same virtualenv with the same stage settings and pruning. Each cold start is
# a fresh `python -S -I -B` in the unzipped package (only it and the standard library on sys.path, no bytecode
# written: Lambda's read-only /var/task) answering one API Gateway event through `zappa.handler.lambda_handler`.
import json
import shutil
import time
import zipfile
from pathlib import Path

from leads.management.lambda_package import Size, largest

from .common import ROOT, SESSION_COOKIE, child_json, cold_starts, measured, python, ratio

DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"
APP_FILES = ("leads", "leadsite", "templates", "static", "manage.py", "requirements.txt", "zappa_settings.json")
HOST = "localhost"  # not an execute-api host: no stage prefix, on either side
VARIANTS = {  # variant: package, path, signed in, label
    "floor": ("floor", "/floor/healthz", False, "floor package: plain Django + one bare GetItem"),
    "app": ("app", "/", False, "**app** package: the contact form"),
    "floor_inbox": ("floor", "/floor/leads/", True, "floor package: inbox (session + counters + Query)"),
    "app_inbox": ("app", "/admin/leads/", True, "**app** package: inbox, signed in"),
}
CHILD = r"""
import json, os, sys, time
sys.path[:0] = [os.getcwd()]  # /var/task
class Context:
    function_name, aws_request_id = "bench", "bench"
    get_remaining_time_in_millis = staticmethod(lambda: 30000)
from zappa.handler import lambda_handler
answer = lambda_handler(json.loads(sys.argv[1]), Context())
print(json.dumps({"t_served": time.time(), "status": answer["statusCode"], "modules": len(sys.modules)}))
"""


def copy(names, into: Path) -> Path:
    for name in names:  # copytree makes the parents; a file's are made here
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, into / name)
    return into


def build(tmp: Path) -> dict[str, Path]:
    """Both zips: the app's as `make deploy` builds it, the floor's by the same Zappa, virtualenv and settings."""
    local = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "DEBUG": "0", "SECRET_KEY": "bench-build-only",
             "DYNAMODB_ENDPOINT": "aws"}
    app = copy(APP_FILES, tmp / "app-project")
    python(["manage.py", "deploy", "--stage", "production", "--package", tmp / "app.zip"], local, cwd=app, timeout=900,
           interpreter=DEPLOY_PYTHON)
    floor = copy(("bench/__init__.py", "bench/baseline", "requirements.txt"), tmp / "floor-project")
    stage = json.loads((ROOT / "zappa_settings.json").read_text())["production"]
    stage.update(django_settings="bench.baseline.settings",
                 exclude_glob=[pattern for pattern in stage["exclude_glob"] if pattern != "bench"])
    (floor / "zappa_settings.json").write_text(json.dumps({"floor": stage}))
    # Zappa's command line as deploy runs it, and the pruning callback, come from the checkout (PYTHONPATH); the
    # callback reads the floor project's requirements.txt.
    python(["-m", "leads.management.zappa_cli", "package", "floor", "-s", "zappa_settings.json",
            "-o", tmp / "floor.zip", "--disable_progress"], {**local, "VIRTUAL_ENV": str(DEPLOY_PYTHON.parents[1]), "PYTHONPATH": str(ROOT)},
           cwd=floor, timeout=900, interpreter=DEPLOY_PYTHON)
    return {"app": tmp / "app.zip", "floor": tmp / "floor.zip"}


def unpack(zip_path: Path, stage: str, django_settings: str, environment: dict, into: Path) -> Path:
    """The package unzipped, its zappa_settings.py regenerated for DynamoDB Local (as `zappa package` writes it)."""
    from zappa.cli import ZappaCLI

    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    config = json.loads((ROOT / "zappa_settings.json").read_text())["production"]
    config.pop("remote_env")  # the secrets come from the child's environment here
    config.update(django_settings=django_settings,
                  environment_variables={**config["environment_variables"], **environment})
    (into / "settings.json").write_text(json.dumps({stage: config}))
    cli = ZappaCLI()
    cli.api_stage, cli.load_credentials = stage, False
    cli.load_settings(str(into / "settings.json"))
    (into / "zappa_settings.py").write_text(cli.get_zappa_settings_string())
    return into


def event(path: str, session: str | None) -> dict:
    """A REST API (payload 1.0) GET, as API Gateway hands it to the function."""
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "Accept": "text/html",
               **({"Cookie": f"{SESSION_COOKIE}={session}"} if session else {})}
    return {"resource": "/{proxy+}", "path": path, "httpMethod": "GET", "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None, "body": None, "isBase64Encoded": False,
            "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": "GET", "path": path, "stage": "production",
                               "requestId": "bench", "identity": {"sourceIp": "203.0.113.9"}}}


def spawn(task: Path, the_event: dict, env: dict) -> dict:
    started = time.time()
    result = child_json(["-S", "-I", "-B", "-c", CHILD, json.dumps(the_event)], env, cwd=task, timeout=900)
    if result["status"] != 200:
        raise RuntimeError(f"cold start in {task.name}: HTTP {result['status']}")
    return {**result, "total_ms": (result["t_served"] - started) * 1000}


def run(sides: dict, mode: dict, tmp: Path) -> dict:
    """Sizes of both packages and each variant's cold start in interleaved rounds (medians)."""
    zips = build(tmp / "lambda")
    app_env, floor_env = sides["app"], sides["floor"]
    app = unpack(zips["app"], "production", "leadsite.settings", {
        "DYNAMODB_ENDPOINT": app_env["DYNAMODB_ENDPOINT"], "DYNAMODB_TABLE_PREFIX": app_env["DYNAMODB_TABLE_PREFIX"],
        "ALLOWED_HOSTS": HOST, "LEADS_NOTIFY_EMAILS": ""}, tmp / "lambda" / "app-task")
    floor = unpack(zips["floor"], "floor", "bench.baseline.settings", {}, tmp / "lambda" / "floor-task")
    tasks = {"app": app, "floor": floor}
    # What Lambda's environment would hold (the app's secrets come from remote_env there); nothing of the checkout.
    child_env = {side: {k: v for k, v in env.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "STATIC_ROOT")}
                 for side, env in (("app", app_env), ("floor", floor_env))}
    session = app_env["BENCH_SESSION"]

    def measure(variant):
        package, path, signed_in, _label = VARIANTS[variant]
        return spawn(tasks[package], event(path, session if signed_in else None), child_env[package])

    variants = cold_starts(VARIANTS, measure, mode["coldstart_rounds"])
    sizes = {name: Size.of(path).__dict__ for name, path in zips.items()}
    return {"measured": measured(), "rounds": mode["coldstart_rounds"], "sizes": sizes,
            "largest": largest(zips["app"], count=8), "variants": variants, "form_vs_floor": ratio(variants["app"]["total_ms"], variants["floor"]["total_ms"]),
            "inbox_vs_floor_inbox": ratio(variants["app_inbox"]["total_ms"], variants["floor_inbox"]["total_ms"])}
