"""The money rules: reservations against a budget per backend (sandbox and live are separate pots).

A mixin of the Ledger. Every check-then-reserve takes the backend's budget lock first (`_lock_budget`):
on SQLite the file's single writer already serialises it, on PostgreSQL a row lock does, so two app
replicas, a worker and the CLI can never pass the limit together. A reservation carries its job's owner: a
person's limit inside the team's is checked in the same transaction, under the same lock, so two tabs of one
person can no more pass their share than two people can pass the team's. Times are stored as Unix seconds (UTC);
days are cut in one configured zone, so every process agrees on what "today" spent.
"""

from __future__ import annotations

import datetime as dt
import time

from jobs import settings
from jobs.store.db import Conn
from jobs.store.ledger_base import LedgerBase
from jobs.store.model import BACKENDS, BudgetExceeded, LedgerError


class BudgetQueries(LedgerBase):
    def _lock_budget(self, conn: Conn, backend: str) -> None:
        self._db.lock(conn, f"budget:{backend}")

    @staticmethod
    def _spent(conn: Conn, backend: str, period_start: float | None, owner: str | None = None) -> float:
        """The backend's spend and reservations since `period_start`; only `owner`'s when given."""
        sql = ("SELECT COALESCE(SUM(amount_usd), 0) FROM reservations WHERE backend = ? AND released = 0 "
               "AND created_at >= ?")
        params: list[object] = [backend, period_start or 0.0]
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        return float(conn.execute(sql, params).fetchone()[0])

    def _check_person(self, conn: Conn, backend: str, owner: str | None, requested: float,
                      person_limit_usd: float | None, period_start: float | None) -> None:
        """Raise BudgetExceeded when `owner`'s own spend would pass their limit (the caller holds the budget lock)."""
        if person_limit_usd is None or owner is None or requested <= 0:
            return
        mine = self._spent(conn, backend, period_start, owner)
        if mine + requested > person_limit_usd + 1e-9:
            raise BudgetExceeded(
                f"per-person budget: this run needs up to ${requested:.2f} but ${mine:.2f} of your "
                f"${person_limit_usd:.2f} per-person limit is already spent or reserved ({backend}); the team "
                "budget is not what refused it", spent_usd=mine, requested_usd=requested,
                limit_usd=person_limit_usd)

    def reserve(self, job_id: str, amount_usd: float, *, limit_usd: float | None, period_start: float | None,
                backend: str, model_id: str | None = None) -> bool:
        """Atomically reserve `amount_usd` for a job unless that passes `limit_usd` for the period.

        Sandbox and live spend are separate pots: a reservation only counts against its own backend.
        Re-reserving for the same job replaces its amount.
        """
        if backend not in BACKENDS:
            raise LedgerError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
        with self._write() as conn:
            self._lock_budget(conn, backend)
            existing = conn.execute("SELECT amount_usd FROM reservations WHERE job_id = ? AND released = 0",
                                    (job_id,)).fetchone()
            spent = self._spent(conn, backend, period_start) - (float(existing[0]) if existing else 0.0)
            if limit_usd is not None and spent + amount_usd > limit_usd + 1e-9:
                return False
            found = conn.execute("SELECT model_id, owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if model_id is None:
                model_id = found[0] if found else "unknown"
            owner = found[1] if found else None
            conn.execute("INSERT INTO reservations(job_id, backend, model_id, amount_usd, created_at, released, owner) "
                         "VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT (job_id) DO UPDATE SET backend = excluded.backend, "
                         "model_id = excluded.model_id, amount_usd = excluded.amount_usd, "
                         "created_at = excluded.created_at, released = 0",
                         (job_id, backend, model_id, amount_usd, time.time(), owner))
            return True

    def release_reservation(self, job_id: str) -> None:
        """Give a reservation back (the task was refused before anything was charged)."""
        with self._write() as conn:
            conn.execute("UPDATE reservations SET released = 1 WHERE job_id = ?", (job_id,))

    def spend_total(self, backend: str, *, since: float | None = None, owner: str | None = None) -> float:
        """Spent or reserved since `since`: the whole team's, or only `owner`'s."""
        return self._spent(self._conn(), backend, since, owner)

    def spend_by_model(self, backend: str, *, since: float | None = None) -> dict[str, float]:
        rows = self._conn().execute(
            "SELECT model_id, SUM(amount_usd) FROM reservations WHERE backend = ? AND released = 0 AND created_at >= ? "
            "GROUP BY model_id ORDER BY model_id", (backend, since or 0.0)).fetchall()
        return {r[0]: float(r[1]) for r in rows}

    def spend_by_day(self, backend: str, *, since: float | None = None) -> dict[str, float]:
        """Spend per calendar day (YYYY-MM-DD) in the configured time zone (DAILIES_TIMEZONE)."""
        rows = self._conn().execute(
            "SELECT created_at, amount_usd FROM reservations WHERE backend = ? AND released = 0 AND created_at >= ?",
            (backend, since or 0.0)).fetchall()
        zone = settings.timezone()
        days: dict[str, float] = {}
        for at, amount in rows:
            day = dt.datetime.fromtimestamp(float(at), zone).strftime("%Y-%m-%d")
            days[day] = days.get(day, 0.0) + float(amount)
        return dict(sorted(days.items()))
