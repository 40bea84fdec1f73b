"""Invitations: an admin invites a colleague by email; a one-time link lets them set their own password.

A service module (writes, and the reads that serve them): invite, resend, withdraw, accept, list the
pending ones, and the invitation email. No admin ever chooses another person's password.

An invitation is one item in the ``invitations`` table (leads.storage.models.Invitation), keyed by a
keyed hash of the address: one address has at most one pending invitation, and the link names no
address (links end up in browser histories and proxy logs). The link's token is signed with
django.core.signing, timestamped, and holds the item's key and its random nonce. It works until
LEADS_INVITATION_DAYS after it was sent, and only while the item is pending and holds that nonce: a
new invitation or a resend to the same address gets a new nonce, withdrawing deletes the item, and
accepting consumes it. Accepting consumes it (on condition that it is pending, holds the link's nonce
and has not expired) in the one transaction that creates the account (on condition that none
exists): two clicks, or two tabs, make one account, and the link opens nothing afterwards. The
consumed item stays an hour, so that a resend of that very acceptance (same link, same password,
its first answer lost) is told the account is ready instead of being refused.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils.crypto import constant_time_compare, salted_hmac
from pynamodb.exceptions import PynamoDBException

from leads.domain.emails import normalise_email
from leads.domain.exceptions import InvitationInvalid, StaffExists, StorageUnavailable
from leads.storage.models import Invitation, Staff, utcnow
from leads.storage.transactions import Refused, commit

logger = logging.getLogger(__name__)

_SALT = "leads.domain.invitations"
PENDING_FEED = "invitations"
# How long a consumed invitation is kept, to recognise a resend of its acceptance.
ACCEPTED_KEPT = timedelta(hours=1)


def invitation_key(email: str) -> str:
    """The invitation table's key for this address: a keyed hash, so a link never carries the address."""
    return salted_hmac(f"{_SALT}.key", normalise_email(email)).hexdigest()[:32]


def make_token(invitation: Invitation) -> str:
    """The signed, timestamped token of this invitation's link (URL-safe)."""
    return signing.dumps({"i": invitation.invitation_id, "n": invitation.nonce}, salt=_SALT, compress=False)


def _read_token(token: str) -> tuple[str, str]:
    """(invitation key, nonce) from a token made by make_token within LEADS_INVITATION_DAYS; else InvitationInvalid."""
    if not isinstance(token, str) or len(token) > 500:
        raise InvitationInvalid()
    try:
        payload = signing.loads(token, salt=_SALT, max_age=timedelta(days=settings.LEADS_INVITATION_DAYS))
    except signing.BadSignature:  # SignatureExpired is one too
        raise InvitationInvalid() from None
    if not isinstance(payload, dict):
        raise InvitationInvalid()
    key, nonce = payload.get("i"), payload.get("n")
    if not (isinstance(key, str) and isinstance(nonce, str) and key and nonce):
        raise InvitationInvalid()
    return key, nonce


def _stored(key: str) -> Invitation | None:
    """The invitation item under this key, read consistently, or None."""
    try:
        return Invitation.get(key, consistent_read=True)
    except Invitation.DoesNotExist:
        return None
    except PynamoDBException as error:
        raise StorageUnavailable(str(error)) from error


def invitation_for_token(token: str, *, now: datetime | None = None, accepted_too: bool = False) -> Invitation:
    """The pending invitation this link opens; InvitationInvalid if tampered, expired, used, withdrawn or replaced.

    `accepted_too` also returns the invitation once this very link was accepted (within ACCEPTED_KEPT),
    for invitation_accept to recognise a resend of the acceptance.
    """
    now = now or utcnow()
    key, nonce = _read_token(token)
    invitation = _stored(key)
    # DynamoDB's TTL deletes expired items lazily (up to days later): refuse them from expires_at on.
    if invitation is None or not constant_time_compare(invitation.nonce, nonce) or invitation.expires_at <= now:
        raise InvitationInvalid()
    if invitation.feed != PENDING_FEED and not (accepted_too and invitation.accepted_at):
        raise InvitationInvalid()
    return invitation


def invitation_list(*, now: datetime | None = None) -> list[Invitation]:
    """Pending invitations, by email (one Query); expired ones are left out though TTL has not removed them yet."""
    now = now or utcnow()
    return [i for i in Invitation.pending_index.query(PENDING_FEED) if i.expires_at > now]


def _no_account(tx, email: str) -> None:
    """In a transaction: on condition that no staff account has this email."""
    tx.condition_check(Staff, email, condition=Staff.email.does_not_exist())


def invitation_create(*, email: str, role: str, invited_by: str, name: str = "",
                      now: datetime | None = None) -> tuple[Invitation, str]:
    """Invite `email` as `role`; return the invitation and its link's token.

    Replaces any pending invitation to the same address (its link stops working). Raises StaffExists
    if the address has an account (checked in the same transaction as the write), StorageUnavailable
    if DynamoDB did not take it.
    """
    now = now or utcnow()
    email = normalise_email(email)
    invitation = Invitation(
        invitation_key(email), feed=PENDING_FEED, email=email, name=name, role=role, invited_by=invited_by,
        created_at=now, nonce=secrets.token_urlsafe(16),
        expires_at=now + timedelta(days=settings.LEADS_INVITATION_DAYS),
    )

    def fill(tx):
        _no_account(tx, email)
        tx.save(invitation)

    try:
        commit(fill)
    except Refused as refused:
        raise StaffExists() from refused
    return invitation, make_token(invitation)


