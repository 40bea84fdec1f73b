"""Small builders and readers shared by tests: leads, signed-in staff, counters."""
import itertools
import re
from datetime import datetime, timedelta, timezone
from io import StringIO
from html.parser import HTMLParser

from django.core.management import call_command
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


def invitation_link(message) -> str:
    """The invitation link (path only) in an email from mail.outbox."""
    import re

    return re.search(r"^https?://[^/\s]+(/admin/invitations/[^\s]+/)$", message.body, re.MULTILINE).group(1)


def invite(admin_client, email, *, role="sales", name=""):
    """Invite someone through the staff page as an admin; return the link from the email sent."""
    from django.core import mail

    sent = len(mail.outbox)
    response = admin_client.post("/admin/staff/", {"email": email, "name": name, "role": role})
    assert response.status_code == 302, response.content
    assert len(mail.outbox) == sent + 1
    return invitation_link(mail.outbox[-1])


def accept_invitation(link, password=PASSWORD, client=None):
    """Set the password through an invitation link; return the browser, now signed in as the invitee."""
    client = client or Client()
    response = client.post(link, {"new_password1": password, "new_password2": password})
    assert (response.status_code, response.get("Location")) == (302, "/admin/"), response.content
    return client


def status_count(status: str) -> int:
    """Leads with this status, as the inbox counts them (the sum of the tally shards)."""
    from leads.domain.selectors import status_counts

    return status_counts()[status]


def day_count(day) -> int:
    """Leads created on this UTC day, as the dashboard counts them."""
    from leads.domain.selectors import dashboard_counts

    return dict(dashboard_counts(days=1, today=day)[1])[day]


def leads_audit(*args) -> tuple[int, str]:
    """Run `manage.py leads_audit` with these arguments; return its exit code and what it printed."""
    out = StringIO()
    code = 0
    try:
        call_command("leads_audit", *args, stdout=out)
    except SystemExit as exit:  # the command exits 1 when it finds drift
        code = exit.code
    return code, out.getvalue()


def midnight_after(moment, days: int) -> datetime:
    """The first UTC midnight at or after `days` days past `moment`: when something touched then expires."""
    later = moment + timedelta(days=days)
    midnight = datetime(later.year, later.month, later.day, tzinfo=timezone.utc)
    return midnight if midnight == later else midnight + timedelta(days=1)


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
