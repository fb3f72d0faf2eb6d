"""`python -m jobs migrate`: copy a single-user data folder into the team's PostgreSQL, idempotently.

Every row keeps its id, so running it twice copies nothing the second time: jobs, boards, reviews, votes
and saved recipes are inserted only where their key is new, and a job's events and reservation come along
only with the job itself. The Activity table's settings changes have no id of their own (the target numbers
its rows): one is copied unless the target holds the same change (time, who, action, detail). The source files
are opened with today's code first, which upgrades an older file in place (jobs/store/migrate.py), so every
column the target has is there to read, who made each job, board, ballot and recipe included.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.store.db import Database

# (file, table) in the order foreign references need them; events and reservations follow jobs.
_TABLES: tuple[tuple[str, str], ...] = (
    ("ledger.sqlite3", "boards"),
    ("ledger.sqlite3", "board_items"),
    ("review.sqlite3", "reviews"),
    ("review.sqlite3", "votes"),
    ("review.sqlite3", "best_worst_votes"),
    ("library.sqlite3", "saved_recipes"),
    ("library.sqlite3", "recipe_runs"),
)


@dataclass
class Copied:
    """Per table: rows copied now, rows the target already had."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, table: str, new: int, had: int) -> None:
        n, h = self.counts.get(table, (0, 0))
        self.counts[table] = (n + new, h + had)

    def lines(self) -> list[str]:
        return [f"{table}: {new} copied, {had} already there" for table, (new, had) in self.counts.items()]


def _rows(path: Path, table: str) -> tuple[list[str], list[tuple]]:
    if not path.exists():
        return [], []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is None:
            return [], []
        cur = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 - table names come from _TABLES
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        conn.close()


def _target_columns(db: Database, table: str) -> set[str]:
    rows = db.read().execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                             "AND table_schema = current_schema()", (table,)).fetchall()
    return {r[0] for r in rows}


def _insert_many(db: Database, table: str, columns: list[str], rows: Iterable[tuple], *,
                 channel: str | None = None) -> tuple[int, int]:
    keep = [i for i, c in enumerate(columns) if c in _target_columns(db, table)]
    names = [columns[i] for i in keep]
    sql = (f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) "
           "ON CONFLICT DO NOTHING")
    new = had = 0
    with db.write(channel) as conn:
        for row in rows:
            if conn.execute(sql, [row[i] for i in keep]).rowcount == 1:
                new += 1
            else:
                had += 1
    return new, had


def copy_data_dir(data_dir: Path, db: Database, *,
                  rewrite_job: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Copied:
    """Copy the ledger (jobs, their events and reservations), boards, reviews, votes and the library.

    `rewrite_job`: with the clips moving to a bucket, each copied job gets the bucket's URLs instead of the
    local folder's (the storage key itself stays as it is).
    """
    report = Copied()
    ledger = data_dir / "ledger.sqlite3"
    columns, jobs = _rows(ledger, "jobs")
    new_ids: set[str] = set()
    if columns:
        id_at = columns.index("id")
        fresh = [r for r in jobs if db.read().execute("SELECT 1 FROM jobs WHERE id = ?", (r[id_at],)).fetchone()
                 is None]
        if rewrite_job is not None:
            fresh = [tuple(rewrite_job(dict(zip(columns, r, strict=True))).values()) for r in fresh]
        new, _ = _insert_many(db, "jobs", columns, fresh, channel="ledger")
        report.add("jobs", new, len(jobs) - len(fresh))
        new_ids = {r[id_at] for r in fresh}
        for table in ("events", "reservations"):
            cols, rows = _rows(ledger, table)
            if not cols:
                continue
            job_at = cols.index("job_id")
            if table == "events":  # the target numbers its own events; the source's seq would collide
                seq_at = cols.index("seq")
                cols = [c for i, c in enumerate(cols) if i != seq_at]
                rows = [tuple(v for i, v in enumerate(r) if i != seq_at) for r in rows]
                job_at = cols.index("job_id")
            wanted = [r for r in rows if r[job_at] in new_ids]
            new, had = _insert_many(db, table, cols, wanted, channel="ledger")
            report.add(table, new, had + len(rows) - len(wanted))
    for filename, table in _TABLES:
        cols, rows = _rows(data_dir / filename, table)
        if cols:
            new, had = _insert_many(db, table, cols, rows, channel="boards" if table.startswith("board") else None)
            report.add(table, new, had)
    _copy_activity(ledger, db, report)
    return report


_ACTIVITY = ("at", "who", "action", "detail", "cost_usd")


def _copy_activity(ledger: Path, db: Database, report: Copied) -> None:
    """Settings changes and sandbox faults (the Activity table's own rows; paid takes come with their jobs)."""
    cols, rows = _rows(ledger, "activity")
    if not cols:
        return
    at = [cols.index(c) for c in _ACTIVITY]
    # IS NOT DISTINCT FROM: `who` and `detail` are NULL with no sign-in, and NULL = NULL is never true.
    same = ("SELECT 1 FROM activity WHERE at = ? AND who IS NOT DISTINCT FROM ? AND action = ? "
            "AND detail IS NOT DISTINCT FROM ?")
    new = had = 0
    with db.write("ledger") as conn:
        for row in rows:
            values = [row[i] for i in at]
            if conn.execute(same, values[:4]).fetchone() is not None:
                had += 1
                continue
            conn.execute(f"INSERT INTO activity ({', '.join(_ACTIVITY)}) VALUES ({', '.join('?' for _ in at)})",
                         values)
            new += 1
    report.add("activity", new, had)
