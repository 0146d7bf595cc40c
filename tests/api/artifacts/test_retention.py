"""The retention pass: artifacts of runs Temporal no longer has go, with their unshared bytes."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.bundles import BundleNotFound
from tests.api.helpers import WorkspaceKey, insert_step
from tests.api.runs.helpers import inline_step
from ui_api.artifacts.models import ArtifactRow
from ui_api.artifacts.retention import namespace_retention, remove_expired
from ui_api.services import Services

ARTIFACT = ArtifactRow.__table__  # type: ignore[attr-defined]


def _row(services: Services, run_id: str, name: str, data: bytes, created: datetime) -> str:
    digest = services.bundles.put(data)
    with services.engine.begin() as connection:
        connection.execute(
            sa.insert(ARTIFACT).values(
                id=f"art_{secrets.token_hex(10)}", workspace_id="ws_test", run_id=run_id,
                step_id="save", attempt=1, name=name, content_type="text/plain",
                size_bytes=len(data), digest=digest, created_at=created,
            )
        )  # fmt: skip
    return digest


def _names(services: Services, run_id: str) -> list[str]:
    with services.engine.connect() as connection:
        query = sa.select(ARTIFACT.c.name).where(ARTIFACT.c.run_id == run_id)
        return sorted(connection.execute(query).scalars())


async def test_old_runs_lose_their_artifacts_and_unshared_bytes(
    api_services: Services, temporal: WorkflowEnvironment, workspace: WorkspaceKey
) -> None:
    client = temporal.client
    retention = await namespace_retention(client, "default")
    assert retention > timedelta(0)
    now = datetime.now(UTC)
    old = now - retention - timedelta(hours=1)
    tag = uuid.uuid4().hex
    gone, fresh_gone, kept = f"gone-{tag}", f"fresh-{tag}", f"kept-{tag}"
    # a run Temporal still has (started on a queue no worker polls), with old artifacts
    handle = await client.start_workflow("NoSuchWorkflow", id=kept, task_queue=f"none-{tag}")
    try:
        only_gone = _row(api_services, gone, "a.txt", f"only {tag}".encode(), old)
        shared = _row(api_services, gone, "b.txt", f"shared {tag}".encode(), old)
        _row(api_services, kept, "b.txt", f"shared {tag}".encode(), old)
        # bytes equal to a pushed bundle: an artifact row must never delete a bundle
        bundle = inline_step(f"test.keep{tag[:8]}", "def main():\n    return 1\n")
        insert_step(api_services, workspace.workspace_id, bundle)
        as_bundle = _row(api_services, gone, "bundle.tgz", bundle.data, old)
        _row(api_services, fresh_gone, "new.txt", f"new {tag}".encode(), now)

        done = await remove_expired(client, api_services.engine, api_services.bundles, retention)

        assert gone in done.runs and kept not in done.runs and fresh_gone not in done.runs
        assert _names(api_services, gone) == []
        assert _names(api_services, kept) == ["b.txt"]
        assert _names(api_services, fresh_gone) == ["new.txt"]
        with pytest.raises(BundleNotFound):
            api_services.bundles.get(only_gone)
        assert api_services.bundles.get(shared) == f"shared {tag}".encode()
        assert api_services.bundles.get(as_bundle) == bundle.data
    finally:
        await handle.terminate()
