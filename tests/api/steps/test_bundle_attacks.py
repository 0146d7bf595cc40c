"""Hostile bundles and uploads: each is refused with a 4xx naming the problem, nothing is stored.

The server never imports or runs anything from a bundle; these tests hand it archives and
manifests built to break that, or to exhaust its memory.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from activities.bundles import BundleNotFound
from step_sdk.bundle import MAX_ENTRIES, MAX_FILE_BYTES, MAX_UNPACKED_BYTES
from tests.api.helpers import WorkspaceKey, assert_error
from tests.api.step_bundles import (
    STEP_SOURCE,
    bundle_bytes,
    header_claiming,
    manifest_doc,
    push,
    regular,
    special,
    tgz,
    with_manifest,
    zeros_gzip,
)
from ui_api.app import create_app
from ui_api.services import Services
from ui_api.steps.bundle_check import MAX_MANIFEST_BYTES, MAX_TAR_BYTES

Builder = Callable[[], bytes]


def _manifest(**fields: Any) -> Builder:
    return lambda: with_manifest(manifest_doc(**fields))


HOSTILE: list[tuple[str, Builder, str, str]] = [
    # (id, bundle, pointer of the first problem, words of its message)
    (
        "symlink",
        lambda: with_manifest(manifest_doc(), special("passwd", tarfile.SYMTYPE, "/etc/passwd")),
        "/bundle",
        "only regular files",
    ),
    (
        "hard-link",
        lambda: with_manifest(manifest_doc(), special("copy.py", tarfile.LNKTYPE, "/etc/shadow")),
        "/bundle",
        "only regular files",
    ),
    (
        "char-device",
        lambda: with_manifest(manifest_doc(), special("mem", tarfile.CHRTYPE)),
        "/bundle",
        "only regular files",
    ),
    (
        "block-device",
        lambda: with_manifest(manifest_doc(), special("sda", tarfile.BLKTYPE)),
        "/bundle",
        "only regular files",
    ),
    (
        "fifo",
        lambda: with_manifest(manifest_doc(), special("pipe", tarfile.FIFOTYPE)),
        "/bundle",
        "only regular files",
    ),
    (
        "parent-path",
        lambda: with_manifest(manifest_doc(), regular("../x", b"x")),
        "/bundle",
        "'..'",
    ),
    (
        "nested-parent-path",
        lambda: with_manifest(manifest_doc(), regular("lib/../../x", b"x")),
        "/bundle",
        "'..'",
    ),
    (
        "absolute-path",
        lambda: with_manifest(manifest_doc(), regular("/etc/x", b"x")),
        "/bundle",
        "absolute",
    ),
    (
        "duplicate-entry",
        lambda: with_manifest(manifest_doc(), regular("step.py", b"print('other')")),
        "/bundle",
        "appears twice",
    ),
    (
        "too-many-entries",
        lambda: with_manifest(
            manifest_doc(), *(regular(f"f{i}.txt", b"") for i in range(MAX_ENTRIES))
        ),
        "/bundle",
        f"more than {MAX_ENTRIES} entries",
    ),
    (
        "tar-bomb-many-files",  # each file within its own cap, together over the total
        lambda: with_manifest(
            manifest_doc(),
            *(regular(f"part{i}.bin", bytes(MAX_FILE_BYTES)) for i in range(3)),
        ),
        "/bundle",
        f"unpacks to more than {MAX_TAR_BYTES}",  # the tar stream's cap comes first
    ),
    (
        "tar-bomb-huge-file",  # refused from its header, before any of it is read
        lambda: zeros_gzip(
            header_claiming("big.bin", tarfile.REGTYPE, MAX_UNPACKED_BYTES + 1),
            MAX_UNPACKED_BYTES + 1024,
        ),
        "/bundle",
        f"one file may have at most {MAX_FILE_BYTES}",
    ),
    (
        "gzip-bomb-pax-header",  # tarfile would read this header whole into memory
        lambda: zeros_gzip(
            header_claiming("././@PaxHeader", tarfile.XHDTYPE, 1 << 30), MAX_TAR_BYTES + 1024
        ),
        "/bundle",
        f"unpacks to more than {MAX_TAR_BYTES}",
    ),
    (
        "gzip-bomb-zeros",
        lambda: zeros_gzip(b"", MAX_TAR_BYTES + 1024),
        "/bundle",
        f"unpacks to more than {MAX_TAR_BYTES}",
    ),
    ("empty", lambda: b"", "/bundle", "not gzip"),
    ("zip-not-gzip", lambda: b"PK\x03\x04" + bytes(100), "/bundle", "not gzip"),
    ("gzip-not-tar", lambda: gzip.compress(b"hello " * 200), "/bundle", "not a gzip'd tar"),
    ("broken-gzip", lambda: b"\x1f\x8b\x08\x00" + bytes(40), "/bundle", "not valid gzip"),
    ("truncated-gzip", lambda: bundle_bytes()[:-12], "/bundle", "truncated"),
    ("trailing-data", lambda: bundle_bytes() + b"more", "/bundle", "follow the gzip data"),
    (
        "no-manifest",
        lambda: tgz(regular("step.py", STEP_SOURCE)),
        "/manifest",
        "no stepwell.json",
    ),
    (
        "manifest-in-a-subdirectory",
        lambda: tgz(
            regular("sub/stepwell.json", json.dumps(manifest_doc()).encode()),
            regular("step.py", STEP_SOURCE),
        ),
        "/manifest",
        "no stepwell.json",
    ),
    ("manifest-not-json", lambda: with_manifest(b"{name: 1"), "/manifest", "not valid JSON"),
    ("manifest-not-utf8", lambda: with_manifest(b"\xff\xfe{}"), "/manifest", "not valid JSON"),
    ("manifest-a-list", lambda: with_manifest(b"[]"), "/manifest", "JSON object, not list"),
    (
        "manifest-deeply-nested",
        lambda: with_manifest(b"[" * 200_000),
        "/manifest",
        "nested too deeply",
    ),
    (
        "manifest-huge",
        lambda: with_manifest(manifest_doc(description="x" * MAX_MANIFEST_BYTES)),
        "/manifest",
        f"the limit is {MAX_MANIFEST_BYTES}",
    ),
    ("manifest-bad-name", _manifest(name="Not A Name"), "/manifest/name", "not a step name"),
    (
        "manifest-name-too-long-for-the-registry",
        _manifest(name="a" * 101),
        "/manifest/name",
        "at most 100",
    ),
    ("manifest-bad-version", _manifest(version="one"), "/manifest/version", "semantic version"),
    ("manifest-unknown-field", _manifest(owner="root"), "/manifest/owner", "not permitted"),
    (
        "manifest-limit-too-high",
        _manifest(limits={"timeout_s": 100_000}),
        "/manifest/limits/timeout_s",
        "900",
    ),
    ("manifest-bad-runtime", _manifest(runtime="node18"), "/manifest/runtime", "unsupported"),
    (
        "bad-input-schema",
        _manifest(input_schema={"type": "nonsense"}),
        "/manifest/input_schema",
        "not a valid JSON Schema",
    ),
    (
        "bad-output-schema",
        _manifest(output_schema={"properties": {"x": {"minimum": "ten"}}}),
        "/manifest/output_schema",
        "/properties/x/minimum",
    ),
    (
        "unpinned-requirement",
        _manifest(requirements=["markdown==3.7", "requests"]),
        "/manifest/requirements/1",
        "not pinned",
    ),
    (
        "url-requirement",
        _manifest(requirements=["evil @ https://example.com/evil.whl"]),
        "/manifest/requirements/0",
        "URL",
    ),
    (
        "pip-option-requirement",
        _manifest(requirements=["--index-url=https://example.com/simple"]),
        "/manifest/requirements/0",
        "pip option",
    ),
    (
        "requirement-pinned-twice",
        _manifest(requirements=["markdown==3.7", "Markdown==3.6"]),
        "/manifest/requirements",
        "pinned twice",
    ),
    (
        "missing-entrypoint-module",
        _manifest(entrypoint="missing:run"),
        "/manifest/entrypoint",
        "module 'missing' is not in the bundle",
    ),
    (
        "entrypoint-not-a-function-reference",
        _manifest(entrypoint="os.system"),
        "/manifest/entrypoint",
        "module:function",
    ),
]


def _stored(services: Services, data: bytes) -> bool:
    try:
        services.bundles.get(f"sha256:{hashlib.sha256(data).hexdigest()}")
    except BundleNotFound:
        return False
    return True


@pytest.mark.parametrize(
    ("build", "pointer", "words"),
    [pytest.param(build, pointer, words, id=name) for name, build, pointer, words in HOSTILE],
)
async def test_hostile_bundle_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    api_services: Services,
    build: Builder,
    pointer: str,
    words: str,
) -> None:
    data = build()
    error = assert_error(await push(client, workspace, data), 422, "invalid")
    assert error["details"][0]["pointer"] == pointer, error
    assert words in error["details"][0]["message"], error
    assert not _stored(api_services, data)
    catalogue = await client.get("/v1/steps?include_deprecated=true", headers=workspace.headers)
    assert catalogue.json()["items"] == []


async def test_all_manifest_problems_are_reported_at_once(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    data = with_manifest(manifest_doc(name="Bad", version="x", requirements=["a", "b==1"]))
    error = assert_error(await push(client, workspace, data), 422)
    pointers = {d["pointer"] for d in error["details"]}
    assert pointers == {"/manifest/name", "/manifest/version", "/manifest/requirements/0"}
    assert "/manifest/name" in error["message"]


async def test_entrypoint_may_live_in_a_package_and_filenames_are_ignored(
    client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    doc = manifest_doc(entrypoint="pkg.mod:echo")
    data = tgz(
        regular("stepwell.json", json.dumps(doc).encode()),
        regular("pkg/__init__.py", b""),
        regular("pkg/mod.py", STEP_SOURCE),
    )
    response = await push(client, workspace, data, filename="../../../etc/passwd")
    assert response.status_code == 201, response.text


# --- the upload itself ---------------------------------------------------------------------------


@pytest_asyncio.fixture
async def small_client(api_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a 16 KiB bundle limit."""
    settings = api_services.settings.model_copy(update={"bundle_max_kb": 16})
    services = Services(**{**api_services.__dict__, "settings": settings})
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://stepwell.test") as http:
        yield http


