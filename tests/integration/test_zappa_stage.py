"""Every link and every static file works under an API Gateway stage, and without one, from a cold start.

Real event payloads from Zappa's own test suite (tests/fixtures/zappa_events.json says where each comes
from) go through Zappa's real handler (`zappa.handler.lambda_handler`) in a fresh interpreter
(tests/integration/lambda_worker.py), configured by a `zappa_settings.py` generated from our own
zappa_settings.json the way `zappa package` generates it, with the production Django settings, against
a DynamoDB on loopback. The first event each interpreter gets is the first request its Django sees.

On each page every `href`, `src`, `srcset`, `action` (and meta refresh, and each redirect's Location)
is read with html.parser: a root-relative URL must start with the stage (REST v1: `/production`, HTTP
API v2 on its execute-api URL: the stage in the event, `/dev`; a custom domain with a base path: that
path) and, on a custom domain, must carry no stage. Then every same-site link found is requested once
through the handler and must not be a 404 (nor a 500).
"""
import base64
import copy
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from zappa.cli import ZappaCLI

from tests.conftest import BACKEND
from tests.helpers import page_links
from tests.integration.servers import free_port
from tests.integration.test_gunicorn import kill_group, wait_for_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("lambda_worker.py")
FIXTURES = json.loads((ROOT / "tests" / "fixtures" / "zappa_events.json").read_text())
TABLE_PREFIX = "stage-test-"
ZAPPA_CONFIG = json.loads((ROOT / "zappa_settings.json").read_text())
ZAPPA_REGION = ZAPPA_CONFIG["production"]["aws_region"]
ADMIN = ("boss@example.com", "correct horse battery staple")
SALES = ("sam@example.com", "another long passphrase")
VISITOR = {"name": "Grace Hopper", "company": "US Navy", "subject": "Compilers", "message": "About COBOL."}


# --- Ways of reaching the function ---------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One way a browser reaches the function, and the prefix every root-relative link must then carry."""

    name: str
    payload: str  # "1.0" (REST API) or "2.0" (HTTP API)
    zappa_stage: str  # the stage of zappa_settings.json that was deployed
    host: str
    prefix: str  # what links must start with: SCRIPT_NAME as Zappa sets it
    in_event_path: str = ""  # what API Gateway leaves in front of the app's path in the event
    stage_config: dict = field(default_factory=dict, hash=False)  # more settings for that stage
    client_ip: str = "203.0.113.10"


REST_HOST = FIXTURES["rest_v1"]["event"]["headers"]["Host"]
HTTP_HOST = FIXTURES["http_v2"]["event"]["headers"]["host"]
V2_STAGE = FIXTURES["http_v2_named_stage"]["event"]["requestContext"]["stage"]  # "dev"
REST_DOMAIN = FIXTURES["rest_v1_custom_domain"]["event"]["headers"]["Host"]  # "example.com"
HTTP_DOMAIN = FIXTURES["http_v2_custom_domain"]["event"]["headers"]["host"]  # "api.example.com"

# REST (v1) puts the path without the stage in the event; Zappa adds SCRIPT_NAME=/<API_STAGE> when the
# host is execute-api's. HTTP APIs (v2) keep the stage in rawPath on the execute-api URL, and Zappa
# moves it to SCRIPT_NAME; through a custom domain the stage is gone from the path, and so is the prefix.
# A REST custom domain mapped under a base path keeps it in the path; Zappa's `base_path` moves it over.
REST_STAGE = Entry("rest-v1-stage", "1.0", "production", REST_HOST, "/production", client_ip="203.0.113.11")
HTTP_STAGE = Entry("http-v2-stage", "2.0", V2_STAGE, HTTP_HOST, f"/{V2_STAGE}", in_event_path=f"/{V2_STAGE}",
                   stage_config={"apigateway_version": "v2"}, client_ip="203.0.113.12")
REST_DOMAIN_ENTRY = Entry("rest-v1-custom-domain", "1.0", "production", REST_DOMAIN, "",
                          stage_config={"domain": REST_DOMAIN}, client_ip="203.0.113.13")
HTTP_DOMAIN_ENTRY = Entry("http-v2-custom-domain", "2.0", V2_STAGE, HTTP_DOMAIN, "",
                          stage_config={"apigateway_version": "v2", "domain": HTTP_DOMAIN},
                          client_ip="203.0.113.14")
