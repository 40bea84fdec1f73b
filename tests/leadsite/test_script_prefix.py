"""Links under a script prefix (an API Gateway stage, which Zappa puts in SCRIPT_NAME), request by request.

tests/integration/test_zappa_stage.py walks every page through Zappa's handler; these cover what a walk
cannot reach: the pages Django renders without a request context (500, the CSRF failure), and the
static URL of one process switching prefixes between requests.
"""
import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import get_script_prefix, set_script_prefix
from django.views import csrf, defaults

from leads.public.views import bad_request
from leads.web.staticfiles import ScriptPrefixedStaticFilesStorage
from tests.helpers import page_links

STAGE = "/production"


@pytest.fixture
def script_prefix():
    """Set the script prefix as Django's WSGI handler does at the start of each request."""
    before = get_script_prefix()
    yield set_script_prefix
    set_script_prefix(before)


def test_static_urls_take_each_requests_prefix_not_the_first_ones(script_prefix):
    for prefix, expected in [("/", "/static/leads/site.css"), (f"{STAGE}/", f"{STAGE}/static/leads/site.css"),
                             ("/", "/static/leads/site.css"), ("/leads/", "/leads/static/leads/site.css")]:
        script_prefix(prefix)
        assert staticfiles_storage.url("leads/site.css") == expected


def test_static_urls_on_another_host_are_left_alone(script_prefix):
    script_prefix(f"{STAGE}/")
    storage = ScriptPrefixedStaticFilesStorage(base_url="https://cdn.example.com/static/")
    assert storage.url("leads/site.css") == "https://cdn.example.com/static/leads/site.css"


ERROR_PAGES = {
    "400": lambda request: bad_request(request),
    "403": lambda request: defaults.permission_denied(request, PermissionDenied()),
    "403 csrf": lambda request: csrf.csrf_failure(request, reason="CSRF cookie not set."),
    "404": lambda request: defaults.page_not_found(request, Http404()),
    "500": lambda request: defaults.server_error(request),  # rendered with no request context at all
}


@pytest.mark.parametrize("path", ["/nowhere/", "/admin/nowhere/"])
@pytest.mark.parametrize("page", ERROR_PAGES, ids=list(ERROR_PAGES))
def test_error_pages_link_under_the_stage(script_prefix, page, path):
    script_prefix(f"{STAGE}/")
    request = RequestFactory().get(path, SCRIPT_NAME=STAGE)
    response = ERROR_PAGES[page](request)
    urls = page_links(response.content.decode())
    assert len(urls) >= 4, urls  # icon, stylesheet, brand, the way back
    assert all(url.startswith(f"{STAGE}/") for url in urls), urls
    assert any(url.startswith(f"{STAGE}/static/leads/site.") for url in urls)


def test_the_way_back_from_a_staff_error_page_is_the_dashboard_under_the_stage(script_prefix):
    script_prefix(f"{STAGE}/")
    request = RequestFactory().get("/admin/nowhere/", SCRIPT_NAME=STAGE)
    html = defaults.page_not_found(request, Http404()).content.decode()
    assert f'href="{STAGE}/admin/">Back to the dashboard' in html


def test_the_health_check_answers_under_the_stage_before_host_validation():
    # A load balancer or a probe calls it by IP: no ALLOWED_HOSTS entry, and still an answer.
    response = Client().get("/healthz", SCRIPT_NAME=STAGE, HTTP_HOST="10.0.3.7")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
