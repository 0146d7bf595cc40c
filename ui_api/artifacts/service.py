"""Reading artifact rows: a run's, by step, and one to download. Always scoped by workspace."""

from __future__ import annotations

from urllib.parse import quote

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ui_api.artifacts.models import ArtifactRow
from ui_api.runs.schemas import ArtifactInfo


def step_of(execution_id: str) -> str:
    """The step an execution belongs to: ``each[2]`` -> ``each``."""
    return execution_id.split("[", 1)[0]


def artifact_url(run_id: str, execution_id: str, name: str) -> str:
    """The download path of an artifact (every part percent-encoded)."""
    parts = (quote(p, safe="") for p in (run_id, execution_id, name))
    return "/v1/runs/{}/artifacts/{}/{}".format(*parts)


def run_artifacts(
    session: Session, workspace_id: str, run_id: str
) -> dict[str, list[ArtifactInfo]]:
    """By step id: the artifacts of each execution's latest attempt that saved any."""
    rows = session.exec(
        select(ArtifactRow)
        .where(ArtifactRow.workspace_id == workspace_id, ArtifactRow.run_id == run_id)
        .order_by(col(ArtifactRow.step_id), col(ArtifactRow.attempt), col(ArtifactRow.name))
    ).all()
    latest: dict[str, int] = {}
    for row in rows:
        latest[row.step_id] = max(latest.get(row.step_id, 0), row.attempt)
    listed: dict[str, list[ArtifactInfo]] = {}
    for row in rows:
        if row.attempt != latest[row.step_id]:
            continue
        listed.setdefault(step_of(row.step_id), []).append(
            ArtifactInfo(
                name=row.name,
                content_type=row.content_type,
                size_bytes=row.size_bytes,
                digest=row.digest,
                url=artifact_url(run_id, row.step_id, row.name),
                execution_id=row.step_id,
                attempt=row.attempt,
            )
        )
    return listed


def find_artifact(
    session: Session,
    workspace_id: str,
    run_id: str,
    execution_id: str,
    name: str,
    attempt: int | None = None,
) -> ArtifactRow | None:
    """The artifact ``name`` of one execution (its latest attempt unless ``attempt``), if it is
    the workspace's."""
    query = select(ArtifactRow).where(
        ArtifactRow.workspace_id == workspace_id,
        ArtifactRow.run_id == run_id,
        ArtifactRow.step_id == execution_id,
        ArtifactRow.name == name,
    )
    if attempt is not None:
        query = query.where(ArtifactRow.attempt == attempt)
    return session.exec(query.order_by(sa.desc(col(ArtifactRow.attempt))).limit(1)).first()
