"""The hijacked attach connection of one container: stdin in, multiplexed stdout/stderr out."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from typing import Any, Protocol


class _Closable(Protocol):
    def close(self) -> None: ...


class AttachedStreams:
    """Raw socket access to a container attached *before* it starts (so no output is missed)."""

    def __init__(self, handle: Any) -> None:
        self._handle: _Closable = handle
        # docker-py hands back a SocketIO for local sockets; the real socket lives behind it.
        self._sock: socket.socket = getattr(handle, "_sock", handle)

    @property
    def socket(self) -> socket.socket:
        """The underlying socket (to poll it without reading)."""
        return self._sock

    def send_and_close_stdin(self, data: bytes, timeout_s: float) -> threading.Thread:
        """Write ``data`` to stdin in the background, then half-close so the step sees EOF."""

        def write() -> None:
            with contextlib.suppress(OSError):
                self._sock.sendall(data)
                self._sock.shutdown(socket.SHUT_WR)

        self._sock.settimeout(timeout_s)
        thread = threading.Thread(target=write, name="stepwell-stdin", daemon=True)
        thread.start()
        return thread

    def read(self, timeout_s: float, size: int = 65536) -> bytes | None:
        """Bytes from the stream; ``b""`` at end of stream; ``None`` if nothing came in time."""
        readable, _, _ = select.select([self._sock], [], [], max(0.0, timeout_s))
        if not readable:
            return None
        try:
            return self._sock.recv(size)
        except (BlockingIOError, TimeoutError):
            return None
        except OSError:
            return b""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(OSError):
            self._sock.close()
