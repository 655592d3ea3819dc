"""The client's address behind proxies and load balancers (core.ratelimit.client_ip, TRUSTED_PROXIES): what every
per-address limit (logins, password resets, opening claims) and the audit log count by (issue 21: behind a load
balancer on another host, every user shared one login bucket)."""

import pytest
from django.test import RequestFactory

from core.ratelimit import client_ip, limited_address


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


@pytest.mark.parametrize(("remote", "counted"), [
    ("203.0.113.7", "203.0.113.7"),  # IPv4: the address itself
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"),  # IPv6: its /64, written as the network's first address
    ("2001:db8:1:2::1", "2001:db8:1:2::"),
    ("2001:db8:1:3::1", "2001:db8:1:3::"),  # the next /64 is another client
    ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 written as IPv6 is the IPv4 address
    ("not-an-address", "not-an-address"),
])
def test_the_limits_count_an_ipv6_client_by_its_network(settings, remote, counted):
    """Whoever holds a /64 sends from any of its addresses: counted per address, each would start afresh
    (core.ratelimit.limited_address, LIMIT_IPV6_PREFIX). The audit log keeps the full address (client_ip)."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert limited_address(request(remote)) == counted
    assert client_ip(request(remote)) == remote
    settings.LIMIT_IPV6_PREFIX = 48
    assert limited_address(request("2001:db8:1:2::1")) == "2001:db8:1::"


def test_a_proxy_on_the_ipv6_loopback_is_trusted_by_default():
    """nginx reaching gunicorn through "localhost" may connect from ::1: with only 127.0.0.1 trusted, every person
    would have been ::1, one login bucket for all."""
    assert client_ip(request("::1", "203.0.113.7")) == "203.0.113.7"
