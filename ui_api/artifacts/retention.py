"""Artifacts live as long as their run: a periodic pass forgets those of runs Temporal forgot.

A run is kept by Temporal for its namespace's retention (``describe_namespace``:
``workflow_execution_retention_ttl``) after it closes. A pass takes the runs whose newest artifact
is older than that retention (no run that closed later can be among them), asks Temporal about
each, and for those it no longer knows deletes their ``artifact`` rows, then the bytes of every
digest that no artifact row and no step version (a pushed bundle) names any more.

It runs in the API process (``stepwell api``, ``stepwell up``), every
``STEPWELL_ARTIFACT_RETENTION_EVERY_S``: the API already holds the Temporal client, the database
and the bundle store, and there are far fewer API processes than workers (a pass per worker would
multiply the same queries). Several API processes doing it at once is harmless: every delete is
idempotent.

A digest's bytes are removed only after a fresh check in the database; a step saving the same
bytes in the instant between that check and the delete would find its row naming missing bytes,
and its download answers 404 ("no longer stored") rather than fail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.bundles import BundleStore
from ui_api.artifacts.models import ArtifactRow
from ui_api.steps.models import StepVersion

log = logging.getLogger("stepwell.api")
ARTIFACT = ArtifactRow.__table__  # type: ignore[attr-defined]
STEP_VERSION = StepVersion.__table__  # type: ignore[attr-defined]
# Runs asked about per pass (the rest wait for the next one).
RUNS_PER_PASS = 500


@dataclass(frozen=True)
class RetentionPass:
    """What one pass removed."""

    runs: list[str]
    rows: int
    blobs: int


async def namespace_retention(client: Client, namespace: str) -> timedelta:
    """How long Temporal keeps a closed run in ``namespace``."""
    answer = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    return answer.config.workflow_execution_retention_ttl.ToTimedelta()


async def remove_expired(
    client: Client,
    engine: sa.Engine,
    store: BundleStore,
    retention: timedelta,
    *,
    now: datetime | None = None,
) -> RetentionPass:
    """One pass (see the module's docstring)."""
    cutoff = (now or datetime.now(UTC)) - retention
    candidates = await asyncio.to_thread(_candidates, engine, cutoff)
    gone = [run_id for run_id in candidates if not await _known(client, run_id)]
    if not gone:
        return RetentionPass([], 0, 0)
    rows, digests = await asyncio.to_thread(_delete_rows, engine, gone)
    unused = await asyncio.to_thread(_unreferenced, engine, digests)
    for digest in unused:
        await asyncio.to_thread(store.delete, digest)
    log.info("artifact retention: %d runs, %d rows, %d blobs", len(gone), rows, len(unused))
    return RetentionPass(gone, rows, len(unused))


def _candidates(engine: sa.Engine, cutoff: datetime) -> list[str]:
    newest = sa.func.max(ARTIFACT.c.created_at)
    query = (
        sa.select(ARTIFACT.c.run_id)
        .group_by(ARTIFACT.c.run_id)
        .having(newest < cutoff.astimezone(UTC).replace(tzinfo=None))
        .limit(RUNS_PER_PASS)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


async def _known(client: Client, run_id: str) -> bool:
    """Whether Temporal still has the run (any other answer than "not found" keeps it)."""
    try:
        await client.get_workflow_handle(run_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def _delete_rows(engine: sa.Engine, run_ids: list[str]) -> tuple[int, set[str]]:
    with engine.begin() as connection:
        digests = set(
            connection.execute(
                sa.select(ARTIFACT.c.digest).where(ARTIFACT.c.run_id.in_(run_ids)).distinct()
            ).scalars()
        )
        deleted = connection.execute(sa.delete(ARTIFACT).where(ARTIFACT.c.run_id.in_(run_ids)))
    return deleted.rowcount or 0, digests


def _unreferenced(engine: sa.Engine, digests: Iterable[str]) -> list[str]:
    """The digests no artifact row and no step version names."""
    wanted = sorted(digests)
    if not wanted:
        return []
    with engine.connect() as connection:
        used = set(
            connection.execute(
                sa.select(ARTIFACT.c.digest).where(ARTIFACT.c.digest.in_(wanted))
            ).scalars()
        )
        used |= set(
            connection.execute(
                sa.select(STEP_VERSION.c.digest).where(STEP_VERSION.c.digest.in_(wanted))
            ).scalars()
        )
    return [digest for digest in wanted if digest not in used]
