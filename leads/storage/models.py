"""PynamoDB models for Leads.

Key layout (table names get DYNAMODB_TABLE_PREFIX in front; endpoint and region come from settings):

``leads`` — one item per lead, hash key ``lead_id`` (a UUID hex derived from the form's one-time token).
    created-index        feed ("all")            + created_at   newest leads, all statuses
    status-index         status                  + created_at   leads with status S, newest first
    email-index          email (lower-cased)     + created_at   leads from one address
    domain-index         email_domain            + created_at   leads from one domain (``acme.com``)
    status-email-index   "status#email"          + created_at   a status and an address together
    status-domain-index  "status#domain"         + created_at   a status and a domain together
    owner-index          owner_key               + created_at   one owner's leads, or the unassigned ones
    owner-status-index   "owner_key#status"      + created_at   an owner (or unassigned) and a status together
    email-prefix-index   email_initial           + email        addresses starting with a prefix (begins_with)
    owner_key is the owner's address, or UNASSIGNED ("-", never an address) for a lead without one: an
    index skips items without its key, so the unassigned leads need a value to be found by. email_initial
    is the address's first character, spreading the prefix index over ~40 partitions instead of one.
    due-index            due_owner               + due_at       follow-ups of one owner (UNASSIGNED for
                         nobody), soonest first; sparse: only leads with a follow-up date have due_owner
    Indexes project only the columns the inbox shows, so list pages never fetch messages.

``counters`` — hash key ``counter_id``, atomic counts and an optional TTL ``expires_at``; one model per kind:
    ``tally#status#<shard>``  ``n_<status>``: leads per status, one of 32 shards (Tally, leads.domain.tallies);
    ``tally#day#<YYYY-MM>#<shard>``  ``d<DD>``: leads created that UTC day, one of 32 shards (Tally);
    ``rate#<scope>#<client hash>#<window>``  ``tally``: rate-limit hits in one fixed window, TTL (RateWindow);
    ``notified#<lead_id>``  no attributes: the new-lead email was sent, TTL 14 days (DeliveryMarker);
    ``posted#<form id>``  no attributes: a staff note or reply form was stored, TTL (DeliveryMarker, timeline);
    ``expired#<lead_id>#<expiry>``  no attributes: that TTL removal was taken off the tallies, TTL 14 days.
    ``tally#response#<period Monday>#<shard>``  ``w<i>b<KK>``: first responses in week i of a 4-week period whose
        time to answer fell in bucket KK, one of 8 shards (ResponseTally, leads.domain.response_time);
    ``tally#waiting#<YYYY-MM-DD>#<shard>``  ``h<HH>``: leads that arrived that UTC hour and are still unanswered,
        one of 32 shards, TTL a few days after (ResponseTally); the status shards' ``n_waiting``: all unanswered.

``history`` — hash key ``lead_id``, range key ``event_id`` (``<at>#<random>``): who did what, when;
    TTL ``expires_at`` with retention on (never before the lead's).
    Notes and emailed replies are events too (action ``note`` / ``reply`` with ``text``), so a lead's whole
    timeline is one Query, and one person's export and erasure take them with the rest of the history.

With LEADS_RETENTION_DAYS set, ``leads`` items carry a TTL ``expires_at`` too (leads.domain.retention).

``trash`` — deleted leads, restorable for 30 days: hash key ``lead_id``, the lead's attributes as JSON,
    TTL ``expires_at``. deleted-index  feed ("trash") + deleted_at   recently deleted, newest first.
    email-index  email + deleted_at (keys only)   one person's deleted leads (find, export, erase).

``history`` also holds the privacy log (PrivacyRequest, ErasedSubject): ``privacy#requests`` + request id,
    one item per export or erasure of one person's data; ``privacy#subjects`` + keyed hash of an address,
    which erasure of that address is the latest and whether it finished. Never an address.

``history`` also holds webhooks that failed for good (WebhookFailure): ``webhooks#failed`` + event time,
    event id and webhook name; no personal data, TTL 14 days.

``counters`` also holds ``webhook#<event id>#<webhook name>`` DeliveryMarkers: that webhook got that event.

``staff`` — hash key ``email``; roster-index  roster ("staff") + email   everyone, alphabetically.

``sessions`` — hash key ``session_key``, TTL ``expires_at``;
    staff-index  staff_email + session_key   every session of one person (to list them, to end them all).
    A signed-in session also holds what "Where you're signed in" shows: ``started_at``, ``last_seen_at``
    (refreshed at most every LEADS_SESSION_ACTIVITY_INTERVAL seconds), a browser summary ("Chrome on
    Linux", never the raw User-Agent) and a coarse location hint (never a raw IP address).

``invitations`` — pending invitations to become staff (Invitation), hash key ``invitation_id`` (a keyed hash
    of the invitee's address: one pending invitation per address, and no address in the link), TTL
    ``expires_at``. pending-index  feed ("invitations") + email   the staff page's list, alphabetically
    (sparse: accepting removes ``feed``).
    A table of its own, not a key prefix in ``staff`` or ``counters``: ``staff`` has no TTL and its hash
    key is the sign-in address, and ``counters`` has no index to list them with.

All timestamps are UTC ISO-8601 strings (``2026-11-21T17:42:59.123456Z``), which sort as they read.
"""

