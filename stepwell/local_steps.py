"""Steps from a local directory, for running flows without the API: build, store, resolve."""

from __future__ import annotations

from pathlib import Path

from activities.bundles import BundleStore
from step_sdk.bundle import Bundle, read_bundle
from step_sdk.project import build_directory, is_javascript_step
from workflows.catalog import InMemoryCatalog
from workflows.definition import FlowDefinition
from workflows.types import ResolvedStep


def load_local_steps(directory: Path) -> list[Bundle]:
    """Every step in ``directory``: step sub-directories (Python, or JavaScript with a
    ``step.json``) are built (in memory: nothing is written into them, so a checkout stays
    clean), ``*.tgz`` bundles read."""
    bundles = []
    for entry in sorted(directory.iterdir()):
        if entry.is_dir() and (is_javascript_step(entry) or any(entry.glob("*.py"))):
            bundles.append(build_directory(entry, write_manifest=False))
        elif entry.is_file() and entry.suffix == ".tgz":
            bundles.append(read_bundle(entry.read_bytes()))
    return bundles


class LocalSteps:
    """A catalogue over local bundles that also puts them into the bundle store (the
    configured one, which the workers read) for the worker to fetch."""

    def __init__(self, bundles: list[Bundle], store: BundleStore) -> None:
        self._bundles = {b.manifest.ref: b for b in bundles}
        self.catalog = InMemoryCatalog(b.manifest for b in bundles)
        self._store = store

    def resolve(self, definition: FlowDefinition) -> dict[str, ResolvedStep]:
        """Store the bundles the flow uses and freeze their references for the run."""
        resolved = {}
        for step in definition.steps:
            bundle = self._bundles[step.uses]
            digest = self._store.put(bundle.data)
            resolved[step.uses] = ResolvedStep(
                digest=digest, manifest=bundle.manifest.model_dump(mode="json")
            )
        return resolved