def invitation_get(*, invitation_id: str, now: datetime | None = None) -> Invitation:
    """The pending invitation with this key; InvitationInvalid if there is none (or it expired)."""
    now = now or utcnow()
    if len(invitation_id) > 64:
        raise InvitationInvalid()
    invitation = _stored(invitation_id)
    if invitation is None or invitation.feed != PENDING_FEED or invitation.expires_at <= now:
        raise InvitationInvalid()
    return invitation


def invitation_resend(*, invitation_id: str, invited_by: str, now: datetime | None = None) -> tuple[Invitation, str]:
    """Give a pending invitation a new nonce and a new expiry (the old link stops working); return it and its token.

    Raises InvitationInvalid if it is no longer pending, StaffExists if its address has an account by now.
    """
    now = now or utcnow()
    invitation = invitation_get(invitation_id=invitation_id, now=now)
    invitation.nonce = secrets.token_urlsafe(16)
    invitation.created_at = now
    invitation.invited_by = invited_by
    invitation.expires_at = now + timedelta(days=settings.LEADS_INVITATION_DAYS)
    actions = [
        Invitation.nonce.set(invitation.nonce), Invitation.created_at.set(invitation.created_at),
        Invitation.invited_by.set(invited_by), Invitation.expires_at.set(invitation.expires_at),
    ]

    def fill(tx):
        _no_account(tx, invitation.email)
        tx.update(invitation, actions=list(actions), condition=Invitation.feed == PENDING_FEED)

    try:
        commit(fill)
    except Refused as refused:
        if refused.by(invitation):
            raise InvitationInvalid() from refused  # accepted or withdrawn meanwhile
        raise StaffExists() from refused
    return invitation, make_token(invitation)


def invitation_withdraw(*, invitation_id: str) -> None:
    """Delete a pending invitation, so its link stops working; InvitationInvalid if it was not pending."""
    if len(invitation_id) > 64:
        raise InvitationInvalid()
    invitation = Invitation(invitation_id)

    def fill(tx):
        tx.delete(invitation, condition=Invitation.feed == PENDING_FEED)

    try:
        commit(fill)
    except Refused as refused:
        raise InvitationInvalid() from refused


@dataclass(frozen=True)
class Acceptance:
    """The account an invitation made, and whether this request made it (False: a resend of one that did)."""

    staff: Staff
    created: bool


def _accepted_before(invitation: Invitation, password: str) -> Acceptance:
    """The Acceptance of a resent acceptance (this link, this password, already accepted); else InvitationInvalid."""
    if invitation.accepted_at is None:
        raise InvitationInvalid()
    try:
        staff = Staff.get(invitation.email, consistent_read=True)
    except Staff.DoesNotExist:
        raise InvitationInvalid() from None
    if not check_password(password, staff.password):
        raise InvitationInvalid()
    return Acceptance(staff=staff, created=False)


def invitation_accept(*, token: str, password: str, invitation: Invitation | None = None,
                      now: datetime | None = None) -> Acceptance:
    """Create the invited account with the invitee's own password, consuming the invitation in the same write.

    One transaction: the invitation is consumed on condition that it is pending, still holds this
    link's nonce and has not expired, and the account is created on condition that none exists.
    Returns Acceptance(created=True) when this call made the account, and Acceptance(created=False)
    for a resend of an acceptance that landed (the same link, the same password) — the caller must
    not sign that one in, but send them to sign in. Raises InvitationInvalid for every other link
    (a second click with another password included), StorageUnavailable if DynamoDB did not answer.
    The password must have passed leads.accounts.passwords.validate_new_password. `invitation` is what
    invitation_for_token(token, accepted_too=True) just returned, if the caller has it (saves a read).
    """
    now = now or utcnow()
    invitation = invitation or invitation_for_token(token, now=now, accepted_too=True)
    if invitation.feed != PENDING_FEED:
        return _accepted_before(invitation, password)
    staff = Staff(email=invitation.email, name=invitation.name, role=invitation.role,
                  password=make_password(password), active=True, created_at=now)
    consume = [Invitation.feed.remove(), Invitation.accepted_at.set(now),
               Invitation.expires_at.set(now + ACCEPTED_KEPT)]
    pending = ((Invitation.feed == PENDING_FEED) & (Invitation.nonce == invitation.nonce)
               & (Invitation.expires_at > now))

    def fill(tx):
        tx.update(invitation, actions=list(consume), condition=pending)
        tx.save(staff, condition=Staff.email.does_not_exist())

    try:
        commit(fill)
    except Refused as refused:
        # Another click of this link got there first; with this password, it was this person's.
        again = _stored(invitation.invitation_id)
        if again is None or again.nonce != invitation.nonce:
            raise InvitationInvalid() from refused
        return _accepted_before(again, password)
    return Acceptance(staff=staff, created=True)


ROLE_NAMES = {"sales": "a sales", "admin": "an admin"}


def send_invitation_email(invitation: Invitation, *, link: str, inviter_name: str) -> bool:
    """Email the invitee their link; False (logged without any address) if the mail server refused it."""
    body = render_to_string("leads/email/invitation.txt", {
        "invitation": invitation, "link": link, "inviter": inviter_name,
        "role": ROLE_NAMES.get(invitation.role, invitation.role), "days": settings.LEADS_INVITATION_DAYS,
    })
    try:
        EmailMessage(subject="You are invited to the Leads admin", body=body, to=[invitation.email]).send()
    except Exception as error:
        # SMTP errors can quote the recipient: log the kind of failure only. The invitation is stored;
        # the admin is told to resend it.
        logger.warning("Could not send an invitation email (%s)", type(error).__name__)
        return False
    return True