from datetime import UTC, datetime

from django.utils.translation import gettext_lazy as _
from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.constants import STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

STATUSES = ("new", "contacted", "qualified", "converted", "lost")
# Shown to staff in their language (lazy: translated when a page renders, not at import).
STATUS_LABELS = {
    "new": _("New"),
    "contacted": _("Contacted"),
    "qualified": _("Qualified"),
    "converted": _("Converted"),
    "lost": _("Lost"),
}
FEED_ALL = "all"
# owner_key of a lead nobody owns; no address is "-", so it never meets a real owner's key.
UNASSIGNED = "-"

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
        # fromisoformat reads "…Z" as UTC (Python 3.11+) in ~0.1 µs; strptime took ~6 µs, for every
        # timestamp of every row of every page.
        return datetime.fromisoformat(value)


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


class OwnerIndex(GlobalSecondaryIndex):
    """One owner's leads (or the unassigned ones), newest first."""

    class Meta(_LeadIndexMeta):
        index_name = "owner-index"

    owner_key = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class OwnerStatusIndex(GlobalSecondaryIndex):
    """One owner's leads (or the unassigned ones) with one status, newest first."""

    class Meta(_LeadIndexMeta):
        index_name = "owner-status-index"

    owner_status = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class EmailPrefixIndex(GlobalSecondaryIndex):
    """Leads whose address starts with a prefix, alphabetically: hash the first character, begins_with on the rest."""

    class Meta(_LeadIndexMeta):
        index_name = "email-prefix-index"

    email_initial = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class DueIndex(GlobalSecondaryIndex):
    """One owner's follow-ups, soonest first (sparse: only leads with a follow-up date are in it)."""

    class Meta:
        index_name = "due-index"
        projection = IncludeProjection(LIST_ATTRIBUTES + ["due_all_day"])

    due_owner = UnicodeAttribute(hash_key=True)
    due_at = IsoDateTimeAttribute(range_key=True)


class Lead(Model):
    """A visitor's enquiry and what sales did with it."""

    base_table_name = "leads"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"
        # New leads reach the notification function on Lambda through the table's stream; the old image
        # of a lead removed by TTL lets the same function take it off the tallies (retention).
        stream_view_type = "NEW_AND_OLD_IMAGES"

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
    # When staff first answered: the lead first left "new" (leads.domain.response_time); set once, never moved.
    first_response_at = IsoDateTimeAttribute(null=True)
    # What the visitor agreed to when they ticked the consent box, and when; None without consent.
    consent_text = UnicodeAttribute(null=True)
    consent_version = UnicodeAttribute(null=True)
    consent_at = IsoDateTimeAttribute(null=True)
    status_email = UnicodeAttribute()
    status_domain = UnicodeAttribute()
    # Derived keys of the owner and prefix indexes (refresh_index_keys); absent on leads stored before them
    # until `manage.py leads_backfill_keys` (leads.management.maintenance.backfill_index_keys) ran.
    owner_key = UnicodeAttribute(null=True)
    owner_status = UnicodeAttribute(null=True)
    email_initial = UnicodeAttribute(null=True)
    version = VersionAttribute()
    # Retention (leads.domain.retention): when DynamoDB's TTL removes the lead, absent when retention is
    # off; and the expiry every one of its history events has at least (moved in the write that moves
    # expires_at, after carrying the events forward, so the history never expires before the lead).
    expires_at = TTLAttribute(null=True)
    history_expires_at = IsoDateTimeAttribute(null=True)
    # Follow-up (leads.domain.followups), all absent without one: when it is due (UTC; a date without a
    # time is due at the end of that day in the zone of whoever set it), whether it was given without a
    # time, and the due-index's hash key (the owner, or UNASSIGNED), kept by refresh_index_keys.
    due_at = IsoDateTimeAttribute(null=True)
    due_all_day = BooleanAttribute(null=True)
    due_owner = UnicodeAttribute(null=True)

    created_index = CreatedIndex()
    status_index = StatusIndex()
    email_index = EmailIndex()
    domain_index = DomainIndex()
    status_email_index = StatusEmailIndex()
    status_domain_index = StatusDomainIndex()
    due_index = DueIndex()
    owner_index = OwnerIndex()
    owner_status_index = OwnerStatusIndex()
    email_prefix_index = EmailPrefixIndex()

    # Every key refresh_index_keys derives: each write that changes email, status or owner sets them all.
    DERIVED_KEYS = ("email_domain", "status_email", "status_domain", "owner_key", "owner_status", "email_initial",
                    "due_owner")

    def refresh_index_keys(self) -> None:
        """Recompute the denormalised index keys from email, status, owner and follow-up date."""
        self.email_domain = self.email.rpartition("@")[2]
        self.status_email = f"{self.status}#{self.email}"
        self.status_domain = f"{self.status}#{self.email_domain}"
        self.owner_key = self.owner or UNASSIGNED
        self.owner_status = f"{self.owner_key}#{self.status}"
        self.email_initial = self.email[:1]
        self.due_owner = self.owner_key if self.due_at else None  # sparse: only leads with a follow-up


