"""The visitor sees the site, not the software: its name, logo, accent colour and texts, from settings."""
import base64
import hashlib
import re

import pytest
from django.test import Client

from tests.public.test_contact import form_data


def header(html: str) -> str:
    return re.search(r'<header class="topbar">(.*?)</header>', html, re.S).group(1)


def test_without_settings_the_header_names_the_host_the_visitor_asked_for(client, settings):
    settings.ALLOWED_HOSTS = ["www.acme.example"]
    html = client.get("/", HTTP_HOST="www.acme.example:8443").content.decode()
    assert '<a class="brand" href="/">www.acme.example</a>' in header(html)
    assert "Leads" not in header(html) and "<title>Contact us · www.acme.example</title>" in html
    assert "<style>" not in html  # no accent: site.css's own colours, no inline style at all


def test_the_site_name_replaces_leads_on_every_public_page(client, settings):
    settings.LEADS_SITE_NAME = "Acme & Sons <Ltd>"
    for path in ("/", "/thanks/", "/nowhere/"):
        html = client.get(path).content.decode()
        assert ">Acme &amp; Sons &lt;Ltd&gt;</a>" in header(html), path
        assert "· Acme &amp; Sons &lt;Ltd&gt;</title>" in html, path
        assert "Leads" not in header(html)


def test_a_logo_is_shown_instead_of_the_name_with_the_name_as_its_text(client, settings):
    settings.LEADS_SITE_NAME = 'Acme "Best"'
    settings.LEADS_SITE_LOGO_URL = "/static/acme.svg?v=1&x=2"
    brand = header(client.get("/").content.decode())
    assert '<img class="logo" src="/static/acme.svg?v=1&amp;x=2" alt="Acme &quot;Best&quot;">' in brand


def test_the_accent_colour_is_one_style_element_the_csp_allows_by_hash(client, settings):
    style = ":root{--brand:#7a1f5c;--brand-dark:#5b1745}"
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    settings.LEADS_ACCENT_STYLE = style
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
        **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], "style-src": ["'self'", f"'sha256-{digest}'"]}}
    response = client.get("/")
    [inline] = re.findall(r"<style>(.*?)</style>", response.content.decode())
    assert base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode() == digest
    assert f"style-src 'self' 'sha256-{digest}'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_intro_and_thanks_texts_are_the_sites_own_and_escaped(client, settings):
    settings.LEADS_INTRO_TEXT = "Ask us about <b>widgets</b>.\nWe answer within a day & night."
    settings.LEADS_THANKS_TEXT = "Thanks! <script>alert(1)</script>"
    html = client.get("/").content.decode()
    assert "Ask us about &lt;b&gt;widgets&lt;/b&gt;.<br>We answer within a day &amp; night." in html
    assert "Tell us what you need" not in html
    assert client.post("/", form_data(client)).status_code == 302
    thanks = client.get("/thanks/").content.decode()
    assert "Thanks! &lt;script&gt;alert(1)&lt;/script&gt;" in thanks and "<script>" not in thanks
    assert "Your message has been received" not in thanks


def test_default_texts_follow_the_visitors_language(settings):
    german = Client(headers={"Accept-Language": "de"})
    assert "Sagen Sie uns, was Sie brauchen" in german.get("/").content.decode()
    assert "Ihre Nachricht ist angekommen." in german.get("/thanks/").content.decode()


def test_staff_pages_keep_the_softwares_name(admin_client, settings):
    settings.LEADS_SITE_NAME = "Acme"
    assert '">Leads</a>' in header(admin_client.get("/admin/").content.decode())


def test_a_disallowed_host_still_gets_its_400_page(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and '<a class="brand" href="/">Contact</a>' in response.content.decode()


def test_the_server_error_page_carries_the_branding_and_the_visitors_language(settings, monkeypatch):
    settings.LEADS_SITE_NAME = "Acme"
    from leads.public import views

    def broken(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.ThanksView, "get", broken)
    response = Client(raise_request_exception=False, headers={"Accept-Language": "de"}).get("/thanks/")
    html = response.content.decode()
    assert response.status_code == 500
    assert '<a class="brand" href="/">Acme</a>' in html and "Bei uns ist etwas schiefgegangen" in html
