"""The default bundle store, the ``bundle`` table, on SQLite and PostgreSQL: what goes in comes
out, the same bytes pushed at once by two processes are one row, damaged rows are refused."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from activities.bundle_db import BUNDLE, DatabaseBundleStore
from activities.bundles import BundleNotFound, BundleStoreError
from step_sdk.bundle import digest_of
from tests.api.step_bundles import bundle_bytes
from ui_api.db import create_engine, migrate

ODD_DIGESTS = [
    "",
    "sha256:",
    "md5:" + "a" * 32,
    "sha256:" + "A" * 64,  # digests are lowercase
    "sha256:" + "a" * 63,
    "sha256:../../../etc/passwd" + "a" * 38,
    "sha256:" + "a" * 64 + "' OR '1'='1",
]


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _bundle(tag: str) -> bytes:
    return bundle_bytes(name=f"test.store{tag}", version="1.0.0")


def _rows(engine: sa.Engine, digest: str) -> list[tuple[bytes, int]]:
    """The stored ``(data, size_bytes)`` rows of ``digest``."""
    with engine.connect() as connection:
        query = sa.select(BUNDLE.c.data, BUNDLE.c.size_bytes).where(BUNDLE.c.digest == digest)
        return [(bytes(data), int(size)) for data, size in connection.execute(query).all()]


def test_a_bundle_comes_back_as_it_went_in_and_a_second_put_changes_nothing(
    engine: sa.Engine,
) -> None:
    store = DatabaseBundleStore(engine)
    data = _bundle("roundtrip")
    digest = store.put(data)
    assert digest == digest_of(data)
    assert store.get(digest) == data
    assert store.put(data) == digest
    assert _rows(engine, digest) == [(data, len(data))]


def test_an_unknown_digest_is_not_found(engine: sa.Engine) -> None:
    with pytest.raises(BundleNotFound, match="no bundle"):
        DatabaseBundleStore(engine).get("sha256:" + "0" * 64)


@pytest.mark.parametrize("digest", ODD_DIGESTS)
def test_a_string_that_is_not_a_sha256_digest_is_refused_before_any_query(
    engine: sa.Engine, digest: str
) -> None:
    with pytest.raises(BundleNotFound, match="is not a sha256 digest"):
        DatabaseBundleStore(engine).get(digest)


def test_a_damaged_row_is_refused_and_the_next_put_repairs_it(engine: sa.Engine) -> None:
    store = DatabaseBundleStore(engine)
    data = _bundle("damaged")
    digest = store.put(data)
    for damaged in (data[:-10], data[:-1] + bytes([data[-1] ^ 1]), b""):
        with engine.begin() as connection:
            connection.execute(
                sa.update(BUNDLE).where(BUNDLE.c.digest == digest).values(data=damaged)
            )
        with pytest.raises(BundleNotFound, match="corrupt"):
            store.get(digest)
        assert store.put(data) == digest
        assert store.get(digest) == data


def test_two_processes_pushing_the_same_bundle_at_once_both_succeed_with_one_row(
    engine: sa.Engine, database_url: str
) -> None:
    rounds = 5
    data = [_bundle(f"race{i}") for i in range(rounds)]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [
        context.Process(target=_put_many, args=(database_url, data, start)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    store = DatabaseBundleStore(engine)
    for bundle in data:
        assert len(_rows(engine, digest_of(bundle))) == 1
        assert store.get(digest_of(bundle)) == bundle


def _put_many(url: str, bundles: list[bytes], start: threading.Barrier) -> None:
    """In a child process: put each bundle right after the other process is ready too."""
    engine = create_engine(url)
    store = DatabaseBundleStore(engine)
    for data in bundles:
        start.wait(30)
        assert store.put(data) == digest_of(data)
    engine.dispose()


def test_threads_pushing_the_same_bundle_at_once_all_succeed_with_one_row(
    engine: sa.Engine,
) -> None:
    store = DatabaseBundleStore(engine)
    data = _bundle("threads")
    start = threading.Barrier(8)
    answers: list[str] = []
    failures: list[BaseException] = []

    def push() -> None:
        start.wait(30)
        try:
            answers.append(store.put(data))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=push) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert answers == [digest_of(data)] * 8
    assert len(_rows(engine, digest_of(data))) == 1


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("sqlite:///{tmp}/never-migrated.db", id="sqlite-without-the-table"),
        pytest.param("postgresql+psycopg://postgres@127.0.0.1:9/none", id="postgresql-unreachable"),
    ],
)
def test_a_database_that_cannot_serve_bundles_is_an_error_naming_the_setting(
    url: str, tmp_path: Path
) -> None:
    engine = create_engine(url.format(tmp=tmp_path))
    store = DatabaseBundleStore(engine)
    try:
        with pytest.raises(BundleStoreError, match="STEPWELL_DATABASE_URL"):
            store.put(_bundle("nodatabase"))
        with pytest.raises(BundleStoreError, match="STEPWELL_DATABASE_URL"):
            store.get("sha256:" + "2" * 64)
    finally:
        engine.dispose()


def test_delete_forgets_a_digest_and_a_missing_one_is_fine(engine: sa.Engine) -> None:
    store = DatabaseBundleStore(engine)
    digest = store.put(_bundle("delete"))
    store.delete(digest)
    assert _rows(engine, digest) == []
    with pytest.raises(BundleNotFound):
        store.get(digest)
    store.delete(digest)  # again: nothing to do
    with pytest.raises(BundleNotFound):
        store.delete("sha256:../../etc")
