"""What a worker says about its database (``STEPWELL_DATABASE_URL``) when it cannot use it.

A worker needs the API's database from its first second (its lease, the bundles, the secrets).
Some failures heal by waiting (the server is starting, a network blip: connection refused, a
timeout); others never do (the database does not exist, the password is refused, the URL does
not parse, its driver is not installed). :func:`cannot_heal` tells them apart, from the
driver's SQLSTATE where it gives one (PostgreSQL's error codes, appendix A of its manual) and
otherwise from the message. Every message names the setting and the URL with its password
masked (:func:`masked`).
"""

from __future__ import annotations

import sqlalchemy as sa

SETTING = "STEPWELL_DATABASE_URL"
# invalid_catalog_name, invalid_authorization_specification, invalid_password
_PERMANENT_SQLSTATES = frozenset({"3D000", "28000", "28P01"})
_PERMANENT_WORDS = (
    "does not exist",  # the database, or the role
    "authentication failed",
    "no password supplied",
    "unable to open database file",  # SQLite: a path it cannot create or open
)


class DatabaseUnusable(RuntimeError):
    """The worker cannot use its database; the message is one line naming the setting."""


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (or a note when it does not parse)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(not a database URL)"


def cannot_heal(exc: BaseException) -> bool:
    """True if waiting cannot fix ``exc`` (raised connecting to or using the database)."""
    if isinstance(exc, sa.exc.ArgumentError | ImportError):  # a bad URL, a missing driver
        return True
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PERMANENT_SQLSTATES:
        return True
    text = str(orig).lower()
    return any(words in text for words in _PERMANENT_WORDS)


def reason(exc: BaseException) -> str:
    """The driver's own message, on one line (SQLAlchemy's wrapper adds the SQL and a link)."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    return text or type(orig).__name__


def unusable(url: str, exc: BaseException, *, waited_s: float | None = None) -> DatabaseUnusable:
    """The error to exit with: what failed, the masked URL, and whether waiting was tried."""
    where = f"{SETTING}={masked(url)}"
    if waited_s is None:
        return DatabaseUnusable(f"cannot use the database {where}: {reason(exc)}")
    return DatabaseUnusable(
        f"the database {where} stayed unreachable for {waited_s:g} s "
        f"(STEPWELL_DATABASE_WAIT_S): {reason(exc)}"
    )
