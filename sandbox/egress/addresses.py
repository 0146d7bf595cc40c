"""Which IP addresses the egress proxy may connect to: plainly global unicast ones only.

The proxy resolves a step's host name itself and refuses the connection if *any* address it got
is not public (:func:`non_public_reason`), so a name cannot smuggle a step into the cloud
metadata endpoint, the operator's network or the host's own services. The tables below are ours,
not only :attr:`ipaddress.IPv4Address.is_global`: the standard library's view differs between
Python releases (3.11 calls 224.0.0.1 and 64:ff9b:1::1 global), and every refusal names the class
of address so a step author can see why. Standard library only: this runs inside the proxy
container.
"""

from __future__ import annotations

import ipaddress
from typing import TypeAlias

Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

# Order matters: the first matching network names the reason (255.255.255.255 is "broadcast",
# not the surrounding "reserved" 240.0.0.0/4).
_IPV4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "unspecified ('this network', RFC 791)"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "carrier-grade NAT shared space (RFC 6598)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (the cloud metadata endpoint lives here)"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.88.99.0/24", "6to4 relay anycast (deprecated, RFC 7526)"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking (RFC 2544)"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved (RFC 1112)"),
    )
)

_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(network), reason)
    for network, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        # A mapped or compatible address reaches IPv4 through an IPv6 socket; no public name has
        # one in its DNS answer, so none is allowed, whatever IPv4 address it carries.
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::ffff:0:0:0/96", "IPv4-translated (RFC 2765)"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
        ("100::/64", "discard-only (RFC 6666)"),
        # Teredo addresses embed a server and an obfuscated client IPv4 address; the protocol is
        # obsolete, so none is allowed rather than trusting the embedded addresses.
        ("2001::/32", "Teredo tunnel"),
        ("2001:2::/48", "benchmarking (RFC 5180)"),
        ("2001:db8::/32", "documentation"),
        ("2001:10::/28", "ORCHID (deprecated)"),
        ("2001::/23", "IETF protocol assignments (RFC 2928)"),
        ("3fff::/20", "documentation (RFC 9637)"),
        ("5f00::/16", "segment routing SIDs (RFC 9602)"),
        ("fc00::/7", "unique local (ULA)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def non_public_reason(address: Address) -> str | None:
    """Why ``address`` must not be connected to, or ``None`` when it is plainly global.

    Returns a short phrase such as ``"loopback"`` or ``"NAT64 of 10.0.0.1: private (RFC 1918)"``.
    IPv6 forms that carry an IPv4 address (well-known NAT64 64:ff9b::/96, 6to4 2002::/16) are
    judged by that address; an IPv6 scope id is ignored.
    """
    if isinstance(address, ipaddress.IPv4Address):
        for network, reason in _IPV4:
            if address in network:
                return reason
        if not address.is_global:
            return "not a global address"
        return None
    address = ipaddress.IPv6Address(address.packed)  # drops a "%scope" suffix
    for network6, reason in _IPV6:
        if address in network6:
            return reason
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = non_public_reason(embedded)
        if inner is not None:
            kind = "NAT64" if address in _NAT64 else "6to4"
            return f"{kind} of {embedded}: {inner}"
        return None
    if not address.is_global:
        return "not a global address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(address.packed[-4:])
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def parse_address(text: str) -> Address | None:
    """An address from ``getaddrinfo`` (IPv6 possibly with ``%scope``), or ``None``."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
