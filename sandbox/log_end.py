"""The runner's end marker on stderr (contract 2): the step's log is complete.

The runner flushes the step's output, writes ``END`` on stderr and then its result frame on
stdout. Docker copies the two streams independently, so a frame can arrive before the last log
lines; once the host has both the marker and a complete frame, every byte the step logged before
its result is in, and the execution is over: the host kills the container at once instead of
waiting for the engine to report its exit (most of a warm execution's time, docs/pools.md).

A step that writes the marker itself only cuts its own log short; one that closes its stderr
just makes the host wait for the exit, as before.
"""

from __future__ import annotations

END = b"\x00stepwell:end\n"


class EndMarker:
    """Finds ``END`` in the stderr stream, incrementally, and keeps it out of the log."""

    def __init__(self) -> None:
        self._held = b""
        self.seen = False

    def feed(self, data: bytes) -> bytes:
        """Add stderr bytes; return those that belong to the log."""
        if self.seen:
            return data
        held = self._held + data
        index = held.find(END)
        if index >= 0:
            self.seen = True
            self._held = b""
            return held[:index] + held[index + len(END) :]
        keep = next(
            (n for n in range(min(len(END) - 1, len(held)), 0, -1) if held.endswith(END[:n])), 0
        )
        self._held = held[len(held) - keep :] if keep else b""
        return held[: len(held) - keep]

    def flush(self) -> bytes:
        """What was held back as a possible start of the marker (at the end of the stream)."""
        held, self._held = self._held, b""
        return held
