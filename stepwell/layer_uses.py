"""When each dependency layer was last used on a Docker engine, by any worker of this installation.

The sandbox reports each layer key it uses to a :class:`LayerUseRecorder` (a plain callable: the
sandbox knows no database). Recording only notes the key in memory, at most once a minute per key,
so the execution's path never waits on the database; the worker's background task writes the
noted keys to the ``layer_use`` table (:meth:`LayerUseRecorder.flush`) with the database's clock.
Layer garbage collection (sandbox.janitor.collect_layers) keeps every layer whose key
:func:`recently_used` returns, whichever worker used it.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from stepwell.leases import db_now
from ui_api.fleet.models import LayerUse

_USES = LayerUse.__table__  # type: ignore[attr-defined]
# A key already noted is noted again at most this often (seconds): the table only needs to be
# fresher than the garbage collection's maximum age (days).
RECORD_EVERY_S = 60.0


class LayerUseRecorder:
    """Notes layer keys used on one engine and writes them to ``layer_use`` on :meth:`flush`.

    Thread-safe; calling it never blocks on I/O.
    """

    def __init__(self, engine: sa.Engine, engine_id: str, every_s: float = RECORD_EVERY_S):
        self._engine = engine
        self.engine_id = engine_id
        self._every_s = every_s
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._noted: dict[str, float] = {}  # key -> time.monotonic() it was last noted

    def __call__(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._noted.get(key, float("-inf")) < self._every_s:
                return
            self._noted[key] = now
            self._pending.add(key)

    def flush(self) -> int:
        """Write the noted keys (now, by the database's clock); return how many.

        On failure the keys stay noted for the next flush, and the error is raised.
        """
        with self._lock:
            keys, self._pending = self._pending, set()
        try:
            for key in sorted(keys):
                record_use(self._engine, self.engine_id, key)
        except BaseException:
            with self._lock:
                self._pending |= keys
            raise
        return len(keys)


def record_use(engine: sa.Engine, engine_id: str, key: str) -> None:
    """Set ``key``'s last use on ``engine_id`` to now (insert or update)."""
    where = (_USES.c.engine_id == engine_id, _USES.c.layer_key == key)
    with engine.begin() as connection:
        now = db_now(connection)
        if connection.execute(_USES.update().where(*where).values(last_used_at=now)).rowcount:
            return
    try:
        with engine.begin() as connection:
            connection.execute(
                _USES.insert().values(engine_id=engine_id, layer_key=key, last_used_at=now)
            )
    except sa.exc.IntegrityError:  # another worker inserted it first: it is recorded
        return


def recently_used(engine: sa.Engine, engine_id: str, max_age_s: float) -> set[str]:
    """The layer keys used on ``engine_id`` within the last ``max_age_s`` seconds.

    Older rows are deleted on the way (their layers are about to go).
    """
    with engine.begin() as connection:
        since = db_now(connection) - timedelta(seconds=max_age_s)
        where = _USES.c.engine_id == engine_id
        rows = connection.execute(
            sa.select(_USES.c.layer_key).where(where, _USES.c.last_used_at > since)
        )
        keys = {str(row[0]) for row in rows}
        connection.execute(_USES.delete().where(where, _USES.c.last_used_at <= since))
    return keys
