"""Template context every page gets: the site's branding (README, "Make it yours")."""

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext


def site_name(request: HttpRequest) -> str:
    """LEADS_SITE_NAME, else the host the visitor asked for (without a port)."""
    if settings.LEADS_SITE_NAME:
        return settings.LEADS_SITE_NAME
    try:
        domain, _port = split_domain_port(request.get_host())
    except DisallowedHost:  # the 400 page for that very error must still render
        domain = ""
    return domain or gettext("Contact")


def branding(request: HttpRequest) -> dict:
    """site_name, site_logo_url, accent_style (a <style> body the CSP allows by hash), intro and thanks texts."""
    return {
        "site_name": SimpleLazyObject(lambda: site_name(request)),
        "site_logo_url": settings.LEADS_SITE_LOGO_URL,
        "accent_style": settings.LEADS_ACCENT_STYLE,
        "site_intro_text": settings.LEADS_INTRO_TEXT,
        "site_thanks_text": settings.LEADS_THANKS_TEXT,
    }
