"""The in-container step runner (contract 2).

This file is copied into the runtime image and started as ``python3 -I /opt/stepwell/runner.py``.
It uses the standard library only, so it runs before (and independently of) anything the step or
its dependencies install, and it is the only code in the container that the platform wrote.

Protocol:
  * the runner first imports everything that does not depend on the tenant (the SDK, pydantic,
    jsonschema, the standard library pieces they use), then writes ``READY`` on stdout: from
    then on it only waits, so a container can wait in a warm pool (``sandbox.pool``). Started
    with ``--cold`` (a container created for one execution), it skips those imports.
  * stdin: one JSON envelope ``{"input", "secrets", "context", "bundle"}``, then EOF. ``bundle``
    is the step's bundle (contract 1's gzip'd tar), base64-encoded; the runner writes
    ``RECEIVED`` on stdout once the whole envelope is in, then unpacks the bundle into the
    ``BUNDLE_DIR`` tmpfs (regular files and directories only, safe relative paths, count and
    size capped) and imports the entrypoint from there.
  * stderr: the step's log. The runner points file descriptor 1 at stderr *before* importing user
    code, so ``print`` and subprocesses log there too. At the end, once that output is flushed,
    the runner writes ``END`` there: the log is complete.
  * stdout: ``READY``, ``RECEIVED``, then the step's artifacts (the regular files of
    ``ARTIFACTS_DIR``, each as ``ARTIFACT <json header>\n`` and its bytes, see
    ``sandbox.artifacts``), then exactly one result frame, written by the runner on a
    private descriptor at the end:
    ``{"ok": true, "output": ...}`` or ``{"ok": false, "error": {"type", "exception", "message",
    "traceback"}}``.

Egress: when the host gave the execution an egress lease, ``EGRESS_SOCKET`` exists (the proxy's
per-execution Unix socket, mounted read-only); before anything else the runner starts the
forwarder of ``step_sdk/egress_forwarder.py``, which makes it reachable at ``127.0.0.1:3128``
for standard HTTP clients.

Nothing here is trusted by the host: the frame is parsed strictly, and exit status, OOM and time
come from Docker and the host's own clock.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import importlib.util
import io
import json
import os
import posixpath
import sys
import tarfile
import traceback
from typing import Any

ROOT = "/opt/stepwell"
BUNDLE_DIR = f"{ROOT}/bundle"
DEPS_DIR = f"{ROOT}/deps"
SDK_DIR = f"{ROOT}/sdk"
MANIFEST_FILE = "stepwell.json"
ARTIFACTS_DIR = f"{ROOT}/artifacts"
ARTIFACT_HEADER = b"ARTIFACT "
_CHUNK = 1024 * 1024
MAX_ENVELOPE_BYTES = 64 * 1024 * 1024
# The same caps as step_sdk.bundle (the host has checked the bundle already; the runner checks
# again because it is the one writing files).
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_BUNDLE_ENTRIES = 2000
# Written on stdout (the result channel) before the frame: the host strips exactly these.
READY = b"stepwell:ready\n"
# Given by the host to a container it creates for one execution (the cold path): no preload.
COLD_FLAG = "--cold"
RECEIVED = b"stepwell:received\n"
# On stderr, after the step's own output is flushed and before the result frame: the log is
# complete (sandbox/log_end.py).
END = b"\x00stepwell:end\n"
# Imported before the envelope is read: nothing here depends on the tenant, and every step
# would otherwise pay for it after handoff.
PRELOAD = (
    "step_sdk",
    "step_sdk.decorator",
    "step_sdk.json_values",
    "pydantic",
    "jsonschema",
    "datetime",
    "decimal",
    "hashlib",
    "uuid",
    "urllib.parse",
)
# The host refuses deeper frames; refusing here first gives the author a clearer message.
MAX_OUTPUT_DEPTH = 64
INVOKE_ATTRIBUTE = "__stepwell_invoke__"
EGRESS_SOCKET = "/run/stepwell/egress/proxy.sock"


def _start_egress_forwarder(keep_closed: tuple[int, ...] = ()) -> None:
    """Start the egress forwarder (``step_sdk/egress_forwarder.py``) if the execution has
    egress, i.e. if the host mounted its lease's socket."""
    if not os.path.exists(EGRESS_SOCKET):
        return
    forwarder = _sdk_module("egress_forwarder")
    if forwarder is None:
        print("stepwell: the egress forwarder is missing from the SDK", file=sys.stderr)
        return
    forwarder.start(EGRESS_SOCKET, keep_closed)


