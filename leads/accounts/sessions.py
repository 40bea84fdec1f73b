"""A Django session engine backed by DynamoDB: ``SESSION_ENGINE = "leads.accounts.sessions"``.

Sessions are items in the ``sessions`` table with a TTL attribute. An expired item is refused on read
(DynamoDB deletes expired items lazily), so logout and expiry really end a session.

A signed-in session's item also says when it started, when it was last used, in which browser and
roughly where (what "Where you're signed in" lists): the browser and place are described at sign-in
(leads.accounts.clients), and the last use is refreshed by one small UpdateItem at most every
LEADS_SESSION_ACTIVITY_INTERVAL seconds, so a page still costs the one session GetItem.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, SessionBase, UpdateError
from django.utils import timezone
from pynamodb.exceptions import PynamoDBException

from leads.domain.exceptions import AccessChanged
from leads.storage.models import Staff, StaffSession
from leads.storage.transactions import Refused, commit, conditional

logger = logging.getLogger(__name__)

# Session data keys holding the signed-in staff member's email, and the account's `access` stamp as
# the sign-in read it (see leads.accounts.auth).
STAFF_EMAIL_KEY = "staff_email"
STAFF_ACCESS_KEY = "staff_access"


class SessionStore(SessionBase):
    """Load, save and delete sessions as DynamoDB items, one GetItem per request that reads one."""

    _written = None  # (key, data) this store last wrote: saving them again is skipped
    _facts = None  # the loaded item's started_at, last_seen_at, browser and location, kept by each save
    # (browser, location) of the browser signing in, set by leads.accounts.auth.login before the
    # session is created; None elsewhere.
    client = None

    def _validate_session_key(self, key) -> bool:
        # Only keys this engine could have made (32 lowercase letters and digits) reach DynamoDB: a
        # forged 4 KB cookie would otherwise be a key DynamoDB refuses, and a 503 for its sender.
        return isinstance(key, str) and len(key) == 32 and all(char in VALID_KEY_CHARS for char in key)

    def load(self) -> dict:
        item = self._fetch()
        if item is None:
            self._session_key = None
            return {}
        self._facts = {name: getattr(item, name) for name in _FACTS}
        if item.staff_email:
            self._note_activity(item)
        return self.decode(item.data)

    def _note_activity(self, item: StaffSession) -> None:
        """Record that the session is in use, if the record is older than the activity interval."""
        now = timezone.now()
        seen = item.last_seen_at
        if seen is not None and now - seen < timedelta(seconds=settings.LEADS_SESSION_ACTIVITY_INTERVAL):
            return  # the common case: no write
        try:
            # Conditional, so that a session ended meanwhile is never brought back as a stub.
            item.update(actions=[StaffSession.last_seen_at.set(now)], condition=StaffSession.session_key.exists())
        except PynamoDBException:
            # Only a display suffers (the last activity shows older): never the page.
            logger.warning("Could not record a session's last activity", exc_info=True)
            return
        self._facts["last_seen_at"] = now

    def _fetch(self) -> StaffSession | None:
        if not self.session_key:
            return None
        try:
            item = StaffSession.get(self.session_key, consistent_read=True)
        except StaffSession.DoesNotExist:
            return None
        if item.expires_at <= timezone.now():
            return None
        return item

    def exists(self, session_key: str | None) -> bool:
        # As Django's own backends do, a key this engine could not have made simply does not exist.
        if not self._validate_session_key(session_key):
            return False
        try:
            StaffSession.get(session_key, attributes_to_get=["session_key"])
        except StaffSession.DoesNotExist:
            return False
        return True

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue  # key collision: astronomically rare, but cheap to handle
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        if not must_create and self._written == (self.session_key, data):
            # Written already in this request (a sign-in): a second write could only fail on its own.
            return
        item = StaffSession(
            session_key=self._get_or_create_session_key(),
            data=self.encode(data),
            expires_at=timezone.now() + timedelta(seconds=self.get_expiry_age()),
            staff_email=data.get(STAFF_EMAIL_KEY),
        )
        if item.staff_email:
            self._describe(item, must_create=must_create)
        if must_create:
            condition = StaffSession.session_key.does_not_exist()
        else:
            # Never resurrect a session that a logout (or an admin) deleted in the meantime.
            condition = StaffSession.session_key.exists()
        if item.staff_email and STAFF_ACCESS_KEY in data:
            self._save_staff_session(item, condition, data[STAFF_ACCESS_KEY], must_create=must_create)
            self._facts = {name: getattr(item, name) for name in _FACTS}
            self._written = (item.session_key, dict(data))
            return
        try:
            with conditional(item):
                item.save(condition=condition)
        except Refused as refused:
            if not (must_create and self._holds(item)):
                raise (CreateError if must_create else UpdateError) from refused
            # else botocore resent a put that had landed while its answer was lost: the item is ours
        self._written = (item.session_key, dict(data))

    def _describe(self, item: StaffSession, *, must_create: bool) -> None:
        """Fill in what the sessions page shows: new at sign-in, else as loaded (a save writes the whole item)."""
        if must_create:
            browser, location = self.client or (None, None)
            item.started_at = item.last_seen_at = timezone.now()
            item.browser, item.location = browser, location
        elif self._facts:
            for name, value in self._facts.items():
                setattr(item, name, value)

    @classmethod
    def _save_staff_session(cls, item: StaffSession, condition, access: int, *, must_create: bool) -> None:
        """Write a signed-in session only while the account is as its sign-in found it, and record its key.

        One transaction: the session item, and on the staff item a check that `access` (bumped by every
        change of role, password or `active`) is unchanged, with the session's key added to the
        account's `session_keys` (at sign-in, with `last_login` stamped too). A change of access
        serialises either before it (this is cancelled: AccessChanged) or after it (it finds this key
        and ends the session). Pages pay nothing: only writes of a session do, and a page still reads
        the session item alone. The transaction's ClientRequestToken makes botocore's resend of a write
        that landed a no-op; where a backend ignores the token, the stored item is checked as for a
        plain put.
        """
        unchanged = (Staff.access == access) if access else Staff.access.does_not_exist()
        account = Staff(item.staff_email)

        actions = [Staff.session_keys.add({item.session_key})]
        if must_create:  # a sign-in (leads.accounts.auth.login): reset links made before it stop working
            actions.append(Staff.last_login.set(item.started_at))

        def fill(tx):
            tx.save(item, condition=condition)
            tx.update(
                account, actions=actions,
                condition=Staff.email.exists() & (Staff.active == True) & unchanged,  # noqa: E712
            )

        try:
            commit(fill)
        except Refused as refused:
            if refused.by(account):
                raise AccessChanged() from refused
            if must_create and cls._holds(item):
                return  # a resend of this very write, which had landed while its answer was lost
            raise (CreateError if must_create else UpdateError) from refused

    def flush(self) -> None:
        email, key = self.get(STAFF_EMAIL_KEY), self.session_key  # flush() forgets both
        super().flush()
        if email and key:
            forget_session_key(email, key)

    def discard(self) -> None:
        """Forget this session in this browser, deleting its item if DynamoDB answers (flush(), at best effort).

        For a session with nothing left worth protecting (a spent reset token, or one already ended
        elsewhere): unlike a logout, a failed delete is no reason to fail the request, and the item
        expires by TTL.
        """
        try:
            self.flush()
        except PynamoDBException:
            logger.warning("Could not delete a spent session; it expires by itself", exc_info=True)
            self._session_cache = {}
            self._session_key = None
            self.modified = True

    @staticmethod
    def _holds(item: StaffSession) -> bool:
        """True if the stored session under item's key is exactly item (the same signed data)."""
        try:
            return StaffSession.get(item.session_key, consistent_read=True).data == item.data
        except StaffSession.DoesNotExist:
            return False

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        # A failure here must surface (as a 503): a logout that silently kept the session would lie.
        StaffSession(session_key).delete()

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: DynamoDB's TTL removes expired sessions, and reads refuse them before that."""


# What a signed-in session's item says about it, besides its data (see StaffSession).
_FACTS = ("started_at", "last_seen_at", "browser", "location")


def forget_session_key(email: str, key: str) -> None:
    """Drop an ended session's key from its account's record; best effort, as the session itself is gone."""
    try:
        Staff(email).update(actions=[Staff.session_keys.delete({key})], condition=Staff.email.exists())
    except PynamoDBException:
        # A stale key costs one no-op delete when the account's access next changes; nothing more.
        logger.warning("Could not drop an ended session's key from its account", exc_info=True)