REST_BASE_PATH = Entry("rest-v1-custom-domain-base-path", "1.0", "production", REST_DOMAIN, "/leads",
                       in_event_path="/leads", stage_config={"domain": REST_DOMAIN, "base_path": "leads"},
                       client_ip="203.0.113.15")
ENTRIES = [REST_STAGE, HTTP_STAGE, REST_DOMAIN_ENTRY, HTTP_DOMAIN_ENTRY, REST_BASE_PATH]
STAGES = ("/production/", f"/{V2_STAGE}/")


def rest_event(entry: Entry, method: str, path: str, query: str, headers: dict, cookies: list, body: str | None):
    """The captured REST (1.0) event with this request's method, path, query, headers and body."""
    event = copy.deepcopy(FIXTURES["rest_v1"]["event"])
    context = event["requestContext"]
    event_path = entry.in_event_path + path
    headers = {**event["headers"], "Host": entry.host, "X-Forwarded-For": f"{entry.client_ip}, 204.246.168.101",
               **({"Cookie": "; ".join(cookies)} if cookies else {}), **headers}
    multi_query = parse_qs(query, keep_blank_values=True) or None
    event.update(
        httpMethod=method, path=event_path, resource="/{proxy+}", pathParameters={"proxy": path.lstrip("/")},
        headers=headers,
        # API Gateway has sent the multi-value forms too since 2018 (the 2016 capture predates them).
        multiValueHeaders={name: [value] for name, value in headers.items()},
        queryStringParameters={name: values[-1] for name, values in multi_query.items()} if multi_query else None,
        multiValueQueryStringParameters=multi_query, body=body, isBase64Encoded=False,
    )
    # The capture's stage was "devorr"; API Gateway names the stage the event came through.
    context.update(httpMethod=method, resourcePath="/{proxy+}", stage=entry.zappa_stage,
                   path=(f"/{entry.zappa_stage}" if ".execute-api." in entry.host else entry.in_event_path) + path)
    context["identity"]["sourceIp"] = entry.client_ip
    return event


def http_event(entry: Entry, method: str, path: str, query: str, headers: dict, cookies: list, body: str | None):
    """The captured HTTP API (2.0) event with this request's method, path, query, headers and body."""
    event = copy.deepcopy(FIXTURES["http_v2"]["event"])
    context = event["requestContext"]
    raw_path = entry.in_event_path + path
    event.update(
        rawPath=raw_path, rawQueryString=query, pathParameters={"proxy": path.lstrip("/")},
        headers={**event["headers"], "host": entry.host, "x-forwarded-for": entry.client_ip,
                 **{name.lower(): value for name, value in headers.items()}},
    )
    event["headers"].pop("content-length")  # the captured GET's; API Gateway sets it per request
    context.update(domainName=entry.host, domainPrefix=entry.host.split(".")[0], stage=entry.zappa_stage)
    context["http"].update(method=method, path=raw_path, sourceIp=entry.client_ip)
    if cookies:
        event["cookies"] = cookies
    if body is not None:
        # HTTP APIs hand request bodies over base64-encoded.
        event.update(body=base64.b64encode(body.encode()).decode(), isBase64Encoded=True)
    return event


# --- Zappa's handler in a fresh interpreter ------------------------------------------------------

def generated_settings(entry: Entry, directory: Path, environment: dict) -> Path:
    """Write into directory the zappa_settings.py `zappa package` would build for entry's stage."""
    config = copy.deepcopy(ZAPPA_CONFIG)
    for stage in config.values():  # each stage, for one may extend another
        stage.pop("remote_env", None)  # secrets come from the worker's environment here, not from S3
        if "environment_variables" in stage:
            stage["environment_variables"].update(environment)
    config[entry.zappa_stage].update(entry.stage_config)
    (directory / "zappa_settings.json").write_text(json.dumps(config))
    cli = ZappaCLI()
    cli.api_stage = entry.zappa_stage
    cli.load_credentials = False  # what `zappa package` does: nothing here talks to AWS
    cli.load_settings(str(directory / "zappa_settings.json"))
    assert cli.aws_region == ZAPPA_REGION, "the tables are made in the production stage's region only"
    (directory / "zappa_settings.py").write_text(cli.get_zappa_settings_string())
    return directory