def _private_result_channel() -> int:
    """Keep the real stdout for the result and send everything else written to fd 1 to stderr."""
    sys.stdout.flush()
    result_fd = os.dup(1)  # os.dup makes it non-inheritable: subprocesses never get it
    os.dup2(2, 1)
    return result_fd


class BundleUnpackError(ValueError):
    """The envelope's bundle cannot be unpacked; the message names the entry."""


def _bundle_path(name: str) -> str:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise BundleUnpackError(f"bundle entry {name!r}: bad path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise BundleUnpackError(f"bundle entry {name!r}: empty or parent ('..') path")
    return "/".join(parts)


def unpack_bundle(encoded: Any, target: str = BUNDLE_DIR) -> int:
    """Write the base64 gzip'd tar ``encoded`` below ``target``; return the number of files.

    Only regular files and directories with safe relative paths, at most
    ``MAX_BUNDLE_ENTRIES`` entries and ``MAX_UNPACKED_BYTES`` bytes; files are created
    exclusively and never through a link, so nothing lands outside ``target``.

    Raises:
        BundleUnpackError: the bundle is missing, too big, not a gzip'd tar, or unsafe.
    """
    if not isinstance(encoded, str):
        raise BundleUnpackError("the envelope has no bundle")
    if len(encoded) > (MAX_BUNDLE_BYTES * 4) // 3 + 4:
        raise BundleUnpackError(f"the bundle is over {MAX_BUNDLE_BYTES} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BundleUnpackError(f"the bundle is not base64: {exc}") from None
    files = total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for count, info in enumerate(tar, start=1):
                if count > MAX_BUNDLE_ENTRIES:
                    raise BundleUnpackError(f"the bundle has over {MAX_BUNDLE_ENTRIES} entries")
                if info.isdir() and posixpath.normpath(info.name) == ".":
                    continue
                path = os.path.join(target, _bundle_path(info.name))
                if info.isdir():
                    os.makedirs(path, mode=0o755, exist_ok=True)
                    continue
                if not info.isfile():
                    raise BundleUnpackError(f"bundle entry {info.name!r}: not a regular file")
                total += info.size
                if total > MAX_UNPACKED_BYTES:
                    raise BundleUnpackError(
                        f"the bundle unpacks to over {MAX_UNPACKED_BYTES} bytes"
                    )
                source = tar.extractfile(info)
                content = source.read() if source is not None else b""
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                fd = os.open(path, flags, 0o444)
                try:
                    _write_all(fd, content)
                finally:
                    os.close(fd)
                files += 1
        # The step's code is read-only by mode, as on the image's read-only root before: the
        # step's user owns this tmpfs and could change the modes back, but the container is
        # used once, so that would only change its own copy.
        for directory, _, _ in sorted(os.walk(target), reverse=True):
            os.chmod(directory, 0o555)  # noqa: S103 (read and list only: the step imports from here)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleUnpackError(f"the bundle cannot be unpacked: {exc}") from None
    return files


def _preload(imports: bool = True) -> None:
    """Import what every step needs and no tenant chose, while the container waits.

    A cold container (``COLD_FLAG``: created for one execution, its envelope already on the way)
    only puts the SDK on the path: the step runs next, and one that never imports the SDK
    should not wait ~150 ms of CPU for pydantic and jsonschema.
    """
    sys.path.insert(0, SDK_DIR)
    if not imports:
        return
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a step that needs it reports the failure itself
            print(f"stepwell: preloading {name} failed: {exc}", file=sys.stderr)


def _read_envelope() -> dict[str, Any]:
    raw = sys.stdin.buffer.read(MAX_ENVELOPE_BYTES + 1)
    # From here on, user code reading stdin sees EOF instead of waiting forever.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise ValueError("envelope too large")
    envelope = json.loads(raw)
    if not isinstance(envelope, dict):
        raise ValueError("envelope is not a JSON object")
    return envelope


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of ``value``, stopping early once it passes ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _is_platform_frame(filename: str) -> bool:
    return filename == __file__ or filename.startswith(f"{SDK_DIR}/step_sdk/")


def _user_traceback(exc: BaseException) -> str:
    """The traceback without the platform's own frames: the author should see only their code."""
    tb = exc.__traceback__
    while tb is not None and _is_platform_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _error(kind: str, exc: BaseException | None, message: str) -> dict[str, Any]:
    return {
        "ok": False,
        "error": {
            "type": kind,
            "exception": type(exc).__name__ if exc is not None else kind,
            "message": message,
            "traceback": _user_traceback(exc) if exc is not None else "",
        },
    }


def _load_entrypoint() -> Any:
    with open(os.path.join(BUNDLE_DIR, MANIFEST_FILE), encoding="utf-8") as handle:
        manifest = json.load(handle)
    module_name, _, function_name = str(manifest["entrypoint"]).partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)


def _call(function: Any, envelope: dict[str, Any]) -> Any:
    payload = envelope.get("input")
    invoke = getattr(function, INVOKE_ATTRIBUTE, None)
    if invoke is not None:
        return invoke(payload, envelope.get("context") or {}, envelope.get("secrets") or {})
    if isinstance(payload, dict):
        return _awaited(function(**payload))
    return _awaited(function(payload))


def _awaited(result: Any) -> Any:
    """``result``, or what it gives when it is a coroutine (an ``async def`` step), run to its
    end in a new event loop (asyncio is imported only then: it costs every start otherwise)."""
    if type(result).__name__ != "coroutine":
        return result
    import asyncio

    return asyncio.run(result)


def _unjsonable(output: Any) -> str:
    """Why JSON cannot carry ``output`` faithfully (pointer and problem), or ``""``.

    The host checks the same again; checking here gives the author the same message as
    ``step_sdk.testing.call`` does.
    """
    checks = _sdk_module("json_values")
    if checks is None:  # no SDK next to the runner: the host's check still applies
        return ""
    return str(checks.describe(checks.json_value_problems(output)))


def _sdk_module(name: str) -> Any:
    """``step_sdk/<name>.py`` (a standard-library-only module), loaded from its file under a
    private name, once; ``None`` if it cannot be loaded.

    Not through the package: ``step_sdk/__init__`` imports pydantic and jsonschema (~150 ms of
    CPU that a step without the SDK would pay for a standard-library module), and a bundle with
    a ``step_sdk`` of its own cannot stand in for it either.
    """
    if name not in _SDK_MODULES:
        path = os.path.join(SDK_DIR, "step_sdk", f"{name}.py")
        spec = importlib.util.spec_from_file_location(f"_stepwell_{name}", path)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        try:
            spec.loader.exec_module(module)
        except (OSError, ImportError):
            sys.modules.pop(spec.name, None)
            return None
        _SDK_MODULES[name] = module
    return _SDK_MODULES[name]


_SDK_MODULES: dict[str, Any] = {}


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _encode(frame: dict[str, Any]) -> bytes:
    if frame["ok"] and _depth(frame["output"], MAX_OUTPUT_DEPTH) > MAX_OUTPUT_DEPTH:
        frame = _error(
            "OutputLimitExceeded", None, f"output is nested deeper than {MAX_OUTPUT_DEPTH} levels"
        )
    elif frame["ok"] and (problem := _unjsonable(frame["output"])):
        frame = _error("OutputValidationError", None, problem)
    elif not frame["ok"]:  # an exception's text may hold lone surrogates too
        error = frame["error"]
        frame["error"] = {key: _printable(str(value)) for key, value in error.items()}
    try:
        text = json.dumps(frame, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        text = json.dumps(_error("OutputValidationError", None, f"output is not JSON: {exc}"))
    return text.encode("utf-8") + b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _run(envelope: dict[str, Any]) -> dict[str, Any]:
    """Import the entrypoint and call it; the frame to send."""
    try:
        function = _load_entrypoint()
        return {"ok": True, "output": _call(function, envelope)}
    except BaseException as exc:  # anything the user's code raises is the step's error
        kind = getattr(exc, "stepwell_error_type", None)
        if kind is None:
            return _error("StepError", exc, f"{type(exc).__name__}: {exc}")
        # the SDK's own validation errors: the message says it all
        return _error(str(kind), None, str(exc))


def _artifact_caps(envelope: dict[str, Any]) -> tuple[int, int, int]:
    """(count, bytes each, bytes in all) from the envelope's context, with the SDK's defaults."""
    caps = (envelope.get("context") or {}).get("artifacts") or {}
    defaults = (20, 10 * 1024 * 1024, 50 * 1024 * 1024)
    names = ("max_count", "max_bytes", "total_bytes")
    return tuple(  # type: ignore[return-value]
        caps[n] if isinstance(caps.get(n), int) else d for n, d in zip(names, defaults, strict=True)
    )


def _artifact_files() -> tuple[list[tuple[str, int]], list[str]]:
    """The regular files of ``ARTIFACTS_DIR`` as (name, size), sorted, and why others were
    refused (one line each, naming the entry by its index). Symbolic links are never followed."""
    try:
        entries = sorted(os.scandir(ARTIFACTS_DIR), key=lambda e: e.name)
    except OSError:
        return [], []
    if not entries:  # most steps save nothing: no module to load for them
        return [], []
    checks = _sdk_module("artifacts")
    files: list[tuple[str, int]] = []
    refused: list[str] = []
    for index, entry in enumerate(entries):
        shown = ascii(entry.name[:80])
        problem = checks.name_problem(entry.name) if checks is not None else None
        if problem is None and not entry.is_file(follow_symlinks=False):
            problem = "not a regular file (links, folders and devices are not artifacts)"
        if problem is not None:
            refused.append(f"stepwell: artifact /artifacts/{index} ({shown}) refused: {problem}")
            continue
        files.append((entry.name, entry.stat(follow_symlinks=False).st_size))
    return files, refused


def _send_artifacts(fd: int, envelope: dict[str, Any], frame: dict[str, Any]) -> dict[str, Any]:
    """Send the artifacts on the result channel, or the frame that says which cap they pass."""
    files, refused = _artifact_files()
    for line in refused:
        os.write(2, line.encode("utf-8", "backslashreplace") + b"\n")
    max_count, max_bytes, total_bytes = _artifact_caps(envelope)
    too_big = [(n, size) for n, size in files if size > max_bytes]
    total = sum(size for _, size in files)
    problem = ""
    if len(files) > max_count:
        problem = f"the step saved {len(files)} artifacts; the limit is {max_count}"
    elif too_big:
        name, size = too_big[0]
        problem = f"artifact {name!r} is {size} bytes; the limit is {max_bytes} per artifact"
    elif total > total_bytes:
        problem = f"the step's artifacts are {total} bytes; the limit is {total_bytes} in all"
    if problem:
        return _error("ArtifactLimitExceeded", None, problem)
    sdk = sys.modules.get("step_sdk.artifacts")
    types = sdk.saved_types() if sdk is not None else {}
    for name, _ in files:
        try:
            handle = os.open(os.path.join(ARTIFACTS_DIR, name), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            os.write(2, f"stepwell: artifact {name!r} cannot be read: {exc}\n".encode())
            continue
        with os.fdopen(handle, "rb") as source:
            data = source.read(max_bytes + 1)  # the size may have changed since the listing
        if len(data) > max_bytes:
            return _error("ArtifactLimitExceeded", None, f"artifact {name!r} grew past the limit")
        header = {"name": name, "content_type": types.get(name), "size": len(data)}
        _write_all(fd, ARTIFACT_HEADER + json.dumps(header).encode() + b"\n")
        _write_all(fd, data)
    return frame


def main() -> None:
    """Run the step once and exit; never returns."""
    sys.dont_write_bytecode = True
    result_fd = _private_result_channel()
    _start_egress_forwarder(keep_closed=(result_fd,))
    _preload(imports=COLD_FLAG not in sys.argv[1:])
    _write_all(result_fd, READY)
    frame: dict[str, Any]
    try:
        envelope = _read_envelope()
    except (ValueError, OSError) as exc:
        frame = _error("InputValidationError", exc, f"malformed envelope: {exc}")
    else:
        _write_all(result_fd, RECEIVED)
        # the SDK directory is on the path already (_preload): the bundle goes before it, the
        # dependency layer after it, as before pooling
        sys.path[:0] = [BUNDLE_DIR]
        sys.path.insert(sys.path.index(SDK_DIR) + 1, DEPS_DIR)
        os.environ.pop("PYTHONPATH", None)
        try:
            unpack_bundle(envelope.get("bundle"))
        except BundleUnpackError as exc:
            frame = _error("StepError", None, str(exc))
        else:
            frame = _run(envelope)
        frame = _send_artifacts(result_fd, envelope, frame)
    data = _encode(frame)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        _write_all(2, END)
    except (OSError, ValueError):
        pass  # the step closed its stderr: the host waits for the exit instead
    _write_all(result_fd, data)
    os.close(result_fd)
    # os._exit: user threads, atexit hooks and finalizers get no chance to keep the step alive
    # or to write after the result.
    os._exit(0)


if __name__ == "__main__":
    main()
