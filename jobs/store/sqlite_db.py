"""The single-user backend: one SQLite file shared by threads and processes.

A connection per thread (SQLite objects must not cross threads), WAL so readers run beside a writer, and
every write taken as the writer up front (`BEGIN IMMEDIATE`): that one lock makes each read-check-write
atomic across processes, so `lock()` has nothing left to do. Change counters live in a `changes` table
bumped inside the write, so another process's commit is seen by reading one row.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from jobs.store.db import Conn, StoreError

_CHANGES = "CREATE TABLE IF NOT EXISTS changes (channel TEXT PRIMARY KEY, value INTEGER NOT NULL)"
_BUMP = ("INSERT INTO changes(channel, value) VALUES (?, 1) "
         "ON CONFLICT(channel) DO UPDATE SET value = value + 1")


class _SqliteConn:
    """sqlite3's connection with its errors turned into StoreError where they may pass (busy, locked)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params=()) -> sqlite3.Cursor:  # noqa: ANN001 - sqlite3 takes any sequence
        try:
            return self._conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"SQLite: {exc}") from exc


class SqliteDatabase:
    dialect = "sqlite"
    for_update = ""
    skip_locked = ""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 15000, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self.write() as conn:
            conn.execute(_CHANGES)

    def _raw(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=self._busy_timeout_ms / 1000, isolation_level=None,
                                       check_same_thread=False)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
                conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"SQLite: cannot open {self.path}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def read(self) -> Conn:
        return _SqliteConn(self._raw())

    @contextlib.contextmanager
    def write(self, channel: str | None = None) -> Iterator[Conn]:
        raw = self._raw()
        conn = _SqliteConn(raw)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            if channel:
                conn.execute(_BUMP, (channel,))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                raw.execute("ROLLBACK")
            raise

    def lock(self, conn: Conn, name: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already made this transaction the file's only writer."""

    def version(self, channel: str) -> int:
        row = self.read().execute("SELECT value FROM changes WHERE channel = ?", (channel,)).fetchone()
        return int(row[0]) if row else 0

    def describe(self) -> str:
        return f"SQLite ({self.path})"

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
