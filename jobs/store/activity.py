"""Who did what: the Activity table (Settings → Activity). A mixin of the Ledger.

Paid actions are read from what already records them (each job's reservation: who, when, which model, the cost the
budget counts, including an estimate later replaced by the charge); settings changes are written here, one row per
save, naming the fields that changed. Nothing here is a secret: the key never reaches a settings change.
"""

from __future__ import annotations

import time
from typing import Any

from jobs.store.ledger_base import LedgerBase


class ActivityQueries(LedgerBase):
    def record_activity(self, who: str | None, action: str, detail: str, *, cost_usd: float | None = None) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO activity(at, who, action, detail, cost_usd) VALUES (?, ?, ?, ?, ?)",
                         (time.time(), who, action, detail, cost_usd))

    def activity(self, *, since: float | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Newest first: every run take that reserved money (sandbox takes say so) and every settings change."""
        paid = self._conn().execute(
            "SELECT r.created_at AS at, j.owner AS who, j.backend AS backend, j.model_id AS model_id, "
            "j.run_id AS run_id, j.id AS job_id, j.state AS state, r.amount_usd AS cost_usd, r.released AS released "
            "FROM reservations r JOIN jobs j ON j.id = r.job_id WHERE r.created_at >= ? "
            "ORDER BY r.created_at DESC LIMIT ?", (since or 0.0, int(limit))).fetchall()
        changes = self._conn().execute(
            "SELECT at, who, action, detail, cost_usd FROM activity WHERE at >= ? ORDER BY at DESC LIMIT ?",
            (since or 0.0, int(limit))).fetchall()
        rows: list[dict[str, Any]] = []
        for r in paid:
            kind = "sandbox take (simulated)" if r["backend"] == "sandbox" else "live take"
            refunded = " · released, not charged" if r["released"] else ""
            rows.append({"at": float(r["at"]), "who": r["who"], "action": kind,
                         "detail": f"{r['model_id']} · job {r['job_id'][:8]} · {r['state']}{refunded}",
                         "cost_usd": 0.0 if r["released"] else float(r["cost_usd"])})
        rows += [{"at": float(r["at"]), "who": r["who"], "action": r["action"], "detail": r["detail"],
                  "cost_usd": r["cost_usd"]} for r in changes]
        rows.sort(key=lambda row: row["at"], reverse=True)
        return rows[:limit]
