"""Bundles are deterministic, and reading one never trusts it."""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from step_sdk.bundle import BundleError, build_bundle, read_bundle
from step_sdk.manifest import Manifest

MANIFEST = Manifest(name="text.slugify", version="1.0.0", entrypoint="slug:main")


def tar_gz(entries: list[tarfile.TarInfo], contents: dict[str, bytes] | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info in entries:
            data = (contents or {}).get(info.name, b"")
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return raw.getvalue()


def test_same_sources_give_the_same_digest() -> None:
    files = {"slug.py": b"def main(): pass\n", "pkg/util.py": b"X = 1\n"}
    first = build_bundle(MANIFEST, files)
    second = build_bundle(MANIFEST, dict(reversed(list(files.items()))))
    assert first.data == second.data and first.digest == second.digest
    assert first.digest.startswith("sha256:")


def test_bundle_round_trips() -> None:
    bundle = build_bundle(MANIFEST, {"slug.py": b"def main(): pass\n"})
    again = read_bundle(bundle.data)
    assert again.manifest == MANIFEST
    assert again.files["slug.py"] == b"def main(): pass\n"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("/etc/passwd", tarfile.REGTYPE),
        ("../escape.py", tarfile.REGTYPE),
        ("a/../../escape.py", tarfile.REGTYPE),
        ("link.py", tarfile.SYMTYPE),
        ("hard.py", tarfile.LNKTYPE),
        ("dev", tarfile.CHRTYPE),
        ("fifo", tarfile.FIFOTYPE),
    ],
)
def test_unsafe_entries_are_rejected(name: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "/etc/passwd"
    manifest_info = tarfile.TarInfo("stepwell.json")
    data = tar_gz([manifest_info, info], {"stepwell.json": b"{}", name: b"x"})
    with pytest.raises(BundleError, match="entry"):
        read_bundle(data)


def _manifest_and(files: dict[str, bytes]) -> bytes:
    entries = [tarfile.TarInfo("stepwell.json")] + [tarfile.TarInfo(name) for name in files]
    return tar_gz(entries, {"stepwell.json": b"{}", **files})


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"q": b"x", "q/r.txt": b"y"}, "'q' is a file and also the directory of 'q/r.txt'"),
        ({"a/b": b"x", "a/b/c/d.py": b"y"}, "'a/b' is a file and also the directory"),
        ({"n" * 256 + ".py": b"x"}, "a path component is longer than 255 bytes"),
        ({"big.bin": b"\0" * (32 * 1024 * 1024 + 1)}, "one file may have at most 33554432"),
    ],
    ids=["file-and-directory", "nested-file-and-directory", "long-name", "file-over-fsize"],
)
def test_entries_no_container_could_unpack_are_refused_when_read(
    files: dict[str, bytes], says: str
) -> None:
    """The runner unpacks a bundle into the step's container: what it could never write there
    (over the sandbox's fsize ulimit, a name over NAME_MAX, a file where a directory must be)
    is refused when the bundle is read (at push), not at every run."""
    with pytest.raises(BundleError, match=re.escape(says)):
        read_bundle(_manifest_and(files))


def test_missing_or_invalid_manifest_names_the_field() -> None:
    with pytest.raises(BundleError, match=r"no stepwell\.json"):
        read_bundle(tar_gz([tarfile.TarInfo("slug.py")], {"slug.py": b""}))
    bad = b'{"name": "Not Valid", "version": "1", "entrypoint": "x"}'
    with pytest.raises(BundleError, match=r"/name: .*/version: .*/entrypoint: "):
        read_bundle(tar_gz([tarfile.TarInfo("stepwell.json")], {"stepwell.json": bad}))


def test_garbage_is_not_a_bundle() -> None:
    with pytest.raises(BundleError, match="not a gzip'd tar"):
        read_bundle(b"this is not a tarball")


def test_a_bundle_packed_by_hand_with_tar_dot_reads_like_a_built_one(tmp_path: Path) -> None:
    # `tar czf b.tgz -C dir .` writes the root as "./" and every file under "./".
    built = build_bundle(Manifest(name="text.hi", version="1.0.0", entrypoint="hi:main"), {
        "hi.py": b"def main() -> str:\n    return 'hi'\n"
    })  # fmt: skip
    source = tmp_path / "step"
    source.mkdir()
    for name, content in built.files.items():
        (source / name).write_bytes(content)
    packed = tmp_path / "b.tgz"
    subprocess.run(["tar", "czf", str(packed), "-C", str(source), "."], check=True)
    assert read_bundle(packed.read_bytes()).files == built.files