class LeadIndexKeys(Model):
    """A lead's derived index keys alone, for the offline backfill (leads.management.maintenance.backfill_index_keys).

    Shares the ``leads`` table without Lead's VersionAttribute: filling in keys that a lead stored before them
    lacks is no edit, so it must not bump the version (an editor's open form would then conflict). Its
    writes are conditional on the version the backfill read, so an edit meanwhile (which writes every key
    itself) wins.
    """

    base_table_name = "leads"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    lead_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(null=True)
    owner_key = UnicodeAttribute(null=True)
    owner_status = UnicodeAttribute(null=True)
    email_initial = UnicodeAttribute(null=True)
    email_domain = UnicodeAttribute(null=True)
    status_email = UnicodeAttribute(null=True)
    status_domain = UnicodeAttribute(null=True)
    due_owner = UnicodeAttribute(null=True)


# A status shard's tallies (leads.domain.tallies), all the tally-index holds of it.
STATUS_TALLY_ATTRIBUTES = [*(f"n_{status}" for status in STATUSES), "n_waiting"]


class TallyIndex(GlobalSecondaryIndex):
    """Every shard of one tally under one key (tally_kind), so a reader sums them from ONE Query.

    A Query is billed on the size of what it returns: 32 small status shards are half a read unit, where a
    BatchGetItem of them was 32 reads of 4 KB each, 16 units on every list page. Sparse: only status shards
    carry tally_kind (leads.domain.tallies.add_in).
    """

    class Meta:
        index_name = "tally-index"
        projection = IncludeProjection(STATUS_TALLY_ATTRIBUTES)

    tally_kind = UnicodeAttribute(hash_key=True)


class CountersTable(Model):
    """The ``counters`` table itself: the key and TTL that every kind of item in it shares.

    Four models share the table, one per kind of item (Tally, ResponseTally, RateWindow, DeliveryMarker); this one
    stands for the table where one model per table is wanted (creating it, TTL, CloudFormation).
    """

    base_table_name = "counters"
    # The table's CloudFormation logical id stays CounterTable: a renamed resource is a replaced table.
    logical_name = "Counter"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    counter_id = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute(null=True)
    # The tally-index's key, on status shards only ("tally" is taken: RateWindow's hits are stored under it).
    tally_kind = UnicodeAttribute(null=True)
    tally_index = TallyIndex()


# The per-day tallies of a month shard (leads.domain.tallies): d01 … d31, declared in bulk since a month has
# 31 possible days and PynamoDB reads only declared attributes.
_DayTallies = type("_DayTallies", (), {f"d{day:02d}": NumberAttribute(null=True) for day in range(1, 32)})


class Tally(_DayTallies, CountersTable):
    """One shard of the lead tallies (leads.domain.tallies): leads per status, or per day of a month."""

    # A status shard's tallies (leads.domain.tallies.status_attribute).
    n_new = NumberAttribute(null=True)
    n_contacted = NumberAttribute(null=True)
    n_qualified = NumberAttribute(null=True)
    n_converted = NumberAttribute(null=True)
    n_lost = NumberAttribute(null=True)
    # Leads never answered (no first_response_at, leads.domain.response_time), kept beside the statuses.
    n_waiting = NumberAttribute(null=True)