@dataclass
class Response:
    status: int
    headers: dict  # lower-cased names
    set_cookies: list
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class Function:
    """The deployed function: one cold interpreter running Zappa's handler."""

    def __init__(self, entry: Entry, settings_dir: Path, env: dict, log: Path):
        self.entry = entry
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(WORKER), str(settings_dir)], cwd=ROOT, env=env, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=out, start_new_session=True,
            )

    def invoke(self, event: dict) -> dict:
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(10)
            raise RuntimeError(f"the worker died ({self.process.returncode}):\n{self.log.read_text()[-5000:]}")
        return json.loads(line)

    def request(self, method: str, url: str, *, entry: Entry | None = None, headers=None, cookies=(),
                body=None) -> "Response":
        """Send a request for url (as a page links it: with the prefix) the way entry's API Gateway would."""
        entry = entry or self.entry
        parts = urlsplit(url)
        assert parts.path.startswith(entry.prefix + "/"), f"{url} is not under {entry.prefix or 'the root'}"
        path = parts.path[len(entry.prefix):]
        build = rest_event if entry.payload == "1.0" else http_event
        answer = self.invoke(build(entry, method, path, parts.query, headers or {}, list(cookies), body))
        raw = answer.get("body") or ""
        content = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode()
        if entry.payload == "1.0":
            multi = answer.get("multiValueHeaders", {})
            headers = {name.lower(): values[-1] for name, values in multi.items()}
            set_cookies = next((values for name, values in multi.items() if name.lower() == "set-cookie"), [])
        else:
            headers = {name.lower(): value for name, value in answer["headers"].items()}
            set_cookies = answer.get("cookies", [])
        return Response(answer["statusCode"], headers, set_cookies, content)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class Browser:
    """A browser on one entry: it keeps its cookies and sends Origin and Referer with its posts."""

    def __init__(self, function: Function, entry: Entry | None = None):
        self.function = function
        self.entry = entry or function.entry
        self.cookies: dict[str, str] = {}

    @property
    def origin(self) -> str:
        return f"https://{self.entry.host}"

    def send(self, method: str, url: str, *, form: dict | None = None, headers: dict | None = None,
             body: str | None = None) -> Response:
        headers = dict(headers or {})
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if method != "GET":
            headers.setdefault("Origin", self.origin)
            headers.setdefault("Referer", f"{self.origin}{url}")
        response = self.function.request(method, url, entry=self.entry, headers=headers, body=body,
                                         cookies=[f"{name}={value}" for name, value in self.cookies.items()])
        for header in response.set_cookies:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, url: str, **kwargs) -> Response:
        return self.send("GET", url, **kwargs)


# --- Reading a page's links ----------------------------------------------------------------------

def same_site(entry: Entry, page_url: str, url: str) -> str | None:
    """url as a path (with its query) on this site, resolved against the page; None if it leaves the site.

    Fails the test when a same-site URL misses the prefix, or carries a stage on a custom domain.
    """
    parts = urlsplit(url)
    if parts.scheme in ("mailto", "tel", "data"):
        return None
    assert not url.startswith("//"), f"protocol-relative URL {url!r}"
    if parts.scheme or parts.netloc:
        if parts.netloc != entry.host:
            return None
        url = url.split(parts.netloc, 1)[1] or "/"
    elif not url.startswith("/"):
        url = urljoin(page_url, url)  # ?query, #fragment, or relative: resolved against a prefixed page
    url = url.split("#")[0]
    path = urlsplit(url).path
    assert path.startswith(entry.prefix + "/"), f"{url!r} on {page_url} leaves the prefix {entry.prefix!r}"
    if not entry.prefix:
        assert not path.startswith(STAGES), f"{url!r} on {page_url} carries a stage on a custom domain"
    return url


def checked_links(entry: Entry, page_url: str, response: Response) -> set[str]:
    """The page's same-site URLs (each checked for the prefix), its redirect included."""
    found = set()
    urls = page_links(response.text) if response.headers.get("content-type", "").startswith("text/html") else []
    if response.location:
        urls.append(response.location)
    for url in urls:
        resolved = same_site(entry, page_url, url)
        if resolved is not None:
            found.add(resolved)
    return found


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', html).group(1)


# --- The deployment ------------------------------------------------------------------------------

