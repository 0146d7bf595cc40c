"""Demultiplexing and sanitising container output: pure logic, no engine."""

from __future__ import annotations

import struct

from sandbox.streams import STDERR, STDOUT, CappedBuffer, Demultiplexer, sanitize_log


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_frames_split_across_reads_are_reassembled() -> None:
    raw = frame(STDOUT, b"hello") + frame(STDERR, b"log line\n") + frame(STDOUT, b"!")
    demux = Demultiplexer()
    pieces: list[tuple[int, bytes]] = []
    for i in range(len(raw)):
        pieces.extend(demux.feed(raw[i : i + 1]))
    out = b"".join(p for s, p in pieces if s == STDOUT)
    err = b"".join(p for s, p in pieces if s == STDERR)
    assert out == b"hello!" and err == b"log line\n"


def test_a_huge_frame_is_yielded_as_it_arrives() -> None:
    demux = Demultiplexer()
    header = struct.pack(">BxxxL", STDERR, 1_000_000)
    first = list(demux.feed(header + b"a" * 1000))
    assert first == [(STDERR, b"a" * 1000)]
    second = list(demux.feed(b"b" * 999_000 + frame(STDOUT, b"x")))
    assert second == [(STDERR, b"b" * 999_000), (STDOUT, b"x")]


def test_capped_buffer_keeps_the_head_and_counts_the_rest() -> None:
    buffer = CappedBuffer(10)
    buffer.write(b"0123456")
    buffer.write(b"789abcdef")
    assert buffer.getvalue() == b"0123456789"
    assert buffer.total == 16 and buffer.dropped == 6 and buffer.truncated


def test_sanitize_escapes_control_characters_and_replaces_bad_utf8() -> None:
    text = sanitize_log(b"ok\ttab\nnul\x00 esc\x1b[2J cr\r bell\x07 bad\xff \xc2\x9b csi")
    assert text == ("ok\ttab\nnul\\x00 esc\\x1b[2J cr\\x0d bell\\x07 bad\ufffd \\x9b csi")
