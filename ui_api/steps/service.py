"""The step registry's database side: registering a checked bundle, the catalogue, versions.

A ``(name, version)`` is immutable once pushed: the same bytes again are a no-op, other bytes
are a conflict. Bytes go to the bundle store (by digest) before the row is inserted, so a row
never points at a missing bundle; a failed insert at worst leaves an unreferenced,
content-addressed blob behind, which the next push of the same bytes reuses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.bundles import BundleStore
from ui_api.errors import ApiError, not_found
from ui_api.steps.bundle_check import CheckedBundle
from ui_api.steps.catalog import get_step_version, stored_runtime, version_key
from ui_api.steps.egress import stored_egress, widened_entries
from ui_api.steps.models import StepVersion


@dataclass(frozen=True)
class Registered:
    row: StepVersion
    created: bool  # False: the identical bundle was already pushed


@dataclass(frozen=True)
class CatalogueEntry:
    """One step name: its latest version's texts and egress, the version count, whether all are
    deprecated."""

    name: str
    title: str
    description: str
    latest_version: str
    version_count: int
    deprecated: bool
    egress: list[str]
    runtime: str


def register(
    session: Session, bundles: BundleStore, workspace_id: str, checked: CheckedBundle
) -> Registered:
    """Store the bundle and add its version; idempotent for identical bytes, 409 otherwise."""
    manifest = checked.manifest
    existing = get_step_version(session, workspace_id, manifest.name, manifest.version)
    if existing is not None:
        return _same_or_conflict(existing, checked)
    stored = bundles.put(checked.data)
    if stored != checked.digest:  # a store that rewrites bytes would break every run
        raise ApiError(500, f"the bundle store answered {stored} for {checked.digest}")
    row = StepVersion(
        workspace_id=workspace_id,
        name=manifest.name,
        version=manifest.version,
        digest=checked.digest,
        size=checked.size,
        manifest=manifest.model_dump(mode="json"),
        egress_widened=widened_entries(
            manifest.egress, stored_egress(_previous_manifest(session, workspace_id, checked))
        ),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent push of the same (name, version) won the unique constraint.
        session.rollback()
        existing = get_step_version(session, workspace_id, manifest.name, manifest.version)
        if existing is None:
            raise
        return _same_or_conflict(existing, checked)
    return Registered(row, created=True)


def _previous_manifest(
    session: Session, workspace_id: str, checked: CheckedBundle
) -> dict[str, Any] | None:
    """The manifest of the highest version below the pushed one (semantic order), if any."""
    name, version = checked.manifest.name, checked.manifest.version
    rows = session.exec(
        select(StepVersion.version, StepVersion.manifest).where(
            StepVersion.workspace_id == workspace_id, StepVersion.name == name
        )
    ).all()
    key = version_key(version)
    below = [(v, m) for v, m in rows if version_key(v) < key]
    if not below:
        return None
    _, manifest = max(below, key=lambda row: version_key(row[0]))
    return manifest if isinstance(manifest, dict) else None


def _same_or_conflict(existing: StepVersion, checked: CheckedBundle) -> Registered:
    if existing.digest == checked.digest:
        return Registered(existing, created=False)
    ref = f"{existing.name}@{existing.version}"
    raise ApiError(
        409,
        f"{ref} is already pushed with digest {existing.digest}; this bundle's digest is "
        f"{checked.digest}. A pushed version never changes: bump the version to push new code",
    )


def find_version(session: Session, workspace_id: str, name: str, version: str) -> StepVersion:
    """The workspace's row for ``name@version``, or a 404."""
    row = get_step_version(session, workspace_id, name, version)
    if row is None:
        raise not_found("step version", f"{name}@{version}")
    return row


def versions_of(session: Session, workspace_id: str, name: str) -> list[StepVersion]:
    """Every version of a step in semantic-version order (oldest first), or a 404."""
    rows = session.exec(
        select(StepVersion).where(
            StepVersion.workspace_id == workspace_id, StepVersion.name == name
        )
    ).all()
    if not rows:
        raise not_found("step", name)
    return sorted(rows, key=lambda row: version_key(row.version))


def set_deprecation(session: Session, row: StepVersion, deprecated: bool, message: str) -> None:
    row.deprecated = deprecated
    row.deprecation_message = message if deprecated else ""
    session.add(row)


@dataclass(frozen=True)
class _Candidate:
    name: str
    latest_id: int
    latest_version: str
    version_count: int
    deprecated: bool


def catalogue_page(
    session: Session,
    workspace_id: str,
    *,
    query: str | None,
    include_deprecated: bool,
    limit: int,
    after: str | None,
) -> tuple[list[CatalogueEntry], bool]:
    """Up to ``limit`` entries with names after ``after``, and whether more follow.

    The latest version is the highest non-deprecated one (the highest of all when every
    version is deprecated). ``query`` matches name, title and description, ignoring case.
    """
    statement = select(
        StepVersion.id, StepVersion.name, StepVersion.version, StepVersion.deprecated
    ).where(StepVersion.workspace_id == workspace_id)
    if after is not None:
        statement = statement.where(StepVersion.name > after)
    rows = session.exec(statement.order_by(col(StepVersion.name))).all()
    candidates = []
    for name, group in groupby(rows, key=lambda row: row[1]):
        versions = [(row_id, version, deprecated) for row_id, _, version, deprecated in group]
        live = [v for v in versions if not v[2]]
        latest_id, latest_version, _ = max(live or versions, key=lambda v: version_key(v[1]))
        if (live or include_deprecated) and latest_id is not None:
            candidates.append(
                _Candidate(name, latest_id, latest_version, len(versions), deprecated=not live)
            )
    needle = query.strip().casefold() if query else ""
    entries: list[CatalogueEntry] = []
    for batch in _batches(candidates, limit + 1):
        manifests = _manifests(session, [c.latest_id for c in batch])
        for candidate in batch:
            manifest = manifests[candidate.latest_id]
            entry = CatalogueEntry(
                name=candidate.name,
                title=str(manifest.get("title", "")),
                description=str(manifest.get("description", "")),
                latest_version=candidate.latest_version,
                version_count=candidate.version_count,
                deprecated=candidate.deprecated,
                egress=stored_egress(manifest),
                runtime=stored_runtime(manifest),
            )
            if needle and not _matches(entry, needle):
                continue
            entries.append(entry)
            if len(entries) > limit:
                return entries[:limit], True
    return entries, False


def _matches(entry: CatalogueEntry, needle: str) -> bool:
    return any(needle in text.casefold() for text in (entry.name, entry.title, entry.description))


def _manifests(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    found = session.exec(
        select(StepVersion.id, StepVersion.manifest).where(col(StepVersion.id).in_(ids))
    ).all()
    return {row_id: dict(manifest) for row_id, manifest in found if row_id is not None}


def _batches(items: Sequence[_Candidate], size: int) -> Iterator[Sequence[_Candidate]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
