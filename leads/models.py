"""PynamoDB models for Leads.

Key layout (table names get DYNAMODB_TABLE_PREFIX in front; endpoint and region come from settings):

``leads`` — one item per lead, hash key ``lead_id`` (a UUID hex derived from the form's one-time token).
    created-index        feed ("all")            + created_at   newest leads, all statuses
    status-index         status                  + created_at   leads with status S, newest first
    email-index          email (lower-cased)     + created_at   leads from one address
    domain-index         email_domain            + created_at   leads from one domain (``acme.com``)
    status-email-index   "status#email"          + created_at   a status and an address together
    status-domain-index  "status#domain"         + created_at   a status and a domain together
    Indexes project only the columns the inbox shows, so list pages never fetch messages.

``counters`` — hash key ``counter_id``, an atomic ``tally`` and an optional TTL ``expires_at``:
    ``status#<status>``  leads per status; ``day#<YYYY-MM-DD>``  leads created that day (UTC);
    ``rate#<scope>#<client hash>#<window>``  rate-limit hits in one fixed window (expires by TTL).

``history`` — hash key ``lead_id``, range key ``event_id`` (``<created_at>#<random>``): who did what, when.

All timestamps are UTC ISO-8601 strings (``2026-11-21T17:42:59.123456Z``), which sort as they read.
"""

from datetime import UTC, datetime

from pynamodb.attributes import (
    Attribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.constants import STRING
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

STATUSES = ("new", "contacted", "qualified", "converted", "lost")
STATUS_LABELS = {
    "new": "New",
    "contacted": "Contacted",
    "qualified": "Qualified",
    "converted": "Converted",
    "lost": "Lost",
}
FEED_ALL = "all"

# What the inbox shows; the indexes project these and nothing bigger.
LIST_ATTRIBUTES = ["name", "email", "company", "subject", "status", "owner", "updated_at"]


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class IsoDateTimeAttribute(Attribute[datetime]):
    """A datetime stored as a UTC ISO-8601 string with a ``Z`` suffix, so it sorts as it reads."""

    attr_type = STRING

    def serialize(self, value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def deserialize(self, value: str) -> datetime:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class _LeadIndexMeta:
    projection = IncludeProjection(LIST_ATTRIBUTES)


class CreatedIndex(GlobalSecondaryIndex):
    """All leads, newest first."""

    class Meta(_LeadIndexMeta):
        index_name = "created-index"

    feed = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class StatusIndex(GlobalSecondaryIndex):
    """Leads with one status, newest first."""

    class Meta(_LeadIndexMeta):
        index_name = "status-index"

    status = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class EmailIndex(GlobalSecondaryIndex):
    """Leads from one email address, newest first."""

    class Meta(_LeadIndexMeta):
        index_name = "email-index"

    email = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class DomainIndex(GlobalSecondaryIndex):
    """Leads from one email domain, newest first."""

    class Meta(_LeadIndexMeta):
        index_name = "domain-index"

    email_domain = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class StatusEmailIndex(GlobalSecondaryIndex):
    """Leads with one status from one address: the filter and the search combined, still one Query."""

    class Meta(_LeadIndexMeta):
        index_name = "status-email-index"

    status_email = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class StatusDomainIndex(GlobalSecondaryIndex):
    """Leads with one status from one domain."""

    class Meta(_LeadIndexMeta):
        index_name = "status-domain-index"

    status_domain = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class Lead(Model):
    """A visitor's enquiry and what sales did with it."""

    base_table_name = "leads"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    lead_id = UnicodeAttribute(hash_key=True)
    feed = UnicodeAttribute(default=FEED_ALL)
    created_at = IsoDateTimeAttribute()
    updated_at = IsoDateTimeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    email_domain = UnicodeAttribute()
    company = UnicodeAttribute(null=True)
    subject = UnicodeAttribute()
    message = UnicodeAttribute()
    status = UnicodeAttribute(default="new")
    notes = UnicodeAttribute(null=True)
    owner = UnicodeAttribute(null=True)
    source = UnicodeAttribute(default="form")
    status_email = UnicodeAttribute()
    status_domain = UnicodeAttribute()
    version = VersionAttribute()

    created_index = CreatedIndex()
    status_index = StatusIndex()
    email_index = EmailIndex()
    domain_index = DomainIndex()
    status_email_index = StatusEmailIndex()
    status_domain_index = StatusDomainIndex()

    def refresh_index_keys(self) -> None:
        """Recompute the denormalised index keys from email and status."""
        self.email_domain = self.email.rpartition("@")[2]
        self.status_email = f"{self.status}#{self.email}"
        self.status_domain = f"{self.status}#{self.email_domain}"


class Counter(Model):
    """An atomic tally: leads per status, leads per day, rate-limit hits."""

    base_table_name = "counters"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    counter_id = UnicodeAttribute(hash_key=True)
    tally = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class HistoryEvent(Model):
    """One entry in a lead's timeline: who changed what, when."""

    base_table_name = "history"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    lead_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    at = IsoDateTimeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    # JSON object {field: [before, after]}; a string keeps the shape explicit and the item small.
    changes = UnicodeAttribute(default="{}")


ALL_MODELS = [Lead, Counter, HistoryEvent]
