"""Resolve a host once, check every address, connect to the checked one.

DNS rebinding cannot work: the proxy asks for the name's addresses a single time, refuses if any
of them is not public, and then connects to those very addresses (no second lookup by the socket
layer: the socket gets a numeric address). Resolution and connect share one deadline, the
settings' ``connect_timeout_s``. Standard library only: this runs inside the proxy container.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sandbox.egress.addresses import Address, non_public_reason, parse_address
from sandbox.egress.records import ConnectionRecord
from sandbox.egress.refusal import Refusal
from sandbox.egress.settings import ProxySettings
from step_sdk.egress import is_ip_literal

# Name lookups run in threads of their own: the default pool (6 threads on 2 cores) would let
# one step's slow lookups delay every other execution's connections. A lookup cannot be
# cancelled; its thread is simply abandoned when the deadline passes (and at exit, see proxy.py).
RESOLVER_THREADS = 64
# A tunnel or a forwarded body moves up to this many bytes per read (fewer event-loop
# iterations per megabyte).
CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class _Candidate:
    family: int
    sockaddr: tuple[str, int] | tuple[str, int, int, int]
    address: Address


async def open_upstream(
    host: str, port: int, settings: ProxySettings, record: ConnectionRecord
) -> socket.socket:
    """Connect to ``host:port`` (normalized, already allowed by the rules); return the
    connected non-blocking socket.

    Sets ``record.address`` (the address connected to, or the refused one) and
    ``record.allowed`` (once every address passed the checks).

    Raises:
        Refusal: 403 if any address is not public (and not a test exemption), 502 if the name
            does not resolve or no address accepts the connection, 504 on the deadline.
    """
    phase = "name resolution"
    try:
        async with asyncio.timeout(settings.connect_timeout_s):
            candidates = await _resolve(host, port)
            _check(candidates, host, port, settings, record)
            record.allowed = True
            phase = "connect"
            return await _connect(candidates, port, record)
    except TimeoutError:
        raise Refusal(
            504, f"{phase} timed out after {settings.connect_timeout_s:g} s (connect timeout)"
        ) from None


async def _resolve(host: str, port: int) -> list[_Candidate]:
    if is_ip_literal(host):
        address = parse_address(host)
        assert address is not None
        if address.version == 4:
            return [_Candidate(socket.AF_INET, (host, port), address)]
        return [_Candidate(socket.AF_INET6, (host, port, 0, 0), address)]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.run_in_executor(
            _resolver(), functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        )
    except socket.gaierror as exc:
        raise Refusal(502, f"cannot resolve {host}: {exc.strerror}") from None
    candidates: list[_Candidate] = []
    seen: set[Address] = set()
    for family, _type, _proto, _name, sockaddr in infos:
        address = parse_address(str(sockaddr[0]))
        if address is None:
            raise Refusal(502, f"{host} resolved to something that is not an IP address")
        if address not in seen and family in (socket.AF_INET, socket.AF_INET6):
            seen.add(address)
            candidates.append(_Candidate(family, sockaddr, address))  # type: ignore[arg-type]
    if not candidates:
        raise Refusal(502, f"cannot resolve {host}: no IPv4 or IPv6 address")
    return candidates


def _check(
    candidates: list[_Candidate],
    host: str,
    port: int,
    settings: ProxySettings,
    record: ConnectionRecord,
) -> None:
    for candidate in candidates:
        reason = non_public_reason(candidate.address)
        if reason is not None and not settings.exempt(candidate.address, port):
            record.address = str(candidate.address)
            which = (
                f"{candidate.address} is"
                if str(candidate.address) == host
                else f"{host} resolves to {candidate.address}, which is"
            )
            raise Refusal(403, f"{which} not a public address ({reason})")


async def _connect(
    candidates: list[_Candidate], port: int, record: ConnectionRecord
) -> socket.socket:
    loop = asyncio.get_running_loop()
    failure: OSError | None = None
    for candidate in candidates:
        record.address = str(candidate.address)
        sock = socket.socket(candidate.family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, candidate.sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    detail = failure.strerror if failure is not None and failure.strerror else str(failure)
    raise Refusal(502, f"connect to {record.address} port {port} failed: {detail}")


@functools.cache
def _resolver() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="resolve")
