"""A step directory on the author's machine: finding its ``@step`` and packing its files.

This imports the author's code, on the author's machine, to read its decorator. Nothing on the
server side ever does: the platform only reads the manifest this produces.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from step_sdk.bundle import Bundle, BundleError, build_bundle, manifest_json
from step_sdk.decorator import Step
from step_sdk.errors import StepDefinitionError
from step_sdk.manifest import MANIFEST_FILE

_SKIP_DIRS = {"__pycache__", "tests", "dist", "build", "node_modules", "venv"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".tgz")


class ProjectError(ValueError):
    """The directory is not a usable step project; the message says why."""


def _is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def source_files(directory: Path) -> dict[str, bytes]:
    """The files that go into the bundle: sources and data, without tests, caches or builds."""
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


def build_directory(directory: Path, *, write_manifest: bool = True) -> Bundle:
    """Build the directory's bundle (deterministic); by default also write ``stepwell.json``
    beside the code, so the manifest can be read and reviewed with the source."""
    definition = load_step(directory)
    try:
        bundle = build_bundle(definition.manifest, source_files(directory))
    except BundleError as exc:
        raise ProjectError(str(exc)) from None
    if write_manifest:
        (directory / MANIFEST_FILE).write_bytes(manifest_json(definition.manifest))
    return bundle
