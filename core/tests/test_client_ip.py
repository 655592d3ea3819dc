"""The client's address behind proxies and load balancers (core.ratelimit.client_ip, TRUSTED_PROXIES): what every
per-address limit (logins, password resets, opening claims) and the audit log count by (issue 21: behind a load
balancer on another host, every user shared one login bucket)."""

import pytest
from django.test import RequestFactory

from core.ratelimit import client_ip


def request(remote: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]  # a test request
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(("trusted", "remote", "forwarded", "client"), [
    # No proxy in front: whatever the request says it was forwarded for is the client's own claim.
    (["127.0.0.1"], "203.0.113.7", "198.51.100.1", "203.0.113.7"),
    (["127.0.0.1"], "203.0.113.7", None, "203.0.113.7"),
    # One local proxy: the entry it appended.
    (["127.0.0.1"], "127.0.0.1", "203.0.113.7", "203.0.113.7"),
    # The client forged an entry before the proxy appended the real one: the forged one is never believed.
    (["127.0.0.1"], "127.0.0.1", "10.9.9.9, 203.0.113.7", "203.0.113.7"),
    # A load balancer on another host, in a network: each client keeps its own address (not the balancer's).
    (["10.0.0.0/8"], "10.0.4.12", "203.0.113.7", "203.0.113.7"),
    (["10.0.0.0/8"], "10.0.4.13", "198.51.100.20", "198.51.100.20"),
    # Two hops (a CDN's edge, then the load balancer), both ours: the rightmost address that is not ours.
    (["10.0.0.0/8", "192.0.2.0/24"], "10.0.4.12", "203.0.113.7, 192.0.2.50", "203.0.113.7"),
    (["10.0.0.0/8", "192.0.2.0/24"], "10.0.4.12", "6.6.6.6, 203.0.113.7, 192.0.2.50", "203.0.113.7"),
    # An address outside TRUSTED_PROXIES talking to us directly is the client, even with the header.
    (["10.0.0.0/8"], "11.0.0.1", "203.0.113.7", "11.0.0.1"),
    # IPv6 proxies and clients.
    (["::1", "fd00::/8"], "fd00::5", "2001:db8::7", "2001:db8::7"),
    # Garbage in the header is never a trusted proxy: it is what the client said, the rightmost entry.
    (["127.0.0.1"], "127.0.0.1", "not-an-address", "not-an-address"),
])
def test_the_client_is_the_rightmost_address_that_is_not_one_of_our_proxies(settings, trusted, remote, forwarded,
                                                                              client):
    settings.TRUSTED_PROXIES = trusted
    assert client_ip(request(remote, forwarded)) == client


def test_every_hop_ours_gives_the_first(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request("10.0.0.1", "10.0.0.9, 10.0.0.8")) == "10.0.0.9"
