"""How flow validation looks up step manifests: a small interface the API's registry serves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from step_sdk.manifest import Manifest


class StepCatalog(Protocol):
    """Read access to the step versions a flow may use."""

    def get(self, name: str, version: str) -> Manifest | None:
        """The manifest of ``name@version``, or None if there is no such version."""

    def versions(self, name: str) -> list[str]:
        """Known versions of ``name`` (empty if the step is unknown)."""


class InMemoryCatalog:
    """A catalogue over a fixed set of manifests (local runs and tests)."""

    def __init__(self, manifests: Iterable[Manifest]) -> None:
        self._manifests = {(m.name, m.version): m for m in manifests}

    def get(self, name: str, version: str) -> Manifest | None:
        return self._manifests.get((name, version))

    def versions(self, name: str) -> list[str]:
        return sorted(v for n, v in self._manifests if n == name)
