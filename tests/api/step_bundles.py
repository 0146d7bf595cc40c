"""Building step bundles for API tests: valid ones, and hand-made hostile archives."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zlib
from typing import Any

import httpx

from step_sdk.bundle import build_bundle
from step_sdk.manifest import Manifest
from tests.api.helpers import WorkspaceKey

STEP_SOURCE = b"def echo(text: str) -> dict:\n    return {'text': text}\n"

Member = tuple[tarfile.TarInfo, bytes | None]


def manifest_doc(name: str = "test.echo", version: str = "1.0.0", **fields: Any) -> dict[str, Any]:
    """A valid manifest document, with ``fields`` changed (as JSON, not validated)."""
    document = Manifest(
        name="test.echo",
        version="1.0.0",
        entrypoint="step:echo",
        title="Echo",
        description="Answers with its input.",
        input_schema={
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
        output_schema={"type": "object"},
    ).model_dump(mode="json")
    document.update(name=name, version=version, **fields)
    return document


def bundle_bytes(
    name: str = "test.echo", version: str = "1.0.0", source: bytes = STEP_SOURCE, **fields: Any
) -> bytes:
    """A deterministic bundle as ``stepwell step build`` makes it."""
    manifest = Manifest.model_validate(manifest_doc(name, version, **fields))
    return build_bundle(manifest, {"step.py": source}).data


def regular(name: str, content: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = 0o644
    return info, content


def special(name: str, kind: bytes, linkname: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def tgz(*members: Member) -> bytes:
    """A gzip'd tar holding exactly ``members``, in order, however unsafe."""
    raw = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return raw.getvalue()


def with_manifest(manifest: bytes | dict[str, Any], *extra: Member) -> bytes:
    """A hand-made bundle with this manifest (raw bytes or a document) and ``step.py``."""
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    return tgz(regular("stepwell.json", raw), regular("step.py", STEP_SOURCE), *extra)


def zeros_gzip(header: bytes, zero_bytes: int) -> bytes:
    """gzip of ``header`` followed by ``zero_bytes`` zeros, compressed without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(header)]
    block = bytes(1 << 20)
    remaining = zero_bytes
    while remaining > 0:
        parts.append(compressor.compress(block[: min(remaining, len(block))]))
        remaining -= len(block)
    parts.append(compressor.flush())
    return b"".join(parts)


def header_claiming(name: str, kind: bytes, size: int) -> bytes:
    """One ustar header block for an entry of ``size`` bytes (its content is up to the caller)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    return info.tobuf(format=tarfile.USTAR_FORMAT)


async def push(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    data: bytes,
    *,
    filename: str = "bundle.tgz",
) -> httpx.Response:
    return await client.post(
        "/v1/steps",
        files={"bundle": (filename, data, "application/gzip")},
        headers=workspace.headers,
    )
