"""Server-side validation of an uploaded step bundle, without importing or running any of it.

The checks, in order, each refusing with a 422 whose details carry JSON pointers (``/bundle``
for the archive, ``/manifest/...`` for fields of ``stepwell.json``):

1. The gzip stream is decompressed in bounded chunks and thrown away, only counting bytes: not
   gzip, truncated, trailing data, or more than :data:`MAX_TAR_BYTES` once unpacked (a gzip bomb)
   is refused before the tar is parsed. This pass matters because :mod:`tarfile` reads PAX and
   GNU long-name headers whole into memory, so a small upload could otherwise claim gigabytes.
2. :func:`step_sdk.bundle.read_files`: regular files and directories only (no symlinks, hard
   links, devices, fifos), no absolute or ``..`` paths, no duplicates, entry-count and
   unpacked-size caps. The worker reads bundles with the same code and caps, so whatever the API
   accepts a worker can read.
3. The manifest: present at the root, at most :data:`MAX_MANIFEST_BYTES`, JSON, a valid
   :class:`step_sdk.manifest.Manifest` (schemas, exact requirement pins in the runtime's
   grammar, limits, ...), a name that fits the registry's column, and an entrypoint whose
   module file is in the bundle (``a.b:f`` -> ``a/b.py`` for ``python3.11``, the path itself,
   e.g. ``step.mjs``, for ``node20``). Numbers JSON cannot carry (``NaN``, ``Infinity``) and
   lone surrogates are refused.
4. For the Python runtimes only, :func:`ui_api.bundle_source.source_problems`: every ``.py`` file
   parses (:mod:`ast`, never imported) and the entrypoint's module binds the entrypoint's
   function at module level. A ``node20`` bundle's JavaScript is neither parsed nor run here:
   the API never executes step code, and a syntax error shows at the first run as a
   ``StepError``.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from step_sdk.bundle import (
    MAX_ENTRIES,
    MAX_UNPACKED_BYTES,
    BundleError,
    digest_of,
    read_files,
)
from step_sdk.errors import Problem
from step_sdk.json_values import json_value_problems
from step_sdk.manifest import MANIFEST_FILE, NEW_MANIFEST, Manifest
from step_sdk.requirements import RequirementError
from step_sdk.runtimes import NODE, PYTHON, RUNTIMES, is_python
from step_sdk.validation import pointer
from ui_api.errors import ApiError, invalid
from ui_api.steps.bundle_source import source_problems
from ui_api.steps.models import StepVersion

# Tar framing around the file contents: per entry a header block, a PAX header with its data
# block and up to one block of padding; then the end-of-archive blocks and the record padding.
_TAR_OVERHEAD_PER_ENTRY = 4 * 512
MAX_TAR_BYTES = MAX_UNPACKED_BYTES + MAX_ENTRIES * _TAR_OVERHEAD_PER_ENTRY + 20 * 512
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_NAME_LENGTH: int = StepVersion.model_fields["name"].metadata[0].max_length
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class CheckedBundle:
    """An upload that passed every check: its manifest, bytes and digest."""

    manifest: Manifest
    data: bytes
    # ``egress`` as the uploaded stepwell.json lists it (the manifest's is sorted and
    # deduplicated), so a problem with an entry can point at the author's own index
    declared_egress: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        return digest_of(self.data)

    @property
    def size(self) -> int:
        return len(self.data)


def _refuse(message: str, pointer_: str = "/bundle") -> ApiError:
    return invalid(f"the bundle is refused: {message}", [Problem(pointer_, message)])


def check_bundle(data: bytes) -> CheckedBundle:
    """Validate untrusted bundle bytes; raise a 422 :class:`ApiError` naming every problem found.

    The caller enforces the compressed-size limit (a 413) before calling this.
    """
    _check_gzip_stream(data)
    try:
        files = read_files(data)
    except BundleError as exc:
        raise _refuse(str(exc)) from None
    raw = files.get(MANIFEST_FILE)
    manifest = _check_manifest(raw)
    _check_entrypoint(manifest, files)
    problems = source_problems(manifest.entrypoint, files) if is_python(manifest.runtime) else []
    if problems:
        summary = "; ".join(p.message for p in problems[:3])
        raise invalid(f"the bundle is refused: {summary}", problems)
    declared = json.loads(raw or b"{}").get("egress") or ()  # valid: the manifest parsed
    return CheckedBundle(manifest=manifest, data=data, declared_egress=tuple(declared))


def _check_gzip_stream(data: bytes) -> None:
    """One complete gzip member that unpacks to at most MAX_TAR_BYTES, and nothing after it."""
    if not data.startswith(_GZIP_MAGIC):
        raise _refuse("it is not gzip data; push the .tgz file that 'stepwell step build' writes")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer
    pending = data
    total = 0
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break  # input used up before the end of the stream
            total += len(chunk)
            if total > MAX_TAR_BYTES:
                raise _refuse(f"it unpacks to more than {MAX_TAR_BYTES} bytes")
    except zlib.error as exc:
        raise _refuse(f"it is not valid gzip data ({exc})") from None
    if not inflater.eof:
        raise _refuse("the gzip data is truncated")
    if inflater.unused_data:
        raise _refuse(f"{len(inflater.unused_data)} bytes follow the gzip data")


def _check_manifest(raw: bytes | None) -> Manifest:
    if raw is None:
        raise _refuse(f"it has no {MANIFEST_FILE} at its root", "/manifest")
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _refuse(
            f"{MANIFEST_FILE} is {len(raw)} bytes; the limit is {MAX_MANIFEST_BYTES}", "/manifest"
        )
    try:
        document: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(f"{MANIFEST_FILE} is not valid JSON: {exc}", "/manifest") from None
    except RecursionError:
        raise _refuse(f"{MANIFEST_FILE} is nested too deeply", "/manifest") from None
    if carried := json_value_problems(document):
        problems = [Problem(f"/manifest{where}", what) for where, what in carried]
        raise invalid(f"the bundle's {MANIFEST_FILE} is invalid: {problems[0]}", problems)
    if not isinstance(document, dict):
        found = type(document).__name__
        raise _refuse(f"{MANIFEST_FILE} must be a JSON object, not {found}", "/manifest")
    try:
        manifest = Manifest.model_validate(document, context=NEW_MANIFEST)
    except ValidationError as exc:
        problems = manifest_problems(document, exc)
        summary = "; ".join(str(p) for p in problems[:3])
        raise invalid(f"the bundle's {MANIFEST_FILE} is invalid: {summary}", problems) from None
    except RecursionError:
        raise _refuse(f"{MANIFEST_FILE} is nested too deeply", "/manifest") from None
    if len(manifest.name) > MAX_NAME_LENGTH:
        raise _refuse(f"a step name has at most {MAX_NAME_LENGTH} characters", "/manifest/name")
    return manifest


def manifest_problems(document: dict[str, Any], exc: ValidationError) -> list[Problem]:
    """The manifest's validation errors as problems with pointers under ``/manifest``.

    A bad requirement is pointed at by its index (``/manifest/requirements/0``), which the
    manifest model's list-level validator cannot do.
    """
    problems: list[Problem] = []
    for error in exc.errors():
        location = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if location == ("requirements",):
            entries = _requirement_problems(document)
            if entries:
                problems.extend(entries)
                continue
        problems.append(Problem(pointer(location, "/manifest"), message))
    return problems


def _requirement_problems(document: dict[str, Any]) -> list[Problem]:
    """Each bad entry of ``requirements``, in the grammar of the manifest's runtime."""
    requirements = document.get("requirements")
    name = document.get("runtime", PYTHON)
    if not isinstance(requirements, list) or name not in RUNTIMES:
        return []
    problems = []
    for index, text in enumerate(requirements):
        try:
            RUNTIMES[name].normalize_requirements([text])
        except RequirementError as exc:
            message = str(exc).removeprefix("/requirements/0: ")
            problems.append(Problem(f"/manifest/requirements/{index}", message))
    return problems


