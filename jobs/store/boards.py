"""Boards: named sets of takes screened together, kept beside the ledger so a board survives restarts.

Every run of a recipe becomes a board on its own (`sync_runs`); any downloaded take can be added to any
board later. The tables live in the ledger's database (its SQLite file, or the team's PostgreSQL) but
belong to this module alone: the ledger never reads them, and this module only reads the ledger's `jobs`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs import settings
from jobs.store.db import Database
from jobs.store.migrate import Step, migrate
from jobs.store.open import open_database

NAME_MAX = 120

CHANNEL = "boards"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS boards (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        run_id TEXT UNIQUE,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        hidden INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS board_items (
        board_id TEXT NOT NULL,
        job_id TEXT NOT NULL,
        added_at REAL NOT NULL,
        removed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (board_id, job_id)
    )""",
    "CREATE INDEX IF NOT EXISTS board_items_job ON board_items(job_id)",
)
STEPS = (
    Step(1, "boards and their takes", sql=_SCHEMA),
    # NULL for boards made before, and for every board of a single-user app (nobody is signed in).
    Step(2, "who made each board", sql=("ALTER TABLE boards ADD COLUMN created_by TEXT",
                                        "CREATE INDEX IF NOT EXISTS boards_created_by ON boards(created_by)")),
)


class BoardError(ValueError):
    """A board request that cannot be honoured (unknown board, empty name)."""


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    run_id: str | None
    """Set for the board made automatically from one run."""
    created_at: float
    job_ids: tuple[str, ...]
    created_by: str | None = None
    """Who made it (a run's board: who started the run); None with no sign-in and for boards made before."""


