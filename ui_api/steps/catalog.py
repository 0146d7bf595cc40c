"""The step registry as flows see it: a workspace's pushed step versions."""

from __future__ import annotations

from typing import Any

from packaging.version import InvalidVersion, Version
from sqlmodel import Session, select

from step_sdk.manifest import Manifest
from step_sdk.runtimes import PYTHON
from ui_api.steps.models import StepVersion


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key: semantic order where the version parses, text order after."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def stored_runtime(manifest: Any) -> str:
    """A stored manifest's ``runtime``; manifests stored without one are ``python3.11``."""
    runtime = manifest.get("runtime") if isinstance(manifest, dict) else None
    return runtime if isinstance(runtime, str) else PYTHON


def get_step_version(
    session: Session, workspace_id: str, name: str, version: str
) -> StepVersion | None:
    return session.exec(
        select(StepVersion).where(
            StepVersion.workspace_id == workspace_id,
            StepVersion.name == name,
            StepVersion.version == version,
        )
    ).first()


class WorkspaceCatalog:
    """A :class:`workflows.catalog.StepCatalog` over one workspace's step versions."""

    def __init__(self, session: Session, workspace_id: str) -> None:
        self._session = session
        self._workspace_id = workspace_id

    def row(self, name: str, version: str) -> StepVersion | None:
        return get_step_version(self._session, self._workspace_id, name, version)

    def get(self, name: str, version: str) -> Manifest | None:
        row = self.row(name, version)
        return None if row is None else Manifest.model_validate(row.manifest)

    def versions(self, name: str) -> list[str]:
        found = self._session.exec(
            select(StepVersion.version).where(
                StepVersion.workspace_id == self._workspace_id, StepVersion.name == name
            )
        ).all()
        return sorted(found, key=version_key)
