"""Plain-HTTP forwarding: one absolute-form request, re-serialized by h11, one response back.

The request the remote host sees is built by h11 from the parsed event, never copied as bytes:
an origin-form target, ``Host`` set to the target, hop-by-hop and ``Proxy-*`` headers dropped
(with any header the ``Connection`` header names), ``Connection: close``. Its body is re-framed
by h11 too (Content-Length or chunked, as the step sent it). The response goes back the same way;
then both connections close. Standard library and h11 only: this runs inside the proxy container.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

import h11

from sandbox.egress.records import ConnectionRecord
from sandbox.egress.refusal import CapReached, Refusal
from sandbox.egress.target import HTTP_PORT, Target
from sandbox.egress.tunnel import cap_reason, send_counted
from sandbox.egress.upstream import CHUNK_BYTES

if TYPE_CHECKING:
    from sandbox.egress.lease import Lease

# RFC 9110 section 7.6.1 and the headers that only make sense towards the proxy; "expect" so
# the remote host does not wait for a 100-continue the proxy will not pass on.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"expect",
        b"host",
    }
)

Headers = list[tuple[bytes, bytes]]


def forwarded_headers(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """``headers`` (lower-case names, as h11 gives them) without hop-by-hop ones."""
    pairs = list(headers)
    named = {
        token.strip().lower()
        for name, value in pairs
        if name == b"connection"
        for token in value.split(b",")
    }
    return [
        (name, value)
        for name, value in pairs
        if name not in _HOP_BY_HOP and name not in named and not name.startswith(b"proxy-")
    ]


def host_header(target: Target) -> bytes:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return (host if target.port == HTTP_PORT else f"{host}:{target.port}").encode("ascii")


class _Forward:
    def __init__(
        self,
        lease: Lease,
        record: ConnectionRecord,
        step: socket.socket,
        step_conn: h11.Connection,
        remote: socket.socket,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.lease = lease
        self.record = record
        self.step = step
        self.step_conn = step_conn
        self.remote = remote
        self.remote_conn = h11.Connection(h11.CLIENT)
        self.responded = False

    async def to_remote(self, event: h11.Event) -> None:
        data = self.remote_conn.send(event)
        if data:
            await send_counted(
                self.remote, memoryview(data), self.lease, self.record, outbound=True
            )

    async def to_step(self, event: h11.Event) -> None:
        data = self.step_conn.send(event)
        if data:
            await self.loop.sock_sendall(self.step, data)

    async def next_from_step(self) -> h11.Event:
        while True:
            try:
                event = self.step_conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise Refusal(400, f"malformed request body: {exc}") from None
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            self.step_conn.receive_data(await self.loop.sock_recv(self.step, CHUNK_BYTES))

    async def next_from_remote(self) -> h11.Event:
        while True:
            event = self.remote_conn.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            data = await self.loop.sock_recv(self.remote, CHUNK_BYTES)
            granted = self.lease.take_bytes(len(data))
            self.record.bytes_in += granted
            if granted < len(data):
                raise CapReached
            self.remote_conn.receive_data(data)


async def forward_request(
    lease: Lease,
    record: ConnectionRecord,
    step: socket.socket,
    step_conn: h11.Connection,
    request: h11.Request,
    target: Target,
    remote: socket.socket,
) -> str:
    """Send ``request`` (its body read on from ``step_conn``) to ``remote``, stream the response
    back to the step through ``step_conn``.

    Returns ``""`` when the exchange completed, else why it was cut after the response started.

    Raises:
        Refusal: before any response reached the step (a malformed body 400, a bad response
            502, the byte cap 429); the caller answers with it.
    """
    forward = _Forward(lease, record, step, step_conn, remote)
    try:
        await _exchange(forward, request, target)
    except CapReached:
        if not forward.responded:
            raise Refusal(429, cap_reason(lease)) from None
        return cap_reason(lease)
    except h11.ProtocolError as exc:
        if not forward.responded:
            raise Refusal(502, f"bad response from the remote host: {exc}") from None
        return f"bad response from the remote host: {exc}"
    except OSError as exc:
        if not forward.responded:
            raise Refusal(502, f"connection to the remote host failed: {exc}") from None
        return f"connection error: {exc}"
    return ""


async def _exchange(forward: _Forward, request: h11.Request, target: Target) -> None:
    headers = [(b"host", host_header(target)), *forwarded_headers(request.headers)]
    headers.append((b"connection", b"close"))
    await forward.to_remote(h11.Request(method=request.method, target=target.path, headers=headers))
    if forward.step_conn.they_are_waiting_for_100_continue:
        # The Expect header is not passed on; the step may send its body now.
        await forward.to_step(h11.InformationalResponse(status_code=100, headers=[]))
    while True:
        event = await forward.next_from_step()
        if isinstance(event, h11.Data):
            await forward.to_remote(h11.Data(data=event.data))
        elif isinstance(event, h11.EndOfMessage):
            await forward.to_remote(h11.EndOfMessage())
            break
        else:
            raise Refusal(400, f"malformed request body: unexpected {type(event).__name__}")
    while True:
        event = await forward.next_from_remote()
        if isinstance(event, h11.InformationalResponse):
            continue  # 100 Continue and the like concern the proxy's request, not the step
        if isinstance(event, h11.Response):
            response_headers = forwarded_headers(event.headers)
            response_headers.append((b"connection", b"close"))
            forward.responded = True
            await forward.to_step(
                h11.Response(
                    status_code=event.status_code, headers=response_headers, reason=event.reason
                )
            )
        elif isinstance(event, h11.Data):
            await forward.to_step(h11.Data(data=event.data))
        elif isinstance(event, h11.EndOfMessage):
            await forward.to_step(h11.EndOfMessage())
            return
        else:
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")