@dataclass
class Deployment:
    """Tables with two staff accounts on a DynamoDB of the test backend, collected static files, and a
    way to start cold functions against them."""

    tmp: Path
    endpoint: str
    env: dict

    def manage(self, *arguments: str, **extra: str) -> None:
        result = subprocess.run([sys.executable, "manage.py", *arguments], cwd=ROOT, env={**self.env, **extra},
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"manage.py {' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"

    def function(self, entry: Entry, *, endpoint: str | None = None, hosts: tuple = ()) -> Function:
        """A cold function for entry (with DynamoDB at endpoint, default the test backend's)."""
        directory = self.tmp / f"function-{entry.name}-{os.urandom(3).hex()}"
        directory.mkdir()
        settings_dir = generated_settings(entry, directory, {
            "DYNAMODB_ENDPOINT": endpoint or self.endpoint,
            "DYNAMODB_TABLE_PREFIX": TABLE_PREFIX,
            "ALLOWED_HOSTS": ",".join((entry.host, *hosts)),
            "LEADS_RATELIMIT_COUNT": "2",  # the third post from one client is the 429 page
        })
        return Function(entry, settings_dir, self.env, directory / "worker.log")


@pytest.fixture(scope="module")
def deployment(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zappa-stage")
    env = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(
        HOME=str(tmp),  # no ~/.aws of the developer's
        SECRET_KEY="stage-tests-only-" + "x" * 40,  # on Lambda: from the remote env file
        STATIC_ROOT=str(tmp / "static"),
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        # The function runs in its stage's region (Zappa exports AWS_REGION): the tables are made there.
        AWS_REGION=ZAPPA_REGION,
        DYNAMODB_MAX_RETRIES="1", DYNAMODB_CONNECT_TIMEOUT="1", DYNAMODB_READ_TIMEOUT="3",
        PYTHONUNBUFFERED="1",
    )
    dynamodb = None
    if BACKEND == "dynamodb-local":
        endpoint = request.getfixturevalue("dynamodb_local").url
    else:
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        log = tmp / "dynamodb.log"
        with log.open("wb") as out:
            dynamodb = subprocess.Popen(
                [sys.executable, "manage.py", "embedded_dynamodb", "--port", str(port), "--data-dir", str(tmp / "db")],
                cwd=ROOT, env={**env, "DEBUG": "0", "DYNAMODB_ENDPOINT": endpoint}, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_for_port(port, dynamodb, log)
    deployment = Deployment(tmp, endpoint, env)
    # What a release does before traffic: tables, the first accounts, collectstatic (Lambda's package
    # carries the collected files; whitenoise serves them under hashed, compressed names).
    setup = {"DJANGO_SETTINGS_MODULE": "leadsite.settings", "DEBUG": "0", "DYNAMODB_ENDPOINT": endpoint,
             "DYNAMODB_TABLE_PREFIX": TABLE_PREFIX}
    try:
        deployment.manage("create_tables", **setup)
        deployment.manage("collectstatic", "--noinput", **setup)
        for (email, password), role in ((ADMIN, "admin"), (SALES, "sales")):
            deployment.manage("createstaff", "--noinput", "--role", role, **setup,
                              LEADS_ADMIN_EMAIL=email, LEADS_ADMIN_PASSWORD=password)
        yield deployment
    finally:
        kill_group(dynamodb)


@pytest.fixture
def started(deployment):
    """Start cold functions for a test; stop them afterwards."""
    functions = []

    def start(entry: Entry, **kwargs) -> Function:
        functions.append(deployment.function(entry, **kwargs))
        return functions[-1]

    yield start
    for function in functions:
        function.stop()


class Walk:
    """Pages visited through one function, with every same-site link found on them (checked as found)."""

    def __init__(self, entry: Entry):
        self.entry = entry
        self.found: dict[str, str] = {}  # link -> the page it was on

    def visit(self, browser: Browser, method: str, url: str, status: int | None, **kwargs) -> Response:
        """Request url, check the status (unless None) and every link on the answer."""
        response = browser.send(method, url, **kwargs)
        assert status in (None, response.status), \
            f"{self.entry.name}: {method} {url} → {response.status}\n{response.text[:3000]}"
        for link in checked_links(self.entry, url, response):
            self.found.setdefault(link, url)
        return response


def sign_in(walk: Walk, browser: Browser, email: str, password: str, *, next_url: str) -> Response:
    login = walk.visit(browser, "GET", f"{walk.entry.prefix}/admin/login/?{urlencode({'next': next_url})}", 200)
    return walk.visit(browser, "POST", f"{walk.entry.prefix}/admin/login/", 302, form={
        "email": email, "password": password, "next": hidden(login.text, "next"),
        "csrfmiddlewaretoken": hidden(login.text, "csrfmiddlewaretoken"),
    })


def post_contact_form(walk: Walk, browser: Browser, status: int, email: str) -> Response:
    page = walk.visit(browser, "GET", f"{walk.entry.prefix}/", 200)
    return walk.visit(browser, "POST", f"{walk.entry.prefix}/", status, form={
        **VISITOR, "email": email, "token": hidden(page.text, "token"),
        "csrfmiddlewaretoken": hidden(page.text, "csrfmiddlewaretoken"),
    })


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name for entry in ENTRIES])
def test_every_link_on_every_page_keeps_the_prefix_and_leads_somewhere(started, entry):
    function = started(entry)
    walk, p = Walk(entry), entry.prefix
    visitor = Browser(function)

    # The cold function's very first request: the contact form, its stylesheet and icon included.
    form = walk.visit(visitor, "GET", f"{p}/", 200)
    assert 'name="message"' in form.text
    assets = [link for link in page_links(form.text) if "/static/" in link]
    assert {Path(urlsplit(url).path).suffix for url in assets} == {".css", ".svg"}, assets
    for url in assets:
        response = walk.visit(visitor, "GET", url, 200)
        expected = "text/css" if url.endswith(".css") else "image/svg+xml"
        assert response.headers["content-type"].startswith(expected) and response.body, url

    # A visitor: the form, the thank-you page, the JSON endpoint, the rate limit's 429 page.
    email = f"{entry.name}@example.com"
    sent = post_contact_form(walk, visitor, 302, email)
    assert sent.location == f"{p}/thanks/"
    assert "Thank" in walk.visit(visitor, "GET", sent.location, 200).text
    api = walk.visit(visitor, "POST", f"{p}/", 201, body=json.dumps({**VISITOR, "email": email}), headers={
        "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": visitor.cookies["csrftoken"],
    })
    assert json.loads(api.body)["id"]
    limited = post_contact_form(walk, visitor, 429, email)
    assert "About COBOL." in limited.text  # the visitor's text is kept
    assert walk.visit(visitor, "GET", f"{p}/healthz", 200).headers["content-type"] == "application/json"

    # A missing trailing slash is added under the prefix (CommonMiddleware's redirect).
    assert walk.visit(visitor, "GET", f"{p}/thanks", 301).location == f"{p}/thanks/"

    # Error pages a visitor can meet: 404, and 403 for a post without the CSRF cookie.
    walk.visit(visitor, "GET", f"{p}/no-such-page/", 404)
    walk.visit(Browser(function), "POST", f"{p}/", 403, form={**VISITOR, "email": email})

    # Staff: sent to sign in and back, then the inbox, a lead, the dashboard, the export.
    staff = Browser(function)
    inbox_url = f"{p}/admin/leads/"
    to_login = walk.visit(staff, "GET", inbox_url, 302)
    assert to_login.location == f"{p}/admin/login/?{urlencode({'next': inbox_url})}"
    signed_in = sign_in(walk, staff, *ADMIN, next_url=inbox_url)
    assert signed_in.location == inbox_url
    walk.visit(staff, "GET", inbox_url, 200)
    found_url = f"{inbox_url}?{urlencode({'q': email})}"
    found = walk.visit(staff, "GET", found_url, 200)  # this entry's two leads
    lead_urls = {url for url in page_links(found.text) if re.fullmatch(rf"{p}/admin/leads/[0-9a-f]{{32}}/", url)}
    assert len(lead_urls) == 2, lead_urls
    lead_url = min(lead_urls)
    lead = walk.visit(staff, "GET", lead_url, 200)
    assert email in lead.text
    saved = walk.visit(staff, "POST", lead_url, 302, form={
        "status": "contacted", "owner": "", "notes": "Called back.", "version": hidden(lead.text, "version"),
        "csrfmiddlewaretoken": hidden(lead.text, "csrfmiddlewaretoken"),
    })
    assert saved.location == lead_url
    confirm = walk.visit(staff, "POST", f"{p}/admin/leads/bulk/", 200, form={
        "ids": lead_url.split("/")[-2], "action": "set_status", "status": "qualified",
        "back": hidden(found.text, "back"), "csrfmiddlewaretoken": hidden(found.text, "csrfmiddlewaretoken"),
    })
    assert f'href="{found_url}"' in confirm.text.replace("&amp;", "&")  # Cancel: back to the filtered inbox
    walk.visit(staff, "GET", f"{p}/admin/", 200)
    export = walk.visit(staff, "GET", f"{p}/admin/leads/export.csv", 200)
    assert export.headers["content-type"].startswith("text/csv") and email in export.text

    # Error pages staff can meet: 400 (a tampered cursor), 404 under /admin/, 403 for sales staff.
    walk.visit(staff, "GET", f"{p}/admin/leads/?cursor=garbage", 400)
    walk.visit(staff, "GET", f"{p}/admin/leads/{'0' * 32}/", 404)
    sales = Browser(function)
    sign_in(walk, sales, *SALES, next_url=f"{p}/admin/staff/")
    walk.visit(sales, "GET", f"{p}/admin/staff/", 403)

    # Every same-site link found, followed once (signed in as the admin): none leads nowhere.
    followed = Walk(entry)
    for url, page in sorted(walk.found.items()):
        response = followed.visit(staff, "GET", url, None)
        assert response.status not in (404, 500), f"{url} (linked from {page}) → {response.status}"
    assert len(walk.found) >= 15, sorted(walk.found)

    signed_out = walk.visit(staff, "POST", f"{p}/admin/logout/", 302,
                            form={"csrfmiddlewaretoken": staff.cookies["csrftoken"]})
    assert signed_out.location == f"{p}/admin/login/"


@pytest.mark.parametrize("entry", [REST_STAGE, HTTP_STAGE], ids=[REST_STAGE.name, HTTP_STAGE.name])
def test_a_cold_functions_first_request_may_be_the_stylesheet(started, deployment, entry):
    manifest = json.loads((deployment.tmp / "static" / "staticfiles.json").read_text())
    stylesheet = f"{entry.prefix}/static/{manifest['paths']['leads/site.css']}"
    response = Browser(started(entry)).get(stylesheet, headers={"Accept-Encoding": "identity"})
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/css") and b"{" in response.body


@pytest.mark.parametrize("stage, domain", [(REST_STAGE, REST_DOMAIN_ENTRY), (HTTP_STAGE, HTTP_DOMAIN_ENTRY)],
                         ids=["rest-v1", "http-v2"])
def test_one_function_serves_its_stage_url_and_its_custom_domain_alike(started, stage, domain):
    """The execute-api URL keeps working after a custom domain is added: each request gets its own prefix."""
    function = started(stage, hosts=(domain.host,))
    for entry in (domain, stage, domain, stage):
        walk = Walk(entry)
        page = walk.visit(Browser(function, entry), "GET", f"{entry.prefix}/", 200)
        stylesheet = next(url for url in page_links(page.text) if url.endswith(".css"))
        assert stylesheet.startswith(f"{entry.prefix}/static/leads/site.")
        walk.visit(Browser(function, entry), "GET", stylesheet, 200)
        # Nothing under /admin/ is cached (a 404 too: no view's decorator there), whichever way it is reached.
        missing = walk.visit(Browser(function, entry), "GET", f"{entry.prefix}/admin/no-such-page/", 404)
        assert "no-store" in missing.headers.get("cache-control", ""), (entry.name, missing.headers)


@pytest.mark.parametrize("entry", [REST_STAGE, HTTP_STAGE], ids=[REST_STAGE.name, HTTP_STAGE.name])
def test_the_503_pages_keep_the_prefix_when_dynamodb_is_down(started, entry):
    function = started(entry, endpoint=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    walk, p = Walk(entry), entry.prefix
    visitor = Browser(function)
    page = walk.visit(visitor, "GET", f"{p}/", 200)  # the form needs no DynamoDB: the first request
    failed = walk.visit(visitor, "POST", f"{p}/", 503, form={
        **VISITOR, "email": "ada@example.com", "token": hidden(page.text, "token"),
        "csrfmiddlewaretoken": hidden(page.text, "csrfmiddlewaretoken"),
    })
    assert "About COBOL." in failed.text
    staff = Browser(function)
    staff.cookies["leads_session"] = "a" * 32
    outage = walk.visit(staff, "GET", f"{p}/admin/leads/", 503)
    assert "briefly unavailable" in outage.text
    assert walk.found  # the pages had links, and each was checked
