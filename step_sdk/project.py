"""A step directory on the author's machine: finding its manifest and packing its files.

A Python step's manifest comes from its ``@step``: this imports the author's code, on the
author's machine, to read the decorator. A JavaScript step's comes from its ``step.json``
(step_sdk.step_json): no JavaScript is run or parsed. Nothing on the server side ever imports
or runs step code: the platform only reads the manifest this produces.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from step_sdk.bundle import Bundle, BundleError, build_bundle, manifest_json, read_files
from step_sdk.decorator import Step
from step_sdk.errors import StepDefinitionError
from step_sdk.manifest import MANIFEST_FILE, Manifest
from step_sdk.step_json import STEP_JSON, StepJsonError
from step_sdk.step_json import load_manifest as load_step_json

_SKIP_DIRS = {"__pycache__", "tests", "dist", "build", "node_modules", "venv"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".tgz")
# What a JavaScript step's bundle holds: modules and JSON data, nothing else.
JS_SUFFIXES = (".mjs", ".js", ".cjs", ".json")
_JS_TEST_MARKERS = (".test.", ".spec.")


class ProjectError(ValueError):
    """The directory is not a usable step project; the message says why."""


def _is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def _is_js_test_file(name: str) -> bool:
    return any(marker in name for marker in _JS_TEST_MARKERS)


def is_javascript_step(directory: Path) -> bool:
    """Whether ``directory`` holds a JavaScript step (a ``step.json``)."""
    return (directory / STEP_JSON).is_file()


def source_files(directory: Path) -> dict[str, bytes]:
    """The files that go into the bundle: sources and data, without tests, caches or builds.

    For a JavaScript step only ``.mjs``, ``.js``, ``.cjs`` and ``.json`` files, never
    ``node_modules`` (dependencies come from ``step.json``), dotfiles or ``*.test.*`` files.
    """
    javascript = is_javascript_step(directory)
    files: dict[str, bytes] = {}
    for root, dirs, names in os.walk(directory, followlinks=False):
        here = Path(root)
        for name in list(dirs):
            if (here / name).is_symlink():
                raise ProjectError(f"{(here / name).relative_to(directory)}: links are not allowed")
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS and "egg-info" not in d
        )
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(directory).as_posix()
            if name.startswith(".") or name.endswith(_SKIP_SUFFIXES) or _is_test_file(name):
                continue
            if javascript and (not name.endswith(JS_SUFFIXES) or _is_js_test_file(name)):
                continue
            if relative == MANIFEST_FILE:
                continue
            if path.is_symlink():
                raise ProjectError(f"{relative}: links are not allowed in a step directory")
            if not path.is_file():
                raise ProjectError(f"{relative}: only regular files are allowed")
            files[relative] = path.read_bytes()
    return files


def _import_file(path: Path, module_name: str) -> object:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ProjectError(f"{path.name}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except StepDefinitionError as exc:
        raise ProjectError(f"{path.name}: {exc}") from None
    except Exception as exc:
        raise ProjectError(
            f"{path.name}: importing it failed: {type(exc).__name__}: {exc}"
        ) from None
    return module


def load_step(directory: Path) -> Step[..., object]:
    """Import the directory's top-level modules and return its one ``@step``.

    Raises:
        ProjectError: no such directory, no ``@step``, more than one, or an import failed.
    """
    directory = directory.resolve()
    if not directory.is_dir():
        raise ProjectError(f"{directory}: no such directory")
    modules = sorted(
        p for p in directory.glob("*.py") if not _is_test_file(p.name) and p.name != "setup.py"
    )
    if not modules:
        raise ProjectError(f"{directory}: no Python files")
    found: list[tuple[str, Step[..., object]]] = []
    saved_path = list(sys.path)
    sys.path.insert(0, str(directory))
    try:
        for path in modules:
            module_name = path.stem
            sys.modules.pop(module_name, None)
            module = _import_file(path, module_name)
            for attribute, value in vars(module).items():
                if isinstance(value, Step) and value.function.__module__ == module_name:
                    found.append((f"{module_name}:{attribute}", value))
    finally:
        sys.path[:] = saved_path
    if not found:
        raise ProjectError(f"{directory}: no @step function found in {len(modules)} module(s)")
    names = [s.manifest.name for _, s in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        where = ", ".join(e for e, s in found if s.manifest.name in duplicates)
        raise ProjectError(f"two @steps are named {duplicates[0]!r} ({where})")
    if len(found) > 1:
        raise ProjectError(
            "a step directory holds one @step; found "
            + ", ".join(f"{s.manifest.name} ({e})" for e, s in found)
        )
    entrypoint, definition = found[0]
    definition.manifest = definition.manifest.model_copy(update={"entrypoint": entrypoint})
    return definition


def load_javascript_step(directory: Path) -> Manifest:
    """The manifest of a JavaScript step directory, read from its ``step.json``.

    Raises:
        ProjectError: no such directory, ``step.json`` is invalid (the message names the JSON
            pointer, or the line and column), or the entrypoint module is not in the directory.
    """
    directory = directory.resolve()
    if not directory.is_dir():
        raise ProjectError(f"{directory}: no such directory")
    try:
        manifest = load_step_json((directory / STEP_JSON).read_bytes())
    except StepJsonError as exc:
        raise ProjectError(str(exc)) from None
    except OSError as exc:
        raise ProjectError(f"{STEP_JSON}: cannot be read: {exc.strerror}") from None
    if manifest.entrypoint not in source_files(directory):
        raise ProjectError(
            f"{STEP_JSON}: /entrypoint: {manifest.entrypoint!r} is not a module of the step "
            f"directory (expected the file {directory / manifest.entrypoint})"
        )
    return manifest


def load_manifest(directory: Path) -> Manifest:
    """The manifest of a step directory: from ``step.json`` for JavaScript, ``@step`` for
    Python (which imports the Python step's modules; a JavaScript step is only read).

    Raises:
        ProjectError: the directory is not a usable step; the message says why.
    """
    if is_javascript_step(directory):
        return load_javascript_step(directory)
    return load_step(directory).manifest


def build_directory(directory: Path, *, write_manifest: bool = True) -> Bundle:
    """Build the directory's bundle (deterministic); by default also write ``stepwell.json``
    beside the code, so the manifest can be read and reviewed with the source."""
    manifest = load_manifest(directory)
    try:
        bundle = build_bundle(manifest, source_files(directory))
        # The checks a push makes (entry count, unpacked and per-file size): a bundle that
        # builds is one the API and the runners accept, not one refused later.
        read_files(bundle.data)
    except BundleError as exc:
        raise ProjectError(str(exc)) from None
    if write_manifest:
        (directory / MANIFEST_FILE).write_bytes(manifest_json(manifest))
    return bundle
