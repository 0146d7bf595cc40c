"""The runner's two markers before its result frame on stdout (contract 2).

The runner writes ``READY`` once it waits for its envelope (everything tenant-independent is
imported) and ``RECEIVED`` once it has read the whole envelope. The host strips exactly these
bytes from the front of stdout: ``READY`` tells a warm pool its container is ready, and a
container that ends without ``RECEIVED`` never saw the envelope, so nothing of the tenant ran in
it and the execution can safely go to another container. Anything else in their place is passed
through untouched, so a broken runner shows up as a malformed frame, never as silence.
"""

from __future__ import annotations

READY = b"stepwell:ready\n"
RECEIVED = b"stepwell:received\n"


class Preamble:
    """Strips ``READY`` then ``RECEIVED`` from the front of a stdout stream, incrementally."""

    def __init__(self) -> None:
        self._expected = [READY, RECEIVED]
        self._held = b""
        self.ready = False
        self.received = False
        self.violated = False

    def feed(self, data: bytes) -> bytes:
        """Add stdout bytes; return those that belong to the result (after the markers)."""
        if not self._expected:
            return data
        held = self._held + data
        while self._expected:
            marker = self._expected[0]
            if len(held) < len(marker):
                if marker.startswith(held):
                    self._held = held
                    return b""
                return self._violate(held)
            if not held.startswith(marker):
                return self._violate(held)
            held = held[len(marker) :]
            self._expected.pop(0)
            if marker == READY:
                self.ready = True
            else:
                self.received = True
        self._held = b""
        return held

    def _violate(self, held: bytes) -> bytes:
        self.violated = True
        self._expected.clear()
        self._held = b""
        return held
