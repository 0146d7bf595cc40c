"""What request handlers share: settings, database, Temporal, stores, limiters, metrics."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session
from temporalio.client import Client

from activities.bundle_import import import_bundle_directory
from activities.bundle_store import check_bundle_store, open_bundle_store
from activities.bundles import BundleStore
from stepwell_settings import Settings
from ui_api.auth.ratelimit import RateLimiter
from ui_api.db import create_engine, in_session, in_transaction, migrate
from ui_api.locks import KeyedLocks
from ui_api.metrics import Metrics
from ui_api.runs.launcher import FrozenSteps
from ui_api.secrets.crypto import SecretBox, secret_box
from ui_api.shared_locks import open_shared_locks

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    engine: sa.Engine
    temporal: Client
    bundles: BundleStore
    box: SecretBox
    key_limiter: RateLimiter
    webhook_limiter: RateLimiter
    metrics: Metrics = field(default_factory=Metrics)
    frozen_steps: FrozenSteps = field(default_factory=FrozenSteps)
    # held while a change moves a flow's schedules (see ui_api.schedules.service); across API
    # processes when build_services made it (ui_api.shared_locks)
    schedule_locks: KeyedLocks = field(default_factory=KeyedLocks)

    # the threads async routes run their database work on (plain ``def`` routes use FastAPI's)
    db_threads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(32, thread_name_prefix="stepwell-db")
    )

    async def transaction(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one committed transaction, off the event loop
        (:func:`ui_api.db.in_transaction`)."""
        return await in_transaction(self.engine, work, self.db_threads)

    async def session(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` off the event loop; what it does not commit is rolled back
        (:func:`ui_api.db.in_session`)."""
        return await in_session(self.engine, work, self.db_threads)


def build_services(
    settings: Settings,
    temporal: Client,
    *,
    engine: sa.Engine | None = None,
    bundles: BundleStore | None = None,
) -> Services:
    """Services for these settings; migrates the database to the newest schema and copies the
    bundles an older version kept in ``STEPWELL_HOME/bundles`` into the bundle store.

    Raises:
        InsecureSecretKey: the development key outside development mode.
        BundleStoreError: the configured bundle store cannot be used (names the setting).
    """
    box = secret_box(settings)  # refuses an insecure key before touching anything
    engine = engine or create_engine(settings.database)
    migrate(engine)
    if bundles is None:
        bundles = open_bundle_store(settings, engine)
        check_bundle_store(bundles)
    import_bundle_directory(settings.legacy_bundle_dir, bundles)
    return Services(
        settings=settings,
        engine=engine,
        temporal=temporal,
        bundles=bundles,
        box=box,
        key_limiter=RateLimiter(engine, "api_key", settings.api_rate_per_s, settings.api_burst),
        webhook_limiter=RateLimiter(
            engine, "webhook", settings.webhook_rate_per_s, settings.webhook_burst
        ),
        schedule_locks=KeyedLocks(shared=open_shared_locks(engine)),
    )
