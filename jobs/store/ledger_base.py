"""What every part of the ledger shares: its database, the connection verbs, and reading one job by id."""

from __future__ import annotations

import contextlib

from jobs.store.db import Conn, Database
from jobs.store.model import Job, LedgerError, row_to_job

CHANNEL = "ledger"
"""The change counter the UI caches on; every ledger write bumps it."""


class LedgerBase:
    _db: Database

    def _conn(self) -> Conn:
        return self._db.read()

    def _write(self) -> contextlib.AbstractContextManager[Conn]:
        return self._db.write(CHANNEL)

    def get(self, job_id: str) -> Job | None:
        row = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row_to_job(row) if row else None

    def _require(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise LedgerError(f"no job with id {job_id!r}")
        return job
