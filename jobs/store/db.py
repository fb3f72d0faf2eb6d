"""What every store sees of a database: read, write one transaction, lock a name, watch for changes.

Two backends implement it (jobs/store/sqlite_db.py, jobs/store/pg_db.py). The stores write one portable
SQL (`?` placeholders, `ON CONFLICT`, `IS NOT DISTINCT FROM`); the few places where the dialects differ
are attributes here (`for_update`, `skip_locked`) rather than `if` branches in every query.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
# An OFFSET without a LIMIT: SQLite wants LIMIT -1, PostgreSQL LIMIT ALL; both take a very large one.
NO_LIMIT = 2**62


class StoreError(Exception):
    """The database could not be reached or refused a statement for a reason that may pass (busy, dropped)."""


class Row:
    """One result row, readable by column name or position (like sqlite3.Row), for both backends."""

    __slots__ = ("_names", "_values", "_index")

    def __init__(self, names: Sequence[str], values: Sequence[Any], index: dict[str, int]) -> None:
        self._names = names
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, int):
            return self._values[key]
        return self._values[self._index[key]]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"


class Result:
    """A statement's rows, fetched in full (so a pooled connection goes back at once), and its row count."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return list(self._rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


class Database(Protocol):
    """A database the stores share. `channel` names a change counter (the ledger's, the boards')."""

    dialect: str
    for_update: str
    """Appended to a SELECT inside write(): locks the rows read, so read-check-update is atomic."""
    skip_locked: str
    """Appended to a SELECT inside write(): locks the rows read and passes over rows another writer holds."""

    def read(self) -> Conn: ...

    def write(self, channel: str | None = None) -> contextlib.AbstractContextManager[Conn]: ...

    def lock(self, conn: Conn, name: str) -> None:
        """Serialise every writer that takes `name` until this transaction ends (budget, account slots)."""

    def version(self, channel: str) -> int:
        """Grows whenever a write on `channel` commits, in this process or any other."""

    def describe(self) -> str:
        """What Settings shows: the backend and where, never a credential."""

    def close(self) -> None: ...


def is_postgres_url(target: str | Path | None) -> bool:
    return isinstance(target, str) and urlsplit(target).scheme in POSTGRES_SCHEMES


def redact_url(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db; also drops a password= query."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        cred, _, host = netloc.rpartition("@")
        user = cred.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in cred else f"{user}@{host}"
    query = "&".join("password=***" if q.lower().startswith("password=") else q
                     for q in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
