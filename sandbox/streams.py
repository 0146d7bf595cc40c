"""Reading a container's attach stream without trusting it.

Docker multiplexes stdout and stderr on one connection in frames of an 8-byte header (stream id,
three zero bytes, big-endian length) and a payload. :class:`Demultiplexer` splits the frames;
:class:`CappedBuffer` keeps at most ``cap`` bytes of a stream and counts the rest.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

STDOUT = 1
STDERR = 2
_HEADER = struct.Struct(">BxxxL")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


class Demultiplexer:
    """Incremental parser of Docker's multiplexed attach stream."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        """Add raw bytes; yield every complete ``(stream, payload)`` piece they make available.

        A frame's payload is yielded as it arrives, so a huge frame never has to be buffered.
        """
        self._pending += data
        while len(self._pending) >= _HEADER.size:
            stream, size = _HEADER.unpack_from(self._pending)
            available = len(self._pending) - _HEADER.size
            if available == 0:
                return
            take = min(size, available)
            payload = bytes(self._pending[_HEADER.size : _HEADER.size + take])
            if take == size:
                del self._pending[: _HEADER.size + take]
            else:
                # Keep a header for the rest of the frame so the next feed continues it.
                del self._pending[: _HEADER.size + take]
                self._pending[0:0] = _HEADER.pack(stream, size - take)
            yield stream, payload


class CappedBuffer:
    """Keeps the first ``cap`` bytes written and counts everything else."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._data = bytearray()
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - len(self._data)
        if room > 0:
            self._data += data[:room]

    @property
    def room(self) -> int:
        """Bytes that can still be kept."""
        return max(0, self.cap - len(self._data))

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    @property
    def dropped(self) -> int:
        return max(0, self.total - self.cap)

    def getvalue(self) -> bytes:
        return bytes(self._data)


def sanitize_log(data: bytes) -> str:
    """Decode untrusted log bytes for display: invalid UTF-8 replaced, control characters escaped.

    Newlines and tabs survive; everything else below 0x20 (NUL, ESC, CR, ...) becomes ``\\xNN`` so
    a log can neither hide lines nor drive a terminal that shows it.
    """
    return escape_controls(data.decode("utf-8", errors="replace"))


def escape_controls(text: str) -> str:
    """``text`` with control characters (but newlines and tabs) written as ``\\xNN`` escapes.

    Redact secrets *before* this: an escaped ``\\r`` no longer matches a value ending in one.
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
