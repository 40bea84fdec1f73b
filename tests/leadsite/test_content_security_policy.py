"""The Content-Security-Policy: scripts only from this site (backoffice.js), never inline; everything else as strict."""
import re

import pytest



def directives(response) -> dict[str, str]:
    """The policy header as {directive: sources}."""
    policy = response["Content-Security-Policy"]
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())


def test_the_inbox_loads_its_one_script_from_this_site_under_script_src_self(admin_client):
    response = admin_client.get("/admin/leads/")
    html = response.content.decode()
    policy = directives(response)
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'" and policy["style-src"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    attributes, body = scripts[0]
    assert re.search(r'src="[^"]*/leads/backoffice\.js"', attributes) and "defer" in attributes
    assert body.strip() == ""  # nothing inline
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.I)  # no inline event handlers


def test_the_public_form_carries_no_script_at_all(client):
    response = client.get("/")
    assert "<script" not in response.content.decode().lower()
    assert directives(response)["script-src"] == "'self'"
