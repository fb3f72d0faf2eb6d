"""The change listener on PostgreSQL survives losing its connection: a UI must never stop seeing changes."""

from __future__ import annotations

import time

import psycopg

from jobs.ledger import Ledger
from jobs.store.pg_db import PostgresDatabase


def _eventually(pred, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def _job(ledger: Ledger) -> None:
    ledger.create_job(run_id="r", model_id="sora-2", family="sora", backend="sandbox", base_url="http://x",
                      recipe_json="{}")


def test_a_dropped_listener_reconnects_and_later_writes_are_still_seen(pg_url: str) -> None:
    reader, writer = Ledger(PostgresDatabase(pg_url, pool_size=2)), Ledger(PostgresDatabase(pg_url, pool_size=2))
    try:
        before = reader.data_version()  # starts the listener
        with psycopg.connect(pg_url, autocommit=True) as admin:
            killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                   "datname = current_database() AND query LIKE 'LISTEN%'").fetchall()
        assert killed, "no listening connection was found"
        # Losing the connection counts as a change (anything may have happened meanwhile)...
        assert _eventually(lambda: reader.data_version() > before)
        # ...and once it is back, another process's write is heard again.
        def listening() -> bool:
            with psycopg.connect(pg_url, autocommit=True) as admin:
                return bool(admin.execute("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND query LIKE 'LISTEN%'").fetchall())
        assert _eventually(listening)
        after_reconnect = reader.data_version()
        _job(writer)
        assert _eventually(lambda: reader.data_version() > after_reconnect)
    finally:
        reader.close()
        writer.close()
