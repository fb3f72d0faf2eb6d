"""Versioned schema migrations: numbered steps per component, recorded in `schema_versions`.

A component (the ledger, the boards, reviews, library) lists its steps once; `migrate()` applies the ones
a database has not had, each in its own transaction with its version bump, so a process that dies half
way leaves a database at a whole step. Step 1 of each component is today's schema written with
`IF NOT EXISTS`: a file made before versions existed passes through it unchanged and is then upgraded by
the steps after it. Two processes opening a new database at once are serialised (BEGIN IMMEDIATE on
SQLite, an advisory lock on PostgreSQL), so each step runs exactly once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jobs.store.db import Conn, Database

_VERSIONS = ("CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL, "
             "updated_at REAL NOT NULL)")


@dataclass(frozen=True)
class Step:
    version: int
    name: str
    sql: Sequence[str] = ()
    run: Callable[[Conn, Database], None] | None = None
    """Python for what SQL cannot say portably (e.g. inspecting an old SQLite file's columns)."""
    dialects: tuple[str, ...] = ("sqlite", "postgresql")
    """A step for one backend only is recorded as done on the other."""


def ddl(sql: str, dialect: str) -> str:
    """One table definition for both: SQLite's REAL and AUTOINCREMENT key, in PostgreSQL's words."""
    if dialect != "postgresql":
        return sql
    return (sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
               .replace(" REAL", " DOUBLE PRECISION"))


def current_version(db: Database, component: str) -> int:
    row = db.read().execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
    return int(row[0]) if row else 0


def migrate(db: Database, component: str, steps: Sequence[Step]) -> int:
    """Bring `component` up to its last step; returns the version it is at."""
    versions = [s.version for s in steps]
    if versions != sorted(set(versions)) or versions[0] != 1:
        raise ValueError(f"{component}: migration steps must be numbered 1, 2, 3… without gaps or repeats")
    with db.write() as conn:
        _serialise(db, conn, component)
        conn.execute(_VERSIONS)
    at = current_version(db, component)
    if at > versions[-1]:
        raise RuntimeError(f"{component}: the database is at schema version {at}, newer than this code knows "
                           f"({versions[-1]}); run the newer Dailies, or restore a backup")
    for step in steps:
        if step.version <= at:
            continue
        with db.write() as conn:
            _serialise(db, conn, component)
            row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
            if row is not None and int(row[0]) >= step.version:
                continue  # another process applied it while we waited
            if db.dialect in step.dialects:
                for statement in step.sql:
                    conn.execute(ddl(statement, db.dialect))
                if step.run is not None:
                    step.run(conn, db)
            conn.execute("INSERT INTO schema_versions(component, version, updated_at) VALUES (?, ?, ?) "
                         "ON CONFLICT(component) DO UPDATE SET version = excluded.version, "
                         "updated_at = excluded.updated_at", (component, step.version, time.time()))
        at = step.version
    return at


MIGRATION_LOCK_KEY = int.from_bytes(hashlib.blake2b(b"dailies-migrate", digest_size=8).digest(), "big",
                                    signed=True)
"""One key for every component: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against itself."""


def _serialise(db: Database, conn: Conn, component: str) -> None:
    advisory = getattr(db, "advisory_lock", None)
    if advisory is not None:
        advisory(conn, MIGRATION_LOCK_KEY)
