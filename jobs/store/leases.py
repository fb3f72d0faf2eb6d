"""Who drives a job: leases (owner, expiry) and the account slot taken when a submit starts.

A mixin of the Ledger (jobs/store/ledger.py): the same connection verbs, one concern. A worker claims a
batch with `SELECT … FOR UPDATE SKIP LOCKED`, so several workers rescanning together split the free
jobs between them instead of queuing on each other's row locks.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from jobs.store.ledger_base import LedgerBase
from jobs.store.model import ACTIVE_STATES, SLOT_STATES, Job, JobState, row_to_job


class LeaseQueries(LedgerBase):
    def claim(self, job_id: str, owner: str, ttl_s: float, *, steal_from: str | None = None) -> bool:
        """Take (or extend) the lease on an active job; False when another live owner holds it.

        `steal_from` names an owner known to be dead (same host, process gone): its lease is taken at once.
        """
        now = time.time()
        active = [str(s) for s in ACTIVE_STATES]
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE id = ? "
                f"AND state IN ({', '.join('?' for _ in active)}) "
                "AND (lease_owner IS NULL OR lease_owner = ? OR lease_owner = ? OR "
                "lease_expires_at IS NULL OR lease_expires_at < ?)",
                [owner, now + ttl_s, job_id, *active, owner, steal_from, now])
            return cur.rowcount == 1

    def begin_submit(self, job_id: str, *, owner: str, cap: int) -> Job | None:
        """Move a leased `waiting` job to `submitting` if its account has a free slot; None otherwise.

        The slot count and the move are one transaction, so two runners (or processes) sharing an
        account never pass the concurrency cap together.
        """
        slots = [str(s) for s in SLOT_STATES]
        with self._write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?" + self._db.for_update, (job_id,)).fetchone()
            if row is None or row["state"] != JobState.WAITING or row["lease_owner"] != owner:
                return None
            self._db.lock(conn, f"slots:{row['key_fingerprint'] or '-'}:{row['base_url']}")
            busy = conn.execute(
                f"SELECT COUNT(*) FROM jobs WHERE state IN ({', '.join('?' for _ in slots)}) "
                "AND key_fingerprint IS NOT DISTINCT FROM ? AND base_url = ?",
                [*slots, row["key_fingerprint"], row["base_url"]]
            ).fetchone()[0]
            if busy >= cap:
                return None
            now = time.time()
            conn.execute("UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?",
                         (str(JobState.SUBMITTING), now, job_id))
            conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                         (job_id, now, row["state"], str(JobState.SUBMITTING), "sending"))
        return self._require(job_id)

    def heartbeat(self, owner: str, ttl_s: float) -> int:
        """Extend every lease `owner` holds; returns how many."""
        with self._write() as conn:
            cur = conn.execute("UPDATE jobs SET lease_expires_at = ? WHERE lease_owner = ?",
                               (time.time() + ttl_s, owner))
            return cur.rowcount

    def claimable(self, owner: str) -> list[Job]:
        """Active jobs nobody else holds a live lease on, oldest first."""
        active = [str(s) for s in ACTIVE_STATES]
        rows = self._conn().execute(
            f"SELECT * FROM jobs WHERE state IN ({', '.join('?' for _ in active)}) "
            "AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at IS NULL OR lease_expires_at < ?) "
            "ORDER BY created_at, run_id, take", [*active, owner, time.time()]).fetchall()
        return [row_to_job(r) for r in rows]

    def release(self, owner: str, job_ids: Iterable[str] | None = None) -> int:
        """Give leases back (SIGTERM, shutdown): another process may take the jobs at once."""
        with self._write() as conn:
            if job_ids is None:
                cur = conn.execute("UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?",
                                   (owner,))
                return cur.rowcount
            count = 0
            for job_id in job_ids:
                count += conn.execute("UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL "
                                      "WHERE lease_owner = ? AND id = ?", (owner, job_id)).rowcount
            return count

    def claim_free(self, owner: str, ttl_s: float, *, limit: int, skip: Iterable[str] = ()) -> list[str]:
        """Lease up to `limit` active jobs nobody holds a live lease on, oldest first; returns their ids.

        Rows another worker is claiming at this instant are passed over (SKIP LOCKED), not waited for.
        """
        now = time.time()
        active = [str(s) for s in ACTIVE_STATES]
        skipped = list(skip)
        not_in = f" AND id NOT IN ({', '.join('?' for _ in skipped)})" if skipped else ""
        with self._write() as conn:
            rows = conn.execute(
                f"SELECT id FROM jobs WHERE state IN ({', '.join('?' for _ in active)}) "
                "AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at IS NULL OR lease_expires_at < ?)"
                f"{not_in} ORDER BY created_at, run_id, take LIMIT ?" + self._db.skip_locked,
                [*active, owner, now, *skipped, int(limit)]).fetchall()
            ids = [r[0] for r in rows]
            for job_id in ids:
                conn.execute("UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
                             (owner, now + ttl_s, job_id))
        return ids

    def hinted(self, owner: str) -> list[Job]:
        """Jobs `owner` holds that a callback marked "poll now" (jobs/callbacks.py)."""
        rows = self._conn().execute("SELECT * FROM jobs WHERE poll_hint IS NOT NULL AND lease_owner = ?",
                                    (owner,)).fetchall()
        return [row_to_job(r) for r in rows]
