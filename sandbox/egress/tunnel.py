"""CONNECT tunnels: bytes both ways, counted and capped, with no per-byte Python work.

Each direction is one coroutine that reads up to :data:`STREAM_LIMIT` bytes at a time and writes
them on; the only work per chunk is charging its length to the lease's byte cap. A half-close is
passed on (``write_eof``), so protocols that end with a shutdown in one direction work. Standard
library only: this runs inside the proxy container.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from sandbox.egress.records import ConnectionRecord
from sandbox.egress.refusal import CapReached
from sandbox.egress.upstream import STREAM_LIMIT

if TYPE_CHECKING:
    from sandbox.egress.lease import Lease


async def run_tunnel(
    lease: Lease,
    record: ConnectionRecord,
    step: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    remote: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    early_data: bytes,
) -> str:
    """Pipe ``step`` and ``remote`` into each other until both directions end.

    ``early_data`` is what the step sent right after the CONNECT head (e.g. a TLS ClientHello).
    Updates ``record.bytes_out``/``bytes_in`` as bytes pass. Returns ``""`` for a normal end,
    otherwise why the tunnel was cut (byte cap, a reset). Cancelling it stops both directions.
    """
    if early_data:
        await _send(early_data, remote[1], lease, record, outbound=True)
    pumps = [
        asyncio.create_task(_pump(step[0], remote[1], lease, record, outbound=True)),
        asyncio.create_task(_pump(remote[0], step[1], lease, record, outbound=False)),
    ]
    try:
        done, _pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
    for pump, side in zip(pumps, ("step", "remote"), strict=True):
        if pump not in done:
            continue
        error = pump.exception()
        if isinstance(error, CapReached):
            return cap_reason(lease)
        if error is not None:
            return f"{side} connection error: {error}"
    return ""


def cap_reason(lease: Lease) -> str:
    return f"byte cap reached ({lease.settings.max_bytes} bytes per execution); connection cut"


async def _pump(
    source: asyncio.StreamReader,
    sink: asyncio.StreamWriter,
    lease: Lease,
    record: ConnectionRecord,
    *,
    outbound: bool,
) -> None:
    while True:
        data = await source.read(STREAM_LIMIT)
        if not data:
            if sink.can_write_eof():
                # The other side may be gone already; its own pump reports that.
                with contextlib.suppress(OSError):
                    sink.write_eof()
            return
        await _send(data, sink, lease, record, outbound=outbound)


async def _send(
    data: bytes,
    sink: asyncio.StreamWriter,
    lease: Lease,
    record: ConnectionRecord,
    *,
    outbound: bool,
) -> None:
    granted = lease.take_bytes(len(data))
    if outbound:
        record.bytes_out += granted
    else:
        record.bytes_in += granted
    if granted:
        sink.write(data if granted == len(data) else data[:granted])
        await sink.drain()
    if granted < len(data):
        raise CapReached