def _check_no_node_modules(files: dict[str, bytes]) -> None:
    """A ``node20`` bundle holds no ``node_modules`` folder at any depth: its packages come
    only from the manifest's requirements, through a dependency layer (contract 4), so that
    the catalogue's requirements are every package the step can import."""
    for name in sorted(files):
        if "node_modules" in name.split("/"):
            raise _refuse(
                f"{name!r}: a JavaScript bundle holds no node_modules; declare the package in "
                "step.json's dependencies instead",
                "/bundle",
            )


def _check_entrypoint(manifest: Manifest, files: dict[str, bytes]) -> None:
    """The entrypoint's module is a file of the bundle (``a.b`` is ``a/b.py`` or a package;
    a ``node20`` entrypoint is the module's path itself)."""
    if manifest.runtime == NODE:
        if manifest.entrypoint not in files:
            raise _refuse(
                f"entrypoint {manifest.entrypoint!r}: the module is not in the bundle",
                "/manifest/entrypoint",
            )
        _check_no_node_modules(files)
        return
    module = manifest.entrypoint.split(":", 1)[0]
    path = module.replace(".", "/")
    candidates = (f"{path}.py", f"{path}/__init__.py")
    if not any(candidate in files for candidate in candidates):
        raise _refuse(
            f"entrypoint {manifest.entrypoint!r}: module {module!r} is not in the bundle "
            f"(expected {' or '.join(candidates)})",
            "/manifest/entrypoint",
        )
