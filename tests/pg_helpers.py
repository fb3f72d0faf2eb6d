"""PostgreSQL for tests: the server `scripts/ensure-postgres.sh` finds or starts, and a fresh database per test.

`make test` passes the server's base URL as `DAILIES_TEST_PG_URL`; a plain `pytest` runs the script itself, so
both start the same way. Databases are named `dailies_t_<prefix>_<unix time>_<pid>_<random>`: unique across
concurrent runs on one server, and the time in the name lets a later run drop what a killed run left behind.
Admin statements (CREATE/DROP DATABASE) run on the `postgres` database in autocommit, as they must.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

URL_ENV = "DAILIES_TEST_PG_URL"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ensure-postgres.sh"
NAME_PREFIX = "dailies_t_"
STALE_AFTER_S = 24 * 3600.0
_NAME_RE = re.compile(r"^dailies_t_(?:[a-z0-9_]*_)?(\d{10})_(\d+)_[0-9a-f]{8}$")
_MAX_NAME = 63  # PostgreSQL truncates identifiers beyond this

_lock = threading.Lock()
_created: set[str] = set()
_server: str | None = None


class PgUnavailable(RuntimeError):
    """No PostgreSQL to test against: the store tests fail (they are never skipped)."""


def server_url() -> str:
    """The server's base URL (`postgresql://postgres@127.0.0.1:PORT`), checked to accept a connection."""
    global _server
    with _lock:
        if _server is not None:
            return _server
        url = os.environ.get(URL_ENV, "").strip()
        if not url:
            done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not done.stdout.strip():
                raise PgUnavailable(f"{SCRIPT.name} found no PostgreSQL (exit {done.returncode}):\n{done.stderr}")
            url = done.stdout.strip().splitlines()[-1]
            os.environ[URL_ENV] = url  # processes the tests start (app, worker, CLI) use the same server
        base = _with_db(url, "")
        try:
            with _admin(base) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise PgUnavailable(f"{URL_ENV}={url}: no PostgreSQL answers there ({exc})") from exc
        _server = base
        return base


def database_url(base: str, dbname: str) -> str:
    return _with_db(base, dbname)


def create_database(prefix: str = "test", *, base: str | None = None, template: str = "template0") -> str:
    """A new, empty, uniquely named database; returns its libpq URL `postgresql://postgres@host:port/dbname`.

    `template0` by default: nobody can be connected to it, so CREATE DATABASE never fails because another
    session sits in template1. A caller with a prepared schema may pass its own template database.
    FILE_COPY (PostgreSQL 15+): from template0 it took 12-38 ms here, WAL_LOG 110-210 ms (notes/12-pginfra.md).
    """
    base = base or server_url()
    name = new_name(prefix)
    with _admin(base) as conn:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} ENCODING 'UTF8'").format(
            sql.Identifier(name), sql.Identifier(template))
        if conn.info.server_version >= 150000:
            statement += sql.SQL(" STRATEGY FILE_COPY")
        conn.execute(statement)
    url = database_url(base, name)
    with _lock:
        _created.add(url)
    return url


def drop_database(url: str) -> None:
    """Drop the database (closing any connection a test left open); a database already gone is fine."""
    name = _dbname(url)
    if not name.startswith(NAME_PREFIX):
        raise ValueError(f"url: {url} is not a test database (names start with {NAME_PREFIX})")
    with _admin(_with_db(url, "")) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    with _lock:
        _created.discard(url)


def drop_created() -> list[str]:
    """Drop every database this process created and has not dropped yet (the end of a test session)."""
    with _lock:
        pending = sorted(_created)
    for url in pending:
        drop_database(url)
    return pending


def created() -> set[str]:
    with _lock:
        return set(_created)


def list_test_databases(base: str) -> list[str]:
    with _admin(base) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'dailies\\_t\\_%' ORDER BY 1")
        return [r[0] for r in rows]


def sweep_stale(base: str | None = None, *, older_than_s: float = STALE_AFTER_S,
                now: float | None = None) -> list[str]:
    """Drop test databases whose name says they were made more than `older_than_s` ago (a run killed before
    its cleanup). Younger ones may belong to a run still going on this server, and stay."""
    base = base or server_url()
    cutoff = (time.time() if now is None else now) - older_than_s
    dropped = []
    for name in list_test_databases(base):
        found = _NAME_RE.match(name)
        if found and int(found.group(1)) < cutoff:
            drop_database(database_url(base, name))
            dropped.append(name)
    return dropped


def new_name(prefix: str, *, at: float | None = None) -> str:
    clean = re.sub(r"[^a-z0-9_]+", "_", prefix.lower()).strip("_")
    tail = f"_{int(time.time() if at is None else at):010d}_{os.getpid()}_{secrets.token_hex(4)}"
    room = _MAX_NAME - len(NAME_PREFIX) - len(tail)
    clean = clean[:room].rstrip("_")
    return f"{NAME_PREFIX}{clean}{tail}" if clean else f"{NAME_PREFIX.rstrip('_')}{tail}"


def _admin(base: str) -> psycopg.Connection:
    return psycopg.connect(_with_db(base, "postgres"), autocommit=True, connect_timeout=10)


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise PgUnavailable(f"{URL_ENV}: {url!r} is not a postgresql://user@host:port URL")
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}" if dbname else "", parts.query, ""))


def _dbname(url: str) -> str:
    return urlsplit(url).path.lstrip("/")
