"""Artifact names, media types, the channel's framing and the download header, without servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.artifacts import ArtifactChannel
from step_sdk import StepContext, step
from step_sdk.artifacts import ArtifactLimitExceeded, Artifacts, media_type, name_problem
from step_sdk.testing import artifacts_folder, call
from ui_api.artifacts.router import content_disposition

FRAME = b'{"ok":true,"output":1}\n'


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "../x", "/etc/passwd", "a/b", "a\\b", "a\x00b", "a\x1bb", "a\x7fb",
     "x" * 256, "é" * 128, "\ud800", "\u202egnp.exe", "a\u2028b", "a\u2029b", "\ufeffa",
     "a\u200bb", "a\u2066b\u2069", "a\x85b"],
)  # fmt: skip
def test_names_that_are_not_one_plain_file_name_are_refused(name: str) -> None:
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["shot.png", ".hidden", 'résumé "1".txt', "x" * 255, "…"])
def test_plain_file_names_are_accepted(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [("image/png", "image/png"), ("Text/CSV; charset=utf-8", "text/csv"),
     ("text/html\r\nSet-Cookie: a=b", "application/octet-stream"),
     ("png", "application/octet-stream"), ("", "application/octet-stream"),
     (None, "application/octet-stream")],
)  # fmt: skip
def test_content_types_are_media_types_or_octet_stream(given: object, stored: str) -> None:
    assert media_type(given) == stored


def test_the_channel_reassembles_artifacts_fed_byte_by_byte() -> None:
    channel = ArtifactChannel(max_count=5, max_bytes=100, total_bytes=200)
    stream = (
        b'ARTIFACT {"name": "a.csv", "content_type": null, "size": 3}\nabc'
        b'ARTIFACT {"name": "b", "content_type": "image/png", "size": 0}\n' + FRAME
    )
    passed = b"".join(channel.feed(stream[i : i + 1]) for i in range(len(stream)))
    assert passed == FRAME
    assert [(a.name, a.content_type, a.data) for a in channel.artifacts] == [
        ("a.csv", "text/csv", b"abc"),
        ("b", "image/png", b""),
    ]
    assert not channel.problem


@pytest.mark.parametrize(
    "header",
    [b"not json", b'{"name": "a"}', b'{"name": "a", "content_type": 5, "size": 1}',
     b'{"name": "a", "content_type": null, "size": -1}',
     b'{"name": "a", "content_type": null, "size": true}',
     b'{"name": "a", "content_type": null, "size": 1, "path": "/etc"}'],
)  # fmt: skip
def test_malformed_headers_break_the_channel(header: bytes) -> None:
    channel = ArtifactChannel(max_count=5, max_bytes=100, total_bytes=200)
    assert channel.feed(b"ARTIFACT " + header + b"\nx" + FRAME) == b""
    assert channel.problem and not channel.limit_exceeded and channel.artifacts == []


def test_a_name_sent_twice_breaks_the_channel() -> None:
    channel = ArtifactChannel(max_count=5, max_bytes=100, total_bytes=200)
    one = b'ARTIFACT {"name": "a", "content_type": null, "size": 1}\nx'
    channel.feed(one + one + FRAME)
    assert "sent twice" in channel.problem and channel.artifacts == []


def test_the_sdk_refuses_over_its_caps_at_once(tmp_path: Path) -> None:
    artifacts = Artifacts(folder=tmp_path, max_count=2, max_bytes=10, total_bytes=14)
    artifacts.save("a", b"1234567890")
    artifacts.save("a", b"12345")  # replacing one does not count twice
    with pytest.raises(ArtifactLimitExceeded, match="per artifact"):
        artifacts.save("b", b"x" * 11)
    with pytest.raises(ArtifactLimitExceeded, match="TOTAL_MB"):
        artifacts.save("b", b"x" * 10)
    artifacts.save("b", b"x")
    with pytest.raises(ArtifactLimitExceeded, match="MAX_COUNT"):
        artifacts.save("c", b"x")
    with pytest.raises(ValueError, match="no '/'"):
        artifacts.save("../c", b"x")


def test_the_download_name_is_quoted_per_rfc_5987() -> None:
    header = content_disposition('r\u00e9sum\u00e9 "1"\r\n%.txt')
    assert header.startswith("attachment; ")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22%0D%0A%25.txt" in header
    assert "\r" not in header and "\n" not in header
    assert 'filename="r_sum_ _1____.txt"' in header


def test_steps_called_in_process_save_into_a_local_folder() -> None:
    @step(name="test.local_saver", version="1.0.0")
    def saver(text: str, ctx: StepContext) -> int:
        ctx.artifacts.save("echo.txt", text.encode(), "text/plain")
        return len(text)

    assert call(saver, {"text": "local"}) == 5
    assert (artifacts_folder() / "echo.txt").read_bytes() == b"local"