# leads.domain.response_time: a 4-week period's histograms (w<week 0-3>b<bucket 00-29>) and a day's
# unanswered arrivals per UTC hour (h00 … h23), declared in bulk like the day tallies.
RESPONSE_BUCKETS = 30
_ResponseTallies = type("_ResponseTallies", (), {
    **{f"w{week}b{bucket:02d}": NumberAttribute(null=True) for week in range(4) for bucket in range(RESPONSE_BUCKETS)},
    **{f"h{hour:02d}": NumberAttribute(null=True) for hour in range(24)},
})


class ResponseTally(_ResponseTallies, CountersTable):
    """One shard of the response-time rollups (leads.domain.response_time): weekly histograms, or waiting leads by hour."""


class RateWindow(CountersTable):
    """One client's hits in one fixed rate-limit window (leads.domain.ratelimit), expiring after it."""

    hits = NumberAttribute(attr_name="tally", default=0)


class DeliveryMarker(CountersTable):
    """Says a stream record was acted on (leads.management.stream_handler), so a redelivery does nothing again.

    ``notified#<lead_id>``: the new-lead email was sent; ``expired#<lead_id>#<expiry>``: a lead removed by
    TTL was taken off the tallies; ``webhook#<event id>#<webhook name>``: that webhook got that event;
    ``posted#<form id>``: a staff note or reply form was stored (timeline), so its resend stores and sends
    nothing again.
    """


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
    # The lead's version after this event: a conflict shows exactly the events the editor missed.
    version = NumberAttribute(null=True)
    # Retention: never earlier than the lead's own expiry (leads.domain.retention); absent when off.
    expires_at = TTLAttribute(null=True)
    # Timeline entries (leads.domain.timeline, leads.domain.replies), absent on other events: the text of a
    # note (action "note") or of an emailed reply (action "reply"), the reply's subject, and its delivery:
    # "sending" (recorded, being sent), "sent" or "failed" (kept for a retry). Capped far below 400 KB.
    text = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    delivery = UnicodeAttribute(null=True)


class DeletedIndex(GlobalSecondaryIndex):
    """Recently deleted leads, newest deletion first."""

    class Meta:
        index_name = "deleted-index"
        projection = AllProjection()

    feed = UnicodeAttribute(hash_key=True)
    deleted_at = IsoDateTimeAttribute(range_key=True)


class TrashEmailIndex(GlobalSecondaryIndex):
    """One person's deleted leads, by address: keys only, since erasing needs the keys and the privacy page
    reads the whole items by key anyway (the trash is small: 30 days)."""

    class Meta:
        index_name = "email-index"
        projection = KeysOnlyProjection()

    email = UnicodeAttribute(hash_key=True)
    deleted_at = IsoDateTimeAttribute(range_key=True)


class TrashedLead(Model):
    """A deleted lead, kept whole for 30 days so it can be restored; DynamoDB's TTL removes it after."""

    base_table_name = "trash"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    lead_id = UnicodeAttribute(hash_key=True)
    feed = UnicodeAttribute(default="trash")
    deleted_at = IsoDateTimeAttribute()
    deleted_by = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    subject = UnicodeAttribute()
    status = UnicodeAttribute()
    # Every attribute of the lead as it was, as DynamoDB JSON, so a restore brings back all of it.
    item = UnicodeAttribute()
    expires_at = TTLAttribute()

    deleted_index = DeletedIndex()
    email_index = TrashEmailIndex()


# The privacy log shares the history table instead of having a table of its own: an export or an
# erasure is an event in the data's history like the timeline entries beside it; it happens a few times
# a month; and one more table would be one more resource in CloudFormation, both IAM policies,
# create_tables and every emulator's set-up, for a handful of small items. Its hash keys cannot meet a
# lead's: lead ids are 32 hex digits. Neither model ever holds an address, only its keyed hash.
PRIVACY_LOG = "privacy#requests"
ERASED_SUBJECTS = "privacy#subjects"


