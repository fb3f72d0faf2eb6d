"""Which database a target names: a `postgresql://` URL, else a SQLite file's path."""

from __future__ import annotations

from pathlib import Path

from jobs.store.db import Database, is_postgres_url


def open_database(target: str | Path, *, busy_timeout_ms: int = 15000, synchronous: str = "NORMAL") -> Database:
    """A PostgreSQL URL gives this process's shared pool for it; a path, a SQLite file of its own."""
    if is_postgres_url(target):
        from jobs.store.pg_db import shared_database  # psycopg is only imported by a team deployment

        return shared_database(str(target))
    from jobs.store.sqlite_db import SqliteDatabase

    return SqliteDatabase(target, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)
