"""Which resolved addresses the egress proxy may connect to (sandbox.egress.addresses)."""

from __future__ import annotations

import ipaddress

import pytest

from sandbox.egress.addresses import non_public_reason, parse_address


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("127.0.0.1", "loopback"),
        ("127.255.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("169.254.0.1", "link-local"),
        ("192.0.0.8", "IETF protocol assignments"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.7", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.1", "benchmarking"),
        ("192.88.99.1", "6to4 relay"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
    ],
)
def test_every_non_public_ipv4_class_is_refused(address: str, reason: str) -> None:
    found = non_public_reason(ipaddress.IPv4Address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "unique local"),
        ("fd12:3456:789a::1", "unique local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("100::1", "discard-only"),
        ("2001:2::1", "benchmarking"),
        ("2001:10::1", "ORCHID"),
        ("2001:100::1", "IETF protocol assignments"),
        # Forms that carry an IPv4 address.
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("::ffff:169.254.169.254", "IPv4-mapped"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("::ffff:0:10.0.0.1", "IPv4-translated"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("::8.8.8.8", "IPv4-compatible"),
        ("64:ff9b::127.0.0.1", "NAT64 of 127.0.0.1: loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254: link-local"),
        ("64:ff9b::10.1.2.3", "NAT64 of 10.1.2.3: private"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("2002:7f00:1::1", "6to4 of 127.0.0.1: loopback"),
        ("2002:a9fe:a9fe::", "6to4 of 169.254.169.254: link-local"),
        ("2002:c0a8:101::1", "6to4 of 192.168.1.1: private"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("2001:0:a00:1::1", "Teredo"),
    ],
)
def test_every_non_public_ipv6_class_and_embedding_is_refused(address: str, reason: str) -> None:
    found = non_public_reason(ipaddress.IPv6Address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "140.82.121.6",
        "100.63.255.255",  # just below CGNAT
        "100.128.0.1",  # just above CGNAT
        "172.15.255.255",  # just below 172.16/12
        "172.32.0.1",  # just above
        "169.253.255.255",
        "223.255.255.254",
        "2606:4700:4700::1111",
        "2001:4860:4860::8888",
        "2a00:1450:4001:80b::200e",
        "64:ff9b::8.8.8.8",  # NAT64 of a public address: how IPv6-only networks reach IPv4
        "2002:808:808::1",  # 6to4 of a public address
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert non_public_reason(ipaddress.ip_address(address)) is None


def test_parse_address_accepts_getaddrinfo_forms_and_nothing_else() -> None:
    assert parse_address("127.0.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert parse_address("fe80::1%2") is not None
    assert parse_address("localhost") is None
    assert parse_address("127.1") is None
