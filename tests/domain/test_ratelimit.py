"""Who counts as one client for rate limits and sign-in lockouts."""
import pytest
from django.test import RequestFactory

from leads.domain import ratelimit


@pytest.mark.parametrize(
    "trusted, forwarded, expected",
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy trusted: the header is the client's own claim
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged entry on the left is ignored
        (2, "6.6.6.6, 203.0.113.9, 10.1.1.1", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # fewer entries than proxies: not through them, trust nothing
    ],
)
def test_client_address_trusts_only_the_configured_proxies(settings, trusted, forwarded, expected):
    settings.LEADS_TRUSTED_PROXY_COUNT = trusted
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_address(request) == expected


def test_ipv6_clients_are_grouped_by_64_and_never_stored_in_the_clear():
    one = ratelimit.client_fingerprint("2001:db8:1:2:aaaa::1")
    same_network = ratelimit.client_fingerprint("2001:db8:1:2:bbbb::9")
    other = ratelimit.client_fingerprint("2001:db8:1:3::1")
    assert one == same_network != other
    assert "2001" not in one
