"""The team backend: PostgreSQL through psycopg 3, one bounded pool per process and URL.

* Statements are the stores' portable SQL with `?` placeholders, rewritten once to psycopg's `%s`.
* Reads borrow a pooled connection for one statement (autocommit); `write()` is one transaction.
* `lock(name)` takes a row lock on `locks(name)`: every writer that checks a budget or an account's slots
  takes the same row first, so the check and the insert are atomic across processes (READ COMMITTED
  otherwise lets two of them pass together).
* Change counters: each write sends `NOTIFY dailies, '<channel>'` inside its transaction (delivered at
  commit); one listener thread per process LISTENs and counts, so `version()` costs no query at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from jobs.store.db import Conn, Result, Row, StoreError, redact_url

log = logging.getLogger(__name__)

CHANNEL = "dailies"
POOL_ENV = "DAILIES_DB_POOL_SIZE"
DEFAULT_POOL_SIZE = 8
"""Per process: an app, a worker and the CLI each hold at most this many (PostgreSQL allows 100 in all)."""


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> str:
    """`?` -> `%s`, and a literal `%` doubled (the stores never put `?` or `%` inside string literals)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _row_factory(cursor: psycopg.Cursor) -> Any:
    names = [c.name for c in cursor.description or ()]
    index = {n: i for i, n in enumerate(names)}
    return lambda values: Row(names, values, index)


def libpq_url(url: str) -> str:
    """psycopg takes the plain libpq form; accept SQLAlchemy's `postgresql+psycopg://` spelling too."""
    scheme, sep, rest = url.partition("://")
    return ("postgresql" + sep + rest) if scheme in ("postgres", "postgresql+psycopg") else url


class _PgConn:
    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        try:
            cur = self._conn.execute(to_psycopg(sql), list(params) if params else None)
        except psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc
        rows = cur.fetchall() if cur.description else []
        return Result(rows, cur.rowcount)


class _PooledReader:
    """`read().execute(...)`: one statement on a borrowed connection, its rows fetched before it goes back."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        try:
            with self._pool.connection() as conn:
                return _PgConn(conn).execute(sql, params)
        except psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc


class PostgresDatabase:
    dialect = "postgresql"
    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        self.url = libpq_url(url)
        size = pool_size or int(os.environ.get(POOL_ENV) or DEFAULT_POOL_SIZE)
        self._pool = ConnectionPool(self.url, min_size=1, max_size=max(1, size), open=False, name="dailies",
                                    kwargs={"autocommit": True, "row_factory": _row_factory}, timeout=30.0)
        try:
            self._pool.open(wait=True, timeout=15.0)
        except PoolTimeout as exc:  # the server's own error is in the message
            self._pool.close()
            raise StoreError(f"PostgreSQL: cannot connect to {redact_url(self.url)}: {exc}") from None
        self._counts: dict[str, int] = {}
        self._epoch = 0
        """Grows when the listener reconnects: every channel's version moves, seen or not."""
        self._counts_lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._listen_conn: psycopg.Connection | None = None
        self._closed = threading.Event()
        self._refs = 1
        from jobs.store.migrate import MIGRATION_LOCK_KEY
        with self.write() as conn:
            self.advisory_lock(conn, MIGRATION_LOCK_KEY)
            conn.execute("CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY)")

    # --- statements ------------------------------------------------------------------------------

    def read(self) -> Conn:
        return _PooledReader(self._pool)

    @contextlib.contextmanager
    def write(self, channel: str | None = None) -> Iterator[Conn]:
        try:
            with self._pool.connection() as raw, raw.transaction():
                conn = _PgConn(raw)
                yield conn
                if channel:
                    raw.execute("SELECT pg_notify(%s, %s)", (CHANNEL, channel))
        except psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc
        if channel:
            self._bump(channel)  # our own change shows at once, before the notification comes back

    def lock(self, conn: Conn, name: str) -> None:
        conn.execute("INSERT INTO locks(name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
        conn.execute("SELECT name FROM locks WHERE name = ? FOR UPDATE", (name,))

    def advisory_lock(self, conn: Conn, key: int) -> None:
        """For schema migrations, before any table (even `locks`) may exist."""
        conn.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    # --- change counters ---------------------------------------------------------------------------

    def version(self, channel: str) -> int:
        self._ensure_listener()
        with self._counts_lock:
            return self._counts.get(channel, 0) + self._epoch

    def _bump(self, channel: str | None) -> None:
        with self._counts_lock:
            if channel is None:  # the listener lost its connection: anything may have changed, on any channel
                self._epoch += 1
            else:
                self._counts[channel] = self._counts.get(channel, 0) + 1

    def _ensure_listener(self) -> None:
        if self._listener is not None or self._closed.is_set():
            return
        with self._counts_lock:
            if self._listener is not None:
                return
            ready = threading.Event()
            self._listener = threading.Thread(target=self._listen, args=(ready,), name="dailies-pg-listen",
                                              daemon=True)
            self._listener.start()
        ready.wait(timeout=10.0)  # LISTEN is in place before the first version is handed out

    def _listen(self, ready: threading.Event) -> None:
        while not self._closed.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    self._listen_conn = conn
                    conn.execute(f"LISTEN {CHANNEL}")
                    ready.set()
                    while not self._closed.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._bump(note.payload or None)
            except psycopg.Error as exc:
                if self._closed.is_set():
                    return
                log.warning("change listener on %s lost its connection (%s); reconnecting",
                            redact_url(self.url), type(exc).__name__)
                self._bump(None)
                ready.set()
                self._closed.wait(1.0)

    # --- life cycle --------------------------------------------------------------------------------

    def describe(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or "local socket"
        port = f":{parts.port}" if parts.port else ""
        return f"PostgreSQL ({host}{port}{parts.path or ''})"

    def acquire(self) -> PostgresDatabase:
        self._refs += 1
        return self

    def close(self) -> None:
        self._refs -= 1
        if self._refs > 0:
            return
        _forget(self)
        self._closed.set()
        if self._listener is not None:
            self._listener.join(timeout=3.0)
        self._pool.close()


_shared: dict[str, PostgresDatabase] = {}
_shared_lock = threading.Lock()


def shared_database(url: str) -> PostgresDatabase:
    """One pool per process and URL: the ledger, boards, reviews and library of a process share it."""
    key = libpq_url(url)
    with _shared_lock:
        db = _shared.get(key)
        if db is not None:
            return db.acquire()
        db = PostgresDatabase(key)
        _shared[key] = db
        return db


def _after_fork_in_child() -> None:
    # A forked child must not use its parent's pooled sockets: it opens its own pool on first use.
    global _shared_lock
    _shared.clear()
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _forget(db: PostgresDatabase) -> None:
    with _shared_lock:
        if _shared.get(db.url) is db:
            del _shared[db.url]
