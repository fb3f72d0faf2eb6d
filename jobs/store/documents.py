"""Small named documents every process of a deployment shares (the team's preferences), one row each.

The single-user setup keeps `prefs.json` in its data folder; with a team database the same JSON lives here,
so every app replica and worker reads the one budget, price list and switches.
"""

from __future__ import annotations

import time
from pathlib import Path

from jobs.store.db import Database
from jobs.store.migrate import Step, migrate
from jobs.store.open import open_database

STEPS = (Step(1, "named documents", sql=(
    "CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at REAL NOT NULL)",
)),)


class Documents:
    def __init__(self, target: str | Path | Database) -> None:
        self._owns_db = isinstance(target, (str, Path))
        """A Database handed in belongs to its owner (the ledger): closing this store leaves it open."""
        self._db = open_database(target) if isinstance(target, (str, Path)) else target
        migrate(self._db, "documents", STEPS)

    def get(self, name: str) -> str | None:
        row = self._db.read().execute("SELECT body FROM documents WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def put(self, name: str, body: str, *, only_if_missing: bool = False) -> bool:
        """Store `body`; with `only_if_missing`, keep an existing document (a second migration changes nothing)."""
        conflict = "DO NOTHING" if only_if_missing else \
            "DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at"
        with self._db.write("documents") as conn:
            cur = conn.execute(f"INSERT INTO documents(name, body, updated_at) VALUES (?, ?, ?) "
                               f"ON CONFLICT (name) {conflict}", (name, body, time.time()))
            return cur.rowcount == 1

    def close(self) -> None:
        if self._owns_db:
            self._db.close()
