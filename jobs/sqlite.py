"""One SQLite file shared by threads and processes: a connection per thread, WAL, writes as one transaction.

The ledger, the boards and the team tables (reviews, votes, prompt library) all open their files here,
so the connection rules live in one place (and move to one place when the ledger goes to PostgreSQL).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path


class SqliteFile:
    """A SQLite file shared by every browser session and process; each thread gets its own connection."""

    def __init__(self, path: str | Path, schema: Sequence[str], *, busy_timeout_ms: int = 15000,
                 synchronous: str = "NORMAL", before_commit: str | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._synchronous = synchronous
        # e.g. bump a change counter inside every write, so readers can cache on it
        self._before_commit = before_commit
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self.write() as conn:
            for statement in schema:
                conn.execute(statement)

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_ms / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken as the writer up front so read-then-write checks are atomic."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            if self._before_commit:
                conn.execute(self._before_commit)
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()


class SqliteBacked:
    """For a store that keeps its tables in a SqliteFile at `self._db`: the connection verbs, once."""

    _db: SqliteFile

    def _conn(self) -> sqlite3.Connection:
        return self._db.conn()

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._db.write()

    def close(self) -> None:
        self._db.close()
