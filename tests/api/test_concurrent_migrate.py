"""API processes started together migrate one new database once: every ``migrate`` returns, the
schema is at head, and migration 0004's one ``installation`` row is one."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from ui_api.db import create_engine, migrate


def test_processes_migrating_a_new_database_at_once_all_succeed(empty_database: str) -> None:
    engines = [create_engine(empty_database) for _ in range(4)]  # one per "process"
    failures: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def start_up(engine: sa.Engine) -> None:
        start.wait()
        try:
            migrate(engine)
        except BaseException as exc:  # collected and shown below
            failures.append(exc)

    threads = [threading.Thread(target=start_up, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engines[0].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM installation")).scalar() == 1
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert len(versions) == 1
    for engine in engines:
        engine.dispose()
