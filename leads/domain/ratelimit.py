"""Fixed-window rate limits kept as RateWindow items in DynamoDB (atomic ADD, expired by TTL)."""

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.crypto import salted_hmac
from pynamodb.transactions import TransactWrite

from leads.storage.models import RateWindow


@dataclass(frozen=True)
class Window:
    """One client's counter for the current window, and the limit it must stay under."""

    counter_id: str
    limit: int
    ends_at: datetime

    def seconds_left(self, now: datetime) -> int:
        """Seconds until the window resets (at least 1), for Retry-After."""
        return max(1, math.ceil((self.ends_at - now).total_seconds()))


def client_fingerprint(remote_addr: str) -> str:
    """A keyed hash of the client's address (IPv6 by /64), so no address is stored in the clear."""
    try:
        address = ipaddress.ip_address(remote_addr)
        if address.version == 6:
            address = ipaddress.ip_network(f"{address}/64", strict=False).network_address
        remote_addr = str(address)
    except ValueError:
        pass
    return salted_hmac("leads.domain.ratelimit", remote_addr).hexdigest()[:32]


def client_address(request) -> str:
    """The visitor's address: REMOTE_ADDR, or the one the trusted proxies in front of us saw.

    With LEADS_TRUSTED_PROXY_COUNT = N, the N-th X-Forwarded-For entry from the right is the client as
    the outermost trusted proxy saw it; anything further left was written by the client and is ignored.
    """
    trusted = settings.LEADS_TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if trusted and len(forwarded) >= trusted:
        return forwarded[-trusted]
    return request.META.get("REMOTE_ADDR", "")


def client_key(request) -> str:
    """The rate-limit identity of the client that sent this request."""
    return client_fingerprint(client_address(request))


def current_window(*, scope: str, client: str, limit: int, period: int, now: datetime) -> Window:
    """The fixed window of `period` seconds that `now` falls in, for this scope and client."""
    start = int(now.timestamp()) // period * period
    ends_at = datetime.fromtimestamp(start + period, tz=now.tzinfo)
    return Window(counter_id=f"rate#{scope}#{client}#{start}", limit=limit, ends_at=ends_at)


def hit_in(tx: TransactWrite, window: Window) -> None:
    """Count one hit as part of tx; the whole transaction fails if the window is full."""
    tx.update(
        RateWindow(window.counter_id),
        actions=[RateWindow.hits.add(1), RateWindow.expires_at.set(window.ends_at + timedelta(hours=1))],
        condition=RateWindow.hits.does_not_exist() | (RateWindow.hits < window.limit),
    )


def unhit_in(tx: TransactWrite, window: Window) -> None:
    """Hand one hit back as part of tx (a reservation that turned out not to count)."""
    tx.update(RateWindow(window.counter_id), actions=[RateWindow.hits.add(-1)])
