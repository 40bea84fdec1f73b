"""Small builders and readers shared by tests: leads, signed-in staff, counters."""
import itertools
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

from django.test import Client

from leads.domain import services
from leads.public import tokens

PASSWORD = "correct horse battery staple"
_clock = itertools.count()


def make_lead(email="ann@acme.com", *, name="Ann", subject="Hello", message="Hi", company="", when=None):
    """Store a lead as the contact form would; leads made later are newer."""
    when = when or datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(minutes=next(_clock))
    lead_id = tokens.new_lead_id()
    services.lead_submit(lead_id=lead_id, name=name, email=email, subject=subject, message=message,
                         company=company, now=when)
    return lead_id


def signed_in(email, role):
    """A test client signed in as a new staff member with this role."""
    services.staff_create(email=email, password=PASSWORD, role=role, name=email.split("@")[0].title())
    client = Client()
    response = client.post("/admin/login/", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def status_count(status: str) -> int:
    """Leads with this status, as the inbox counts them (the sum of the tally shards)."""
    from leads.domain.selectors import status_counts

    return status_counts()[status]


def day_count(day) -> int:
    """Leads created on this UTC day, as the dashboard counts them."""
    from leads.domain.selectors import dashboard_counts

    return dict(dashboard_counts(days=1, today=day)[1])[day]


class _Links(HTMLParser):
    """Every URL a page asks the browser to load, follow or post to."""

    ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data"}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if value is None:
                continue
            if name in self.ATTRIBUTES:
                self.urls.append(value)
            elif name in ("srcset", "imagesrcset"):
                self.urls.extend(candidate.split()[0] for candidate in value.split(",") if candidate.strip())
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            match = re.search(r"url\s*=\s*['\"]?([^'\";]+)", attrs.get("content") or "", re.I)
            if match:
                self.urls.append(match.group(1))


def page_links(html: str) -> list[str]:
    """The href, src, srcset, action (…) and meta refresh URLs of a page, as written (entities decoded)."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.urls
