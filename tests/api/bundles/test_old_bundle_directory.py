"""Upgrading an installation that kept bundles in ``STEPWELL_HOME/bundles``: the API copies them
into the configured store when it starts; a damaged file is logged and skipped, never fatal."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.bundle_db import DatabaseBundleStore
from activities.bundle_import import import_bundle_directory
from activities.bundles import BundleNotFound
from stepwell_settings import Settings
from tests.api.step_bundles import bundle_bytes
from ui_api.db import create_engine, migrate
from ui_api.services import build_services


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _old_home(home: Path, tag: str) -> tuple[bytes, bytes, Path]:
    """An old home: one intact bundle, one whose file was damaged, one odd file.
    Returns the intact bytes, the damaged file's original bytes, and the damaged file."""
    directory = home / "bundles"
    directory.mkdir(parents=True)
    good = bundle_bytes(name=f"test.old{tag}")
    (directory / f"{hashlib.sha256(good).hexdigest()}.tgz").write_bytes(good)
    original = bundle_bytes(name=f"test.damaged{tag}")
    damaged = directory / f"{hashlib.sha256(original).hexdigest()}.tgz"
    damaged.write_bytes(original[: len(original) // 2])
    (directory / "notes.tgz").write_bytes(b"not a bundle, not named by a digest")
    return good, original, damaged


def test_old_bundles_are_copied_once_and_a_damaged_file_is_skipped(
    engine: sa.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good, original, damaged = _old_home(tmp_path, "direct")
    store = DatabaseBundleStore(engine)
    with caplog.at_level(logging.WARNING, logger="stepwell.bundles"):
        report = import_bundle_directory(tmp_path / "bundles", store)
    digest = "sha256:" + hashlib.sha256(good).hexdigest()
    assert report.copied == [digest]
    assert report.skipped == [damaged]
    assert f"old bundle {damaged} is corrupt" in caplog.text
    assert store.get(digest) == good
    with pytest.raises(BundleNotFound):
        store.get("sha256:" + hashlib.sha256(original).hexdigest())
    again = import_bundle_directory(tmp_path / "bundles", store)  # the next start
    assert again.copied == [digest]
    assert store.get(digest) == good


def test_no_old_directory_is_nothing_to_do(engine: sa.Engine, tmp_path: Path) -> None:
    report = import_bundle_directory(tmp_path / "bundles", DatabaseBundleStore(engine))
    assert (report.copied, report.skipped) == ([], [])


def test_the_api_copies_old_bundles_when_it_starts(
    database_url: str, tmp_path: Path, temporal: WorkflowEnvironment
) -> None:
    good, _, _ = _old_home(tmp_path, "start")
    settings = Settings(home=tmp_path, database_url=database_url)
    services = build_services(settings, temporal.client)
    try:
        assert services.bundles.get("sha256:" + hashlib.sha256(good).hexdigest()) == good
        assert isinstance(services.bundles, DatabaseBundleStore)
    finally:
        services.engine.dispose()
