"""The egress proxy's control channel: JSON lines over its attached stdin/stdout.

Only the process that attached to the proxy's container holds this channel: it is not a network
service, so no step and no other host process can reach it. Requests carry an ``"id"``; the
proxy answers each with ``{"id", "ok", "error"?, ...}`` on stdout, in any order. Its stderr is
its log. Closing the channel half-closes stdin, and the proxy exits at end of input.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import struct
import threading
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from sandbox.errors import SandboxError
from sandbox.streams import STDERR, STDOUT, Demultiplexer, escape_controls

log = logging.getLogger("stepwell.egress")
# A reply holds at most ~200 connection records; anything far larger is not a reply.
MAX_LINE_BYTES = 4 * 1024 * 1024
_LOG_TAIL_LINES = 20
SEND_TIMEOUT_S = 15


class ProxyRefused(SandboxError):
    """The proxy answered, with ``ok`` false: it works, but would not do what was asked."""


class ProxyUnavailable(SandboxError):
    """The proxy did not answer in time, or is gone: it must be replaced."""


class ControlChannel:
    """Request/reply over one attached proxy container. Thread-safe.

    ``handle`` is what ``APIClient.attach_socket`` returned for a container attached with
    stdin, stdout and stderr before it started.
    """

    def __init__(self, handle: Any, name: str) -> None:
        self._handle = handle
        # docker-py hands back a SocketIO for local sockets; the real socket lives behind it.
        self._sock: socket.socket = getattr(handle, "_sock", handle)
        self._sock.settimeout(None)
        # A proxy that stops reading its stdin must not block a sender for ever (reads stay
        # blocking: the reader thread waits for the proxy's output as long as it runs).
        self._sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(SEND_TIMEOUT_S), 0)
        )
        self._name = name
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._pending: dict[str, Future[dict[str, Any]]] = {}
        self._closed = False
        self._ended = False
        self._log_tail: deque[str] = deque(maxlen=_LOG_TAIL_LINES)
        self._reader = threading.Thread(
            target=self._read_loop, name=f"stepwell-egress-{name}", daemon=True
        )
        self._reader.start()

    @property
    def alive(self) -> bool:
        """False once the proxy's output ended (it exited, or the channel was closed)."""
        with self._state_lock:
            return not (self._closed or self._ended)

    def last_log(self) -> str:
        """The proxy's last few log lines, for error messages."""
        return " | ".join(self._log_tail)

    def request(self, op: str, timeout_s: float, **fields: Any) -> dict[str, Any]:
        """Send ``{"op": op, "id": ..., **fields}`` and return the proxy's ``ok`` reply.

        Raises:
            ProxyRefused: the proxy answered ``ok`` false (its ``error`` is in the message).
            ProxyUnavailable: the proxy did not answer within ``timeout_s`` seconds, or is gone.
        """
        request_id = str(next(self._ids))
        reply: Future[dict[str, Any]] = Future()
        with self._state_lock:
            if self._closed or self._ended:
                raise ProxyUnavailable(f"the egress proxy is not running ({self.last_log()})")
            self._pending[request_id] = reply
        line = json.dumps({"op": op, "id": request_id, **fields}, separators=(",", ":"))
        try:
            with self._send_lock:
                self._sock.sendall(line.encode() + b"\n")
            answer = reply.result(timeout=timeout_s)
        except OSError as exc:
            raise ProxyUnavailable(f"cannot reach the egress proxy: {exc}") from exc
        except FutureTimeout as exc:
            message = f"the egress proxy did not answer {op!r} in {timeout_s}s"
            raise ProxyUnavailable(message) from exc
        finally:
            with self._state_lock:
                self._pending.pop(request_id, None)
        if answer.get("ok") is not True:
            error = str(answer.get("error") or "no reason given")[:500]
            raise ProxyRefused(f"the egress proxy refused {op!r}: {error}")
        return answer

    def close(self) -> None:
        """End the proxy's input (it exits) and stop reading."""
        with self._state_lock:
            self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)
        # The proxy closes its output when it exits, which ends the reader; don't wait long.
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(OSError):
            self._sock.close()

    def _read_loop(self) -> None:
        demux = Demultiplexer()
        lines = {STDOUT: bytearray(), STDERR: bytearray()}
        try:
            while True:
                try:
                    chunk = self._sock.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                for stream, data in demux.feed(chunk):
                    if stream not in lines:
                        continue
                    buffer = lines[stream]
                    buffer += data
                    while (end := buffer.find(b"\n")) >= 0:
                        line = bytes(buffer[:end])
                        del buffer[: end + 1]
                        self._line(stream, line)
                    if len(buffer) > MAX_LINE_BYTES:
                        self._line(stream, bytes(buffer))
                        buffer.clear()
        finally:
            self._fail_pending()

    def _line(self, stream: int, line: bytes) -> None:
        text = line.decode("utf-8", errors="replace")
        if stream == STDERR:
            text = escape_controls(text)[:2000]
            self._log_tail.append(text)
            log.info("egress proxy %s: %s", self._name, text)
            return
        try:
            reply = json.loads(text)
            request_id = reply["id"]
        except (ValueError, TypeError, KeyError):
            log.warning("egress proxy %s: not a reply: %.200r", self._name, text)
            return
        with self._state_lock:
            future = self._pending.get(str(request_id))
        if future is not None and not future.done():
            future.set_result(reply if isinstance(reply, dict) else {"ok": False})

    def _fail_pending(self) -> None:
        with self._state_lock:
            self._ended = True
            pending = list(self._pending.values())
        for future in pending:
            if not future.done():
                future.set_exception(
                    ProxyUnavailable(f"the egress proxy stopped ({self.last_log() or 'no log'})")
                )
