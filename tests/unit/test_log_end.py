"""The runner's end marker on stderr: found across chunk boundaries, kept out of the log."""

from __future__ import annotations

import pytest

from sandbox.log_end import END, EndMarker
from step_sdk import runner


def test_the_runner_and_the_host_agree_on_the_marker() -> None:
    assert runner.END == END


@pytest.mark.parametrize("cut", range(1, len(END) + 8))
def test_the_marker_is_found_wherever_the_stream_is_cut(cut: int) -> None:
    stream = b"last line\n" + END + b"late\n"
    marker = EndMarker()
    log = marker.feed(stream[:cut]) + marker.feed(stream[cut:]) + marker.flush()
    assert marker.seen
    assert log == b"last line\nlate\n"


def test_bytes_that_only_look_like_the_start_of_the_marker_are_logged() -> None:
    marker = EndMarker()
    log = marker.feed(b"a\x00stepwell:") + marker.feed(b"not the end\n")
    assert not marker.seen
    assert log + marker.flush() == b"a\x00stepwell:not the end\n"


def test_a_stream_that_ends_inside_a_possible_marker_keeps_its_bytes() -> None:
    marker = EndMarker()
    log = marker.feed(b"x\x00step")
    assert log == b"x" and not marker.seen
    assert marker.flush() == b"\x00step"