class CountingBody:
    """A streamed multipart body of ``size`` bytes; records how much the server pulled."""

    boundary = "stepwellboundary"

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="bundle"; '
            f'filename="b.tgz"\r\nContent-Type: application/gzip\r\n\r\n'
        )
        yield head.encode()
        while self.sent < self.size:
            self.sent += 4096
            yield bytes(4096)
        yield f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"


async def test_oversize_upload_is_refused_on_its_content_length_before_reading(
    small_client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    body = CountingBody(10 * 1024 * 1024)
    headers = {
        **workspace.headers,
        "Content-Type": body.content_type,
        "Content-Length": str(10 * 1024 * 1024),
    }
    response = await small_client.post("/v1/steps", content=body, headers=headers)
    error = assert_error(response, 413, "payload_too_large")
    assert "16 KiB" in error["message"] and error["details"][0]["pointer"] == "/bundle"
    assert body.sent == 0


async def test_oversize_streamed_upload_is_cut_off_at_the_limit(
    small_client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    body = CountingBody(10 * 1024 * 1024)  # chunked: no Content-Length to refuse early on
    headers = {**workspace.headers, "Content-Type": body.content_type}
    response = await small_client.post("/v1/steps", content=body, headers=headers)
    assert_error(response, 413, "payload_too_large")
    assert body.sent < 200 * 1024


async def test_bundle_just_over_the_limit_is_refused(
    small_client: httpx.AsyncClient, workspace: WorkspaceKey
) -> None:
    files = {"bundle": ("b.tgz", bytes(16 * 1024 + 1), "application/gzip")}
    response = await small_client.post("/v1/steps", files=files, headers=workspace.headers)
    assert "16 KiB" in assert_error(response, 413)["message"]


@pytest.mark.parametrize(
    ("request_args", "status", "pointer", "words"),
    [
        pytest.param(
            {"files": {"other": ("b.tgz", b"x", "application/gzip")}},
            422,
            "/bundle",
            "is required",
            id="missing-bundle-field",
        ),
        pytest.param(
            {"files": {"bundle": (None, b"not a file")}},
            422,
            "/bundle",
            "must be a file",
            id="bundle-as-a-text-field",
        ),
        pytest.param(
            {"json": {"bundle": "H4sI"}},
            415,
            "/header/Content-Type",
            "application/json",
            id="json-instead-of-multipart",
        ),
        pytest.param({}, 415, "/header/Content-Type", "none", id="no-body"),
        pytest.param(
            {"content": b"x", "headers": {"Content-Type": "multipart/form-data"}},
            400,
            None,
            "boundary",
            id="multipart-without-boundary",
        ),
        pytest.param(
            {
                "files": [
                    ("bundle", ("a.tgz", b"a", "application/gzip")),
                    ("bundle", ("b.tgz", b"b", "application/gzip")),
                ]
            },
            400,
            None,
            "Too many files",
            id="two-files",
        ),
        pytest.param(
            {"content": b"x", "headers": {"Content-Length": "lots"}},
            400,
            None,
            "Content-Length",
            id="content-length-not-a-number",
        ),
    ],
)
async def test_malformed_uploads_get_a_clear_4xx(
    client: httpx.AsyncClient,
    workspace: WorkspaceKey,
    request_args: dict[str, Any],
    status: int,
    pointer: str | None,
    words: str,
) -> None:
    arguments = dict(request_args)  # the parameters are shared by both database runs
    headers = {**workspace.headers, **arguments.pop("headers", {})}
    if "Content-Length" in headers:
        headers["Content-Type"] = "multipart/form-data; boundary=b"
    response = await client.post("/v1/steps", headers=headers, **arguments)
    error = assert_error(response, status)
    said = " ".join([error["message"], *(d["message"] for d in error["details"])])
    assert words in said, error
    if pointer is not None:
        assert error["details"][0]["pointer"] == pointer
