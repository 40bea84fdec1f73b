"""Small builders and readers shared by tests: leads, signed-in staff, counters."""
import itertools
from datetime import datetime, timedelta, timezone

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