class PrivacyRequest(Model):
    """One export or erasure of one person's data (leads.domain.erasure): who, when, how many items of each kind.

    ``request_id`` is ``<UTC time, compact>-<8 hex>``: the log sorts by time, and the id fits in a URL.
    An erasure is written "started" before anything is deleted and "finished" after; each deletion adds
    to its counts in the deletion's own transaction, so the counts stay exact when a run is cut short
    and a later one finishes it.
    """

    base_table_name = "history"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    log = UnicodeAttribute(hash_key=True, attr_name="lead_id", default=PRIVACY_LOG)
    request_id = UnicodeAttribute(range_key=True, attr_name="event_id")
    kind = UnicodeAttribute()  # "export" or "erasure"
    subject = UnicodeAttribute()  # HMAC-SHA256 of the normalised address (leads.domain.subjects.subject_hash)
    actor = UnicodeAttribute()
    started_at = IsoDateTimeAttribute()
    state = UnicodeAttribute()  # "started" or "finished"
    finished_at = IsoDateTimeAttribute(null=True)
    finished_by = UnicodeAttribute(null=True)
    runs = NumberAttribute(default=1)  # how many runs it took (an interrupted erasure is finished by the next)
    leads = NumberAttribute(default=0)
    history = NumberAttribute(default=0)
    trash = NumberAttribute(default=0)
    markers = NumberAttribute(default=0)


class ErasedSubject(Model):
    """The latest erasure of one address (by its keyed hash): which request, and whether it finished.

    Read with one GetItem, it tells whether an address was erased and lets a new run finish an
    interrupted erasure instead of starting another.
    """

    base_table_name = "history"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    book = UnicodeAttribute(hash_key=True, attr_name="lead_id", default=ERASED_SUBJECTS)
    subject = UnicodeAttribute(range_key=True, attr_name="event_id")
    request_id = UnicodeAttribute()
    state = UnicodeAttribute()
    erasures = NumberAttribute(default=0)


# Webhooks that failed for good (leads.domain.webhooks) share the history table too, for the privacy log's
# reasons: few, small items, a TTL, read newest first with one Query. The hash key cannot meet a lead's.
WEBHOOK_FAILURES = "webhooks#failed"


class WebhookFailure(Model):
    """A webhook delivery that failed after its last try: the admin page lists it, "Try again" resends it.

    ``failure_id`` is ``<event time>#<event id>#<webhook name>``: newest first, and a redelivered stream
    record that fails again overwrites the same item. It holds no personal data: the lead's id, the
    statuses and why it failed; a resend reads the lead again.
    """

    base_table_name = "history"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    log = UnicodeAttribute(hash_key=True, attr_name="lead_id", default=WEBHOOK_FAILURES)
    failure_id = UnicodeAttribute(range_key=True, attr_name="event_id")
    webhook = UnicodeAttribute()  # the name in LEADS_WEBHOOKS, never the URL
    event = UnicodeAttribute()  # "lead.created" or "lead.status_changed"
    event_key = UnicodeAttribute()  # the event's id, as sent (<lead id>-v<version>)
    lead = UnicodeAttribute()  # the lead's id
    occurred_at = IsoDateTimeAttribute()
    status = UnicodeAttribute()
    previous_status = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    error = UnicodeAttribute()  # "timeout", "HTTP 500", "connection refused"…: never a response body
    failed_at = IsoDateTimeAttribute()
    expires_at = TTLAttribute()


class RosterIndex(GlobalSecondaryIndex):
    """Every staff member, by email."""

    class Meta:
        index_name = "roster-index"
        projection = AllProjection()

    roster = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


ROLES = ("sales", "admin")