class Boards:
    """Board storage beside the ledger. Thread-safe, like the ledger."""

    def __init__(self, target: str | Path | Database) -> None:
        self._owns_db = isinstance(target, (str, Path))
        """A Database handed in belongs to its owner (the ledger): closing this store leaves it open."""
        self._db = open_database(target) if isinstance(target, (str, Path)) else target
        migrate(self._db, "boards", STEPS)

    def _conn(self) -> Any:
        return self._db.read()

    def _write(self) -> Any:
        return self._db.write(CHANNEL)

    def close(self) -> None:
        if self._owns_db:
            self._db.close()

    def version(self) -> int:
        """Grows on every board change: with the ledger's data_version, the UI's cache key."""
        return self._db.version(CHANNEL)

    # --- runs become boards -------------------------------------------------------------------------

    def sync_runs(self) -> int:
        """Give every run in the ledger its board, and add a run's later jobs (fallbacks) to it. Returns new boards."""
        conn = self._conn()
        missing = conn.execute(
            "SELECT run_id, MIN(created_at) AS at, "
            "(SELECT j2.recipe_json FROM jobs j2 WHERE j2.run_id = j.run_id ORDER BY j2.created_at, j2.id LIMIT 1) "
            "AS recipe, "
            "(SELECT j3.owner FROM jobs j3 WHERE j3.run_id = j.run_id ORDER BY j3.created_at, j3.id LIMIT 1) "
            "AS owner "
            "FROM jobs j WHERE run_id NOT IN (SELECT run_id FROM boards WHERE run_id IS NOT NULL) GROUP BY run_id"
        ).fetchall()
        unlinked = conn.execute(
            "SELECT 1 FROM jobs j JOIN boards b ON b.run_id = j.run_id "
            "LEFT JOIN board_items i ON i.board_id = b.id AND i.job_id = j.id WHERE i.job_id IS NULL LIMIT 1"
        ).fetchone()
        if not missing and unlinked is None:
            return 0
        now = time.time()
        with self._write() as conn:
            for row in missing:
                conn.execute("INSERT INTO boards(id, name, run_id, created_at, updated_at, created_by) "
                             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                             (uuid.uuid4().hex, run_board_name(_prompt(row["recipe"]), row["at"]), row["run_id"],
                              row["at"] or now, now, row["owner"]))
            conn.execute(
                "INSERT INTO board_items(board_id, job_id, added_at) "
                "SELECT b.id, j.id, COALESCE(j.created_at, ?) FROM jobs j JOIN boards b ON b.run_id = j.run_id "
                "ON CONFLICT DO NOTHING", (now,))
        return len(missing)

    # --- reading ------------------------------------------------------------------------------------

    _ITEMS = ("SELECT i.board_id, i.job_id FROM board_items i LEFT JOIN jobs j ON j.id = i.job_id "
              "WHERE i.removed = 0{only} ORDER BY i.board_id, COALESCE(j.run_id, ''), j.created_at, j.model_id, "
              "j.take, i.added_at")

    def _items_of(self, board_ids: list[str] | None) -> dict[str, tuple[str, ...]]:
        """Every listed board's takes in one query (a query per board is a round trip each on PostgreSQL)."""
        if board_ids is not None and not board_ids:
            return {}
        only = "" if board_ids is None else f" AND i.board_id IN ({', '.join('?' for _ in board_ids)})"
        found: dict[str, list[str]] = {}
        for row in self._conn().execute(self._ITEMS.format(only=only), board_ids or []).fetchall():
            found.setdefault(row[0], []).append(row[1])
        return {board_id: tuple(jobs) for board_id, jobs in found.items()}

    def _boards(self, rows: list[Any], *, all_boards: bool = False) -> list[Board]:
        items = self._items_of(None if all_boards else [r["id"] for r in rows])
        return [Board(id=r["id"], name=r["name"], run_id=r["run_id"], created_at=r["created_at"],
                      job_ids=items.get(r["id"], ()), created_by=r["created_by"]) for r in rows]

    def _board(self, row: Any) -> Board:
        return self._boards([row])[0]

    def list(self, limit: int | None = None, *, created_by: str | None = None) -> list[Board]:
        """Newest first; only the boards `created_by` made, when given."""
        sql = "SELECT * FROM boards WHERE hidden = 0"
        params: list[object] = []
        if created_by is not None:
            sql += " AND created_by = ?"
            params.append(created_by)
        sql += " ORDER BY created_at DESC, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._conn().execute(sql, params).fetchall()
        # A long list reads every item once rather than naming hundreds of ids in one statement.
        return self._boards(rows, all_boards=limit is None or len(rows) > 200)

    def get(self, board_id: str) -> Board | None:
        row = self._conn().execute("SELECT * FROM boards WHERE id = ? AND hidden = 0", (board_id,)).fetchone()
        return self._board(row) if row else None

    def for_run(self, run_id: str) -> Board | None:
        row = self._conn().execute("SELECT * FROM boards WHERE run_id = ? AND hidden = 0", (run_id,)).fetchone()
        return self._board(row) if row else None

    def _require(self, board_id: str) -> Board:
        board = self.get(board_id)
        if board is None:
            raise BoardError(f"board: no board with id {board_id!r}")
        return board

    # --- editing ------------------------------------------------------------------------------------

    def create(self, name: str, job_ids: Iterable[str] = (), *, created_by: str | None = None) -> Board:
        """A board of picked takes; `created_by`: the signed-in person making it (None with no sign-in)."""
        name = _clean_name(name)
        board_id, now = uuid.uuid4().hex, time.time()
        with self._write() as conn:
            conn.execute("INSERT INTO boards(id, name, run_id, created_at, updated_at, created_by) "
                         "VALUES (?, ?, NULL, ?, ?, ?)", (board_id, name, now, now, created_by))
            for job_id in job_ids:
                conn.execute("INSERT INTO board_items(board_id, job_id, added_at) VALUES (?, ?, ?) "
                             "ON CONFLICT DO NOTHING", (board_id, job_id, now))
        return self._require(board_id)

    def add(self, board_id: str, job_ids: Iterable[str]) -> Board:
        """Add takes (again, if they were removed). Unknown boards raise BoardError."""
        self._require(board_id)
        now = time.time()
        with self._write() as conn:
            for job_id in job_ids:
                conn.execute("INSERT INTO board_items(board_id, job_id, added_at) VALUES (?, ?, ?) "
                             "ON CONFLICT(board_id, job_id) DO UPDATE SET removed = 0", (board_id, job_id, now))
            conn.execute("UPDATE boards SET updated_at = ? WHERE id = ?", (now, board_id))
        return self._require(board_id)

    def remove(self, board_id: str, job_id: str) -> Board:
        """Take a clip off the board; a run's own take stays off even when runs are synced again."""
        self._require(board_id)
        with self._write() as conn:
            conn.execute("UPDATE board_items SET removed = 1 WHERE board_id = ? AND job_id = ?", (board_id, job_id))
            conn.execute("UPDATE boards SET updated_at = ? WHERE id = ?", (time.time(), board_id))
        return self._require(board_id)

    def rename(self, board_id: str, name: str) -> Board:
        name = _clean_name(name)
        self._require(board_id)
        with self._write() as conn:
            conn.execute("UPDATE boards SET name = ?, updated_at = ? WHERE id = ?", (name, time.time(), board_id))
        return self._require(board_id)

    def delete(self, board_id: str) -> None:
        """Forget a board (its takes stay in the ledger). A deleted run board is not recreated by sync_runs."""
        with self._write() as conn:
            # A run board's row stays (hidden) so the run is not turned into a board again.
            conn.execute("UPDATE boards SET hidden = 1 WHERE id = ? AND run_id IS NOT NULL", (board_id,))
            conn.execute("DELETE FROM board_items WHERE board_id = ? AND board_id IN "
                         "(SELECT id FROM boards WHERE run_id IS NULL)", (board_id,))
            conn.execute("DELETE FROM boards WHERE id = ? AND run_id IS NULL", (board_id,))


def run_board_name(prompt: str | None, at: float | None) -> str:
    text = " ".join((prompt or "untitled").split())
    if len(text) > 48:
        text = text[:47] + "…"
    stamp = time.strftime("%Y-%m-%d %H:%M", _local(at).timetuple()) if at else ""
    return f"{text} · {stamp}" if stamp else text


def _clean_name(name: str) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise BoardError("name: a board needs a name (1 to 120 characters)")
    if len(text) > NAME_MAX:
        raise BoardError(f"name: at most {NAME_MAX} characters, got {len(text)}")
    return text


def _prompt(recipe_json: str | None) -> str | None:
    try:
        value = json.loads(recipe_json or "{}").get("prompt")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _local(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, settings.timezone())
