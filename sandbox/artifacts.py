"""Reading a step's artifacts off its result channel (contract 2, issue 16).

Transport: after the step returns, the in-container runner sends every regular file of
``/opt/stepwell/artifacts`` on the result channel (stdout), before the result frame, each as::

    ARTIFACT {"name": "shot.png", "content_type": "image/png", "size": 5120}\\n<5120 bytes>

Why not copy the folder out with Docker's archive API after the step: the folder is a tmpfs
(its size is the cap, and nothing reaches the image's writable layer), and the engine's archive
API reads the container's root filesystem, not its tmpfs mounts (checked on Docker 20.10: an
empty folder comes back); the execution also ends the moment the result is in (the container is
killed then). The channel the host already reads and caps costs nothing extra and keeps every
byte in the host's own accounting.

Nothing in it is trusted: the step's code can write on that descriptor too. Each header is
parsed strictly (at most :data:`MAX_HEADER_BYTES`, a JSON object with exactly a valid name, a
string or null type and a non-negative size), names are checked again
(:func:`step_sdk.artifacts.name_problem`), the caps are enforced as bytes arrive (a channel
over a cap is not read further: the step fails with ``ArtifactLimitExceeded`` and none of its
artifacts are kept), and the bytes only ever go into memory, never to a path on the host.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field

from step_sdk.artifacts import OCTET_STREAM, media_type, name_problem

HEADER = b"ARTIFACT "
MAX_HEADER_BYTES = 4096


@dataclass(frozen=True)
class Artifact:
    """One artifact as the host received it: a checked name, a media type and its bytes."""

    name: str
    content_type: str
    data: bytes


@dataclass
class ArtifactChannel:
    """Splits the result channel into artifacts and the result frame, enforcing the caps.

    Feed it the stdout bytes after the preamble; :meth:`feed` returns the bytes that belong to
    the result frame. ``problem`` is set (and stays) once the channel broke a rule.
    """

    max_count: int
    max_bytes: int
    total_bytes: int
    artifacts: list[Artifact] = field(default_factory=list)
    problem: str = ""
    limit_exceeded: bool = False
    _buffer: bytearray = field(default_factory=bytearray)
    _current: tuple[str, str] | None = None
    _remaining: int = 0
    _body: bytearray = field(default_factory=bytearray)
    _total: int = 0
    _in_frame: bool = False

    def feed(self, data: bytes) -> bytes:
        """Consume ``data``; return the part that is the result frame."""
        if self._in_frame:
            return data
        if self.problem:
            return b""
        self._buffer += data
        while self._buffer and not self.problem and not self._in_frame:
            if self._current is not None:
                taken = bytes(self._buffer[: self._remaining])
                del self._buffer[: len(taken)]
                self._body += taken
                self._remaining -= len(taken)
                if self._remaining:
                    return b""
                name, content_type = self._current
                self.artifacts.append(Artifact(name, content_type, bytes(self._body)))
                self._current, self._body = None, bytearray()
                continue
            if not HEADER.startswith(self._buffer[: len(HEADER)]):
                self._in_frame = True
                rest, self._buffer = bytes(self._buffer), bytearray()
                return rest
            end = self._buffer.find(b"\n", 0, MAX_HEADER_BYTES + 1)
            if end < 0:
                if len(self._buffer) > MAX_HEADER_BYTES:
                    self._fail(f"an artifact header is longer than {MAX_HEADER_BYTES} bytes")
                return b""
            header = bytes(self._buffer[len(HEADER) : end])
            del self._buffer[: end + 1]
            self._start(header)
        return b""

    def _start(self, header: bytes) -> None:
        try:
            fields = json.loads(header)
        except (ValueError, UnicodeDecodeError):
            self._fail("an artifact header is not JSON")
            return
        if not isinstance(fields, dict) or set(fields) != {"name", "content_type", "size"}:
            self._fail("an artifact header is not {name, content_type, size}")
            return
        name, given, size = fields["name"], fields["content_type"], fields["size"]
        if (problem := name_problem(name)) is not None:
            self._fail(f"artifact #{len(self.artifacts)}: {problem}")
            return
        if given is not None and not isinstance(given, str):
            self._fail(f"artifact {name!r}: content_type is not a string")
            return
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            self._fail(f"artifact {name!r}: size is not a non-negative integer")
            return
        if any(a.name == name for a in self.artifacts):
            self._fail(f"artifact {name!r} was sent twice")
            return
        if len(self.artifacts) + 1 > self.max_count:
            self._fail(f"the step saved more than {self.max_count} artifacts", limit=True)
        elif size > self.max_bytes:
            self._fail(
                f"artifact {name!r} is {size} bytes; the limit is {self.max_bytes} per artifact",
                limit=True,
            )
        elif self._total + size > self.total_bytes:
            self._fail(f"the step's artifacts pass {self.total_bytes} bytes in all", limit=True)
        if self.problem:
            return
        self._total += size
        self._current, self._remaining = (name, _content_type(name, given)), size
        if size == 0:
            self.artifacts.append(Artifact(name, self._current[1], b""))
            self._current = None

    def _fail(self, problem: str, *, limit: bool = False) -> None:
        self.problem, self.limit_exceeded = problem, limit
        self.artifacts, self._buffer, self._body = [], bytearray(), bytearray()

    @property
    def incomplete(self) -> bool:
        """An artifact's bytes were announced but did not all arrive."""
        return self._current is not None


def _content_type(name: str, given: str | None) -> str:
    """The type the step gave (checked), else one guessed from the name, else octet-stream."""
    if given is not None:
        return media_type(given)
    guessed, encoding = mimetypes.guess_type(name, strict=True)
    if guessed is None or encoding is not None:  # report.csv.gz is a gzip file to download
        return OCTET_STREAM
    return media_type(guessed)