class StaffIdentity:
    """What pages show of a staff member, from the stored account or from the session alike."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Staff(StaffIdentity, Model):
    """A person who can sign in to the admin. Roles: sales (work the leads) and admin (also delete, manage staff)."""

    base_table_name = "staff"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    email = UnicodeAttribute(hash_key=True)
    roster = UnicodeAttribute(default="staff")
    name = UnicodeAttribute(default="")  # "" when not given; an account stored without one reads as "" too
    password = UnicodeAttribute()  # a django.contrib.auth.hashers hash, never the password
    role = UnicodeAttribute(default="sales")
    active = BooleanAttribute(default=True)
    created_at = IsoDateTimeAttribute()
    # Set with any change of access, cleared once every session is ended: a failure in between is
    # finished by the next save, so nobody keeps a role they lost.
    sessions_stale = BooleanAttribute(default=False)
    # Bumped by every change of role, password or `active`; a session is written only while it still
    # holds the value its sign-in read, so no sign-in in flight outlives such a change.
    access = NumberAttribute(null=True)
    # Every session written for this person, added in the session write's own transaction: the change
    # of access that bumps `access` gets back (consistently, unlike an index) every session to end.
    session_keys = UnicodeSetAttribute(null=True)
    # Stamped by every sign-in, in the transaction that writes its session (leads.accounts.sessions);
    # part of what a password-reset token is made from, so signing in makes older reset links useless.
    last_login = IsoDateTimeAttribute(null=True)
    # Two-factor sign-in (leads.domain.two_factor), all absent while it is off: the TOTP secret,
    # encrypted with a key derived from SECRET_KEY; the last time step a code was accepted for (only a
    # later one is accepted next, so no code works twice); keyed hashes of the unused recovery codes;
    # which sign-in attempt (a random id) accepted the last code, so that attempt's resend after a lost
    # answer is recognised, and nobody else's.
    totp_secret = UnicodeAttribute(null=True)
    totp_last_step = NumberAttribute(null=True)
    recovery_codes = UnicodeSetAttribute(null=True)
    totp_last_use = UnicodeAttribute(null=True)
    # Preferences (leads.domain.preferences), absent until chosen: an IANA zone name for the times
    # shown (settings.TIME_ZONE without one) and a language code ("" or absent: the site's default).
    # Copied into the session at sign-in, so pages never read them.
    time_zone = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)

    roster_index = RosterIndex()


class SessionsByStaffIndex(GlobalSecondaryIndex):
    """Every session of one staff member, so a role or password change can end them all."""

    class Meta:
        index_name = "staff-index"
        projection = KeysOnlyProjection()

    staff_email = UnicodeAttribute(hash_key=True)
    session_key = UnicodeAttribute(range_key=True)


class StaffSession(Model):
    """A server-side Django session; expired ones are refused on read and removed by DynamoDB's TTL."""

    base_table_name = "sessions"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    session_key = UnicodeAttribute(hash_key=True)
    data = UnicodeAttribute()
    expires_at = TTLAttribute()
    staff_email = UnicodeAttribute(null=True)
    # What "Where you're signed in" shows (signed-in sessions only; absent on older items):
    started_at = IsoDateTimeAttribute(null=True)
    last_seen_at = IsoDateTimeAttribute(null=True)  # refreshed at most every LEADS_SESSION_ACTIVITY_INTERVAL
    browser = UnicodeAttribute(null=True)  # a summary such as "Firefox on Windows", never the User-Agent
    location = UnicodeAttribute(null=True)  # "Berlin, DE" from CloudFront, or "203.0.113.x": never an IP

    by_staff = SessionsByStaffIndex()


class PendingInvitationsIndex(GlobalSecondaryIndex):
    """Every pending invitation, by email: the staff page lists them with one Query."""

    class Meta:
        index_name = "pending-index"
        projection = AllProjection()

    feed = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class Invitation(Model):
    """An admin's invitation to become staff, until it is accepted, withdrawn, replaced or expired.

    Its own table, since it needs a TTL and a listing index that neither ``staff`` (keyed by the
    sign-in address, no TTL) nor ``counters`` (no index) has. The key is a keyed hash of the address
    (leads.domain.invitations.invitation_key), so one address has one pending invitation at most and
    the emailed link names no address. `nonce` is random and also signed into the link: a new
    invitation or a resend to the same address replaces it, so an older link stops working. Accepting
    consumes it in the transaction that creates the account, on condition it still holds the link's
    nonce: `feed` is removed (so it leaves the sparse pending-index and no longer opens) and it expires
    an hour later, long enough to answer a resend of that very acceptance. DynamoDB's TTL removes it
    some time after `expires_at`; reads refuse it from `expires_at` on.
    """

    base_table_name = "invitations"

    class Meta:
        billing_mode = "PAY_PER_REQUEST"

    invitation_id = UnicodeAttribute(hash_key=True)
    feed = UnicodeAttribute(null=True)  # "invitations" while pending; removed once accepted
    email = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    role = UnicodeAttribute(default="sales")
    invited_by = UnicodeAttribute()  # the email of the admin who sent it last
    created_at = IsoDateTimeAttribute()  # when it was sent last
    nonce = UnicodeAttribute()
    accepted_at = IsoDateTimeAttribute(null=True)
    expires_at = TTLAttribute()

    pending_index = PendingInvitationsIndex()


# One model per table: what creates tables, turns TTL on and writes the CloudFormation template.
ALL_MODELS = [Lead, CountersTable, HistoryEvent, TrashedLead, Staff, StaffSession, Invitation]
# The models that share a table with one of ALL_MODELS (configure binds them too).
SHARING_MODELS = [Tally, ResponseTally, RateWindow, DeliveryMarker, PrivacyRequest, ErasedSubject, WebhookFailure,
                  LeadIndexKeys]
