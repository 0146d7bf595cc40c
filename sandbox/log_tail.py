"""The live tail of a running step's log, safe to show while the step still writes."""

from __future__ import annotations

import threading

from sandbox.redaction import Redactor
from sandbox.streams import escape_controls


class LiveTail:
    """Keeps the newest raw log bytes; :meth:`text` renders them redacted, then cuts.

    Raw bytes are kept (not rendered pieces) so a secret or a UTF-8 character split across two
    reads is whole again when the tail is rendered. Thread-safe: the sandbox feeds it from its
    reading thread while an activity renders it for heartbeats.
    """

    def __init__(self, redactor: Redactor, max_chars: int) -> None:
        self._redactor = redactor
        self._max_chars = max_chars
        # Enough raw bytes that the last ``max_chars`` characters are rendered from whole values.
        self._keep = 4 * max_chars + 4 * redactor.longest
        self._data = bytearray()
        self._cut = False
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        """Add log bytes as they arrive (the sandbox's ``on_log``)."""
        with self._lock:
            self._data += data
            if len(self._data) > self._keep:
                del self._data[: len(self._data) - self._keep]
                self._cut = True

    def text(self) -> str:
        """The last ``max_chars`` characters: redacted, control characters escaped, and without
        the beginning of a secret that is still being written or the end of one cut off."""
        with self._lock:
            raw, cut = bytes(self._data), self._cut
        text = self._redactor.text(raw.decode("utf-8", errors="replace"))
        text = self._redactor.trim_partial(text, start=cut, end=True)
        if len(text) > self._max_chars:
            text = self._redactor.trim_partial(text[-self._max_chars :], start=True)
        return escape_controls(text)[-self._max_chars :]
