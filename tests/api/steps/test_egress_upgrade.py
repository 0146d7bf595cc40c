"""Step versions stored before migration 0003 read fine after it (``egress_widened`` empty),
and no stored egress value, however odd, makes a later read fail."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.api.step_bundles import manifest_doc
from ui_api.db import MIGRATIONS, create_engine, migrate, session_scope
from ui_api.steps.router import _detail, _out
from ui_api.steps.service import catalogue_page, versions_of

ROWS = [
    "INSERT INTO workspace (id, name, created_at) VALUES ('ws_old', 'old', :at)",
    "INSERT INTO step_version (workspace_id, name, version, digest, size, manifest, deprecated,"
    " deprecation_message, created_at) VALUES ('ws_old', 'test.echo', '1.0.0', 'sha256:00', 1,"
    " :manifest, false, '', :at)",
]


def test_versions_stored_before_the_upgrade_read_with_no_egress(empty_database: str) -> None:
    engine = create_engine(empty_database)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    old_manifest = manifest_doc()
    del old_manifest["egress"]  # pushed before manifests had egress
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        for statement in ROWS:
            connection.execute(
                sa.text(statement),
                {"at": datetime(2026, 1, 2, 3, 4, 5), "manifest": json.dumps(old_manifest)},
            )
    migrate(engine)
    with session_scope(engine) as session:
        [row] = versions_of(session, "ws_old", "test.echo")
        assert row.egress_widened == []
        out, detail = _out(row), _detail(row)
        assert (out.egress, out.egress_widened) == ([], [])
        assert (detail.egress, detail.egress_widened) == ([], [])
        entries, _ = catalogue_page(
            session, "ws_old", query=None, include_deprecated=False, limit=10, after=None
        )
        assert [e.egress for e in entries] == [[]]
    engine.dispose()


@pytest.mark.parametrize(
    ("stored_egress", "stored_widened"),
    [
        ("api.github.com", {"not": "a list"}),
        ([7, None, "a.com"], [1, "b.com", None]),
        (["https://now.refused.example/"], "text"),
        (None, None),
    ],
)
def test_odd_stored_egress_values_never_break_a_read(
    empty_database: str, stored_egress: object, stored_widened: object
) -> None:
    engine = create_engine(empty_database)
    migrate(engine)
    manifest = {**manifest_doc(), "egress": stored_egress}
    with engine.begin() as connection:
        connection.execute(sa.text(ROWS[0]), {"at": datetime(2026, 1, 2)})
        connection.execute(
            sa.text(
                "INSERT INTO step_version (workspace_id, name, version, digest, size, manifest,"
                " deprecated, deprecation_message, created_at, egress_widened) VALUES ('ws_old',"
                " 'test.echo', '1.0.0', 'sha256:00', 1, :manifest, false, '', :at, :widened)"
            ),
            {
                "at": datetime(2026, 1, 2),
                "manifest": json.dumps(manifest),
                "widened": json.dumps(stored_widened),
            },
        )
    with session_scope(engine) as session:
        [row] = versions_of(session, "ws_old", "test.echo")
        out, detail = _out(row), _detail(row)
        expected = (
            [e for e in stored_egress if isinstance(e, str)]
            if isinstance(stored_egress, list)
            else []
        )
        assert out.egress == detail.egress == expected
        assert all(isinstance(entry, str) for entry in out.egress_widened)
    engine.dispose()
