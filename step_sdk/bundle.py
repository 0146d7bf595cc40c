"""Step bundles (contract 1): deterministic gzip'd tars with ``stepwell.json`` at the root.

The same files and manifest always give the same bytes, so a bundle's sha256 digest identifies
it. Reading a bundle never trusts it: only regular files and directories with safe relative paths
are accepted, within size and count caps, and nothing is ever written to disk here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from step_sdk.manifest import MANIFEST_FILE, Manifest
from step_sdk.validation import pointer

MAX_BUNDLE_BYTES = 16 * 1024 * 1024
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 2000
# One file, unpacked: the sandbox's fsize ulimit (SandboxConfig.fsize_mb, 32 MiB) stops the
# runner writing a bigger one into the container's bundle directory.
MAX_FILE_BYTES = 32 * 1024 * 1024
# A path component, in bytes: Linux's NAME_MAX (limits.h), which the unpacking filesystem has.
MAX_NAME_BYTES = 255
_FIXED_MTIME = 0


class BundleError(ValueError):
    """A bundle is malformed or unsafe; the message names the entry or field."""


@dataclass(frozen=True)
class Bundle:
    """A validated bundle: its manifest, its files and the digest of its bytes."""

    manifest: Manifest
    files: dict[str, bytes]
    data: bytes

    @property
    def digest(self) -> str:
        return digest_of(self.data)


def digest_of(data: bytes) -> str:
    """``sha256:<hex>`` of bundle bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_json(manifest: Manifest) -> bytes:
    """Canonical JSON of a manifest (sorted keys) as stored in the bundle."""
    data = manifest.model_dump(mode="json")
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def _check_path(name: str) -> str:
    if not name or "\\" in name or "\x00" in name:
        raise BundleError(f"entry {name!r}: bad path")
    normalized = posixpath.normpath(name)
    if name.startswith("/") or normalized.startswith("..") or normalized in (".", ""):
        raise BundleError(f"entry {name!r}: absolute or parent ('..') paths are not allowed")
    if any(part in ("..", "") for part in name.rstrip("/").split("/")):
        raise BundleError(f"entry {name!r}: '..' or empty path components are not allowed")
    if any(
        len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in name.split("/")
    ):
        raise BundleError(f"entry {name!r}: a path component is longer than {MAX_NAME_BYTES} bytes")
    return normalized


def _check_tree(paths: list[str]) -> None:
    """Refuse a file whose path is also a directory of another file (``q`` and ``q/r``)."""
    files = set(paths)
    for path in paths:
        parent = posixpath.dirname(path)
        while parent:
            if parent in files:
                raise BundleError(f"entry {parent!r} is a file and also the directory of {path!r}")
            parent = posixpath.dirname(parent)


def build_bundle(manifest: Manifest, files: dict[str, bytes]) -> Bundle:
    """Pack ``files`` (relative path -> content) and the manifest into a deterministic bundle."""
    entries = {_check_path(path): content for path, content in files.items()}
    _check_tree(list(entries))
    entries.pop(MANIFEST_FILE, None)
    entries[MANIFEST_FILE] = manifest_json(manifest)
    raw = io.BytesIO()
    # gzip's header carries a timestamp and file name: fix both for reproducible bytes.
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=_FIXED_MTIME) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(entries):
            info = tarfile.TarInfo(path)
            info.size = len(entries[path])
            info.mtime = _FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(entries[path]))
    data = raw.getvalue()
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle is {len(data)} bytes; the limit is {MAX_BUNDLE_BYTES}")
    return Bundle(manifest=manifest, files=entries, data=data)


def read_files(data: bytes) -> dict[str, bytes]:
    """The files of untrusted bundle bytes (path -> content), after every entry check.

    Only regular files and directories with safe relative paths, no duplicates, within the
    entry-count and unpacked-size caps. The manifest is not looked at.

    Raises:
        BundleError: the bundle is too big, not a gzip'd tar, or has an unsafe entry.
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle is {len(data)} bytes; the limit is {MAX_BUNDLE_BYTES}")
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for count, info in enumerate(tar, start=1):
                if count > MAX_ENTRIES:
                    raise BundleError(f"bundle has more than {MAX_ENTRIES} entries")
                if info.isdir() and info.name in (".", "./"):
                    continue  # the root itself, as `tar -C dir .` writes it ("./")
                path = _check_path(info.name)
                if info.isdir():
                    continue
                if not info.isfile():
                    raise BundleError(f"entry {info.name!r}: only regular files are allowed")
                if info.size > MAX_FILE_BYTES:
                    raise BundleError(
                        f"entry {info.name!r} is {info.size} bytes; one file may have at most "
                        f"{MAX_FILE_BYTES}"
                    )
                total += info.size
                if total > MAX_UNPACKED_BYTES:
                    raise BundleError(f"bundle unpacks to more than {MAX_UNPACKED_BYTES} bytes")
                if path in files:
                    raise BundleError(f"entry {info.name!r} appears twice")
                handle = tar.extractfile(info)
                files[path] = handle.read() if handle is not None else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"bundle is not a gzip'd tar: {exc}") from None
    _check_tree(list(files))
    return files


def read_bundle(data: bytes) -> Bundle:
    """Validate untrusted bundle bytes and return their manifest and files.

    Raises:
        BundleError: the bundle is too big, not a gzip'd tar, has an unsafe entry, or its
            manifest is missing or invalid.
    """
    files = read_files(data)
    raw_manifest = files.get(MANIFEST_FILE)
    if raw_manifest is None:
        raise BundleError(f"bundle has no {MANIFEST_FILE} at its root")
    return Bundle(manifest=parse_manifest(raw_manifest), files=files, data=data)


def parse_manifest(raw: bytes) -> Manifest:
    """Parse manifest JSON; errors name the JSON pointer of the offending field."""
    try:
        document: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{MANIFEST_FILE} is not valid JSON: {exc}") from None
    try:
        return Manifest.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{pointer(err['loc'])}: {str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise BundleError(f"{MANIFEST_FILE} is invalid: {problems}") from None
