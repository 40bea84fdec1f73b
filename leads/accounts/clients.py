"""How "Where you're signed in" describes a browser: a coarse summary of it, and roughly where it is.

Only the summaries are stored (on the session item, at sign-in), never what they are made from: the
User-Agent adds nothing the summary does not say, and a raw IP address is personal data the page
does not need.
"""

import ipaddress
import re

from django.conf import settings
from django.http import HttpRequest

from leads.domain import ratelimit

UNKNOWN_BROWSER = "Unknown browser"
UNKNOWN_PLACE = "Unknown"

# A hand-written table rather than a parser library: the page needs a dozen coarse names, while
# ua-parser (well kept) brings about a thousand regular expressions, compiled on first use, and its
# rules package to every deployment, Lambda's included, to tell Chrome 131 from Chrome 132 — detail we
# would throw away. First match wins, so the browsers that also say "Chrome" or "Safari" come first.
_BROWSERS = (
    ("Edge", re.compile(r"\b(?:Edg|EdgA|EdgiOS|Edge)/")),
    ("Opera", re.compile(r"\b(?:OPR|OPiOS|Opera)\b")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS|HeadlessChrome|Chromium)/")),
    ("Safari", re.compile(r"\bSafari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"\biPhone\b")),
    ("iPad", re.compile(r"\biPad\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)


def browser_summary(user_agent: str) -> str:
    """ "Chrome on Linux", "Safari on iPhone", "Firefox", or "Unknown browser"."""
    user_agent = (user_agent or "")[:512]  # real ones are shorter; a longer one is never worth scanning
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser:
        return browser
    return f"A browser on {system}" if system else UNKNOWN_BROWSER


def _header_text(value: str, limit: int = 60) -> str:
    """A header value fit to show: printable characters only, and short."""
    return "".join(char for char in value if char.isprintable()).strip()[:limit]


def network_hint(address: str) -> str:
    """The network an address is in, never the address: "203.0.113.x" (a /24), "2001:db8:1::/48"."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return UNKNOWN_PLACE
    if parsed.version == 6 and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped
    if parsed.version == 4:
        return ".".join(str(parsed).split(".")[:3]) + ".x"
    return str(ipaddress.ip_network(f"{parsed}/48", strict=False))


def location_hint(request: HttpRequest) -> str:
    """Roughly where the request came from: CloudFront's city and country, else the client's network.

    The CloudFront-Viewer-* headers are read only with LEADS_CLOUDFRONT_LOCATION on, as anyone can send
    them to a server that is not behind CloudFront.
    """
    if settings.LEADS_CLOUDFRONT_LOCATION:
        country = _header_text(request.headers.get("CloudFront-Viewer-Country", ""), 2)
        city = _header_text(request.headers.get("CloudFront-Viewer-City", ""))
        if country:
            return f"{city}, {country}" if city else country
    return network_hint(ratelimit.client_address(request))


def describe(request: HttpRequest) -> tuple[str, str]:
    """(browser summary, location hint) of the browser that sent this request."""
    return browser_summary(request.headers.get("User-Agent", "")), location_hint(request)
