"""The runner's bundle unpacking (contract 2) and the stdout markers before the result frame."""

from __future__ import annotations

import base64
import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from sandbox.preamble import READY, RECEIVED, Preamble
from step_sdk import runner
from step_sdk.bundle import build_bundle
from step_sdk.manifest import Manifest


def _encoded(entries: list[tuple[tarfile.TarInfo, bytes]]) -> str:
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb") as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for info, content in entries:
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return base64.b64encode(raw.getvalue()).decode()


def _file(name: str, content: bytes = b"x = 1\n") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), content


def test_a_bundle_unpacks_read_only_below_the_target(tmp_path: Path) -> None:
    manifest = Manifest(name="t.unpack", version="1.0.0", entrypoint="step:main")
    bundle = build_bundle(manifest, {"step.py": b"def main(): ...\n", "pkg/util.py": b"A = 1\n"})
    count = runner.unpack_bundle(base64.b64encode(bundle.data).decode(), str(tmp_path))
    assert count == 3
    assert (tmp_path / "pkg" / "util.py").read_bytes() == b"A = 1\n"
    assert (tmp_path / "stepwell.json").exists()
    assert not os.access(tmp_path / "step.py", os.W_OK) or os.geteuid() == 0
    assert (tmp_path / "pkg").stat().st_mode & 0o777 == 0o555


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../escape.py", "parent"),
        ("pkg/../../escape.py", "parent"),
        ("/etc/escape.py", "bad path"),
        ("a\\b.py", "bad path"),
    ],
)
def test_unsafe_paths_are_refused(tmp_path: Path, name: str, problem: str) -> None:
    target = tmp_path / "bundle"
    target.mkdir()
    with pytest.raises(runner.BundleUnpackError, match=problem):
        runner.unpack_bundle(_encoded([_file(name)]), str(target))
    assert not (tmp_path / "escape.py").exists()


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE])
def test_links_and_special_files_are_refused(tmp_path: Path, kind: bytes) -> None:
    info = tarfile.TarInfo("link.py")
    info.type = kind
    info.linkname = "/etc/passwd"
    with pytest.raises(runner.BundleUnpackError, match="not a regular file"):
        runner.unpack_bundle(_encoded([(info, b"")]), str(tmp_path))
    assert not (tmp_path / "link.py").exists()


def test_a_second_entry_with_the_same_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(runner.BundleUnpackError, match="cannot be unpacked"):
        runner.unpack_bundle(_encoded([_file("a.py"), _file("a.py", b"evil")]), str(tmp_path))
    assert (tmp_path / "a.py").read_bytes() == b"x = 1\n"


def test_entry_count_and_size_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "MAX_BUNDLE_ENTRIES", 3)
    many = [_file(f"m{n}.py") for n in range(4)]
    with pytest.raises(runner.BundleUnpackError, match="over 3 entries"):
        runner.unpack_bundle(_encoded(many), str(tmp_path / "a"))
    monkeypatch.setattr(runner, "MAX_UNPACKED_BYTES", 10)
    (tmp_path / "b").mkdir()
    with pytest.raises(runner.BundleUnpackError, match="unpacks to over 10 bytes"):
        runner.unpack_bundle(_encoded([_file("big.py", b"y" * 11)]), str(tmp_path / "b"))


@pytest.mark.parametrize("encoded", [None, 42, "not base64!", base64.b64encode(b"plain").decode()])
def test_a_missing_or_garbled_bundle_is_refused(tmp_path: Path, encoded: object) -> None:
    with pytest.raises(runner.BundleUnpackError):
        runner.unpack_bundle(encoded, str(tmp_path))


def test_the_runner_and_the_host_agree_on_the_markers() -> None:
    assert (runner.READY, runner.RECEIVED) == (READY, RECEIVED)


def test_markers_are_stripped_however_the_bytes_arrive() -> None:
    stream = READY + RECEIVED + b'{"ok":true,"output":1}\n'
    preamble = Preamble()
    out = b"".join(preamble.feed(stream[i : i + 1]) for i in range(len(stream)))
    assert out == b'{"ok":true,"output":1}\n'
    assert preamble.ready and preamble.received and not preamble.violated


def test_ready_without_received_means_the_envelope_was_never_read() -> None:
    preamble = Preamble()
    assert preamble.feed(READY) == b""
    assert preamble.ready and not preamble.received


def test_anything_else_first_is_passed_through_as_result_bytes() -> None:
    preamble = Preamble()
    assert preamble.feed(b"stepwell:r") == b""
    assert preamble.feed(b"xx{}") == b"stepwell:rxx{}"
    assert preamble.violated and not preamble.received
    assert preamble.feed(RECEIVED) == RECEIVED
