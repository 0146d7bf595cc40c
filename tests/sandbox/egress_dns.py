"""The test DNS server of the egress tests: fixed answers for the ``stepwell.test`` zone, on the
host's bridge address, port 53 (the egress proxy resolves through it, ``egress_dns``).

``public.stepwell.test`` -> bridge address, ``private.stepwell.test`` -> 10.1.2.3,
``metadata.stepwell.test`` -> 169.254.169.254, ``loopback6.stepwell.test`` -> ::1 (AAAA),
``rebind.stepwell.test`` -> alternately the bridge address and 127.0.0.1 (TTL 0); NXDOMAIN for
the rest. It logs every query, so a test asserts what the proxy asked.
"""

from __future__ import annotations

import itertools
import threading

from dnslib import AAAA, QTYPE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

ZONE = "stepwell.test"


class _Resolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, bridge: str) -> None:
        self.bridge = bridge
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._rebind = itertools.cycle([bridge, "127.0.0.1"])

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((name, kind))
            rebind = next(self._rebind) if name == f"rebind.{ZONE}" and kind == "A" else None
        fixed = {
            f"public.{ZONE}": self.bridge,
            f"private.{ZONE}": "10.1.2.3",
            f"metadata.{ZONE}": "169.254.169.254",
        }
        if kind == "A" and name in fixed:
            reply.add_answer(RR(name, QTYPE.A, rdata=A(fixed[name]), ttl=60))
        elif rebind is not None:
            reply.add_answer(RR(name, QTYPE.A, rdata=A(rebind), ttl=0))
        elif kind == "AAAA" and name == f"loopback6.{ZONE}":
            reply.add_answer(RR(name, QTYPE.AAAA, rdata=AAAA("::1"), ttl=60))
        elif not name.endswith(ZONE) or name.split(".")[0] not in (
            "public",
            "private",
            "metadata",
            "rebind",
            "loopback6",
        ):
            reply.header.rcode = 3  # NXDOMAIN
        return reply


class EgressDns:
    """A DNS server on ``address``:53 (UDP and TCP) with a log of the queries it answered."""

    def __init__(self, address: str) -> None:
        self._resolver = _Resolver(address)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self._servers = [
            DNSServer(self._resolver, port=53, address=address, logger=quiet, tcp=tcp)
            for tcp in (False, True)
        ]
        for server in self._servers:
            server.start_thread()

    def queries(self, name: str, kind: str = "A") -> int:
        """How many ``kind`` queries for ``name`` it answered."""
        with self._resolver.lock:
            return sum(1 for q in self._resolver.queries if q == (name, kind))

    def close(self) -> None:
        for server in self._servers:
            server.stop()
            server.server.server_close()
