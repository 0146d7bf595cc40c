"""Schedules stored before the overlap policy existed load after the upgrade, as "skip"."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from ui_api.db import MIGRATIONS, create_engine, migrate, session_scope
from ui_api.schedules.models import Schedule
from ui_api.schedules.service import overlap_policy, schedule_spec

ROWS = [
    "INSERT INTO workspace (id, name, created_at) VALUES ('ws_old', 'old', :at)",
    "INSERT INTO flow (id, workspace_id, name, enabled, latest_version, created_at, updated_at)"
    " VALUES ('flw_old', 'ws_old', 'old', true, 1, :at, :at)",
    "INSERT INTO schedule (id, workspace_id, flow_id, cron, interval_s, timezone, payload,"
    " paused, note, created_at) VALUES ('sch_cron', 'ws_old', 'flw_old', '0 9 1 * MON', NULL,"
    " 'Europe/Berlin', 'null', false, '', :at)",
    "INSERT INTO schedule (id, workspace_id, flow_id, cron, interval_s, timezone, payload,"
    " paused, note, created_at) VALUES ('sch_every', 'ws_old', 'flw_old', NULL, 604800,"
    " 'UTC', 'null', false, '', :at)",
]


def test_schedules_stored_before_the_upgrade_load_and_sync(empty_database: str) -> None:
    engine = create_engine(empty_database)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        for statement in ROWS:
            connection.execute(sa.text(statement), {"at": datetime(2026, 1, 2, 3, 4, 5)})
    migrate(engine)
    with session_scope(engine) as session:
        cron = session.get(Schedule, "sch_cron")
        every = session.get(Schedule, "sch_every")
        assert cron is not None and every is not None
        assert cron.overlap == every.overlap == "skip"
        assert overlap_policy(cron).name == "SKIP"
        assert schedule_spec(cron).cron_expressions == ["0 9 1 * *", "0 9 * * MON"]
        [interval] = schedule_spec(every).intervals
        # 2026-01-02 03:04:05 UTC is 1 day 3:04:05 after a Thursday 00:00 (the epoch's phase)
        assert interval.offset == timedelta(days=1, hours=3, minutes=4, seconds=5)
    engine.dispose()
