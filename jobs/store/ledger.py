"""The durable record of every paid task, on SQLite or PostgreSQL (jobs/store/db.py), in portable SQL.

Invariants this module enforces (reliability.md §5):

* intent before spend: a job row exists before its submit POST;
* a known task id is never cleared or replaced;
* a terminal state (downloaded, failed, canceled, expired) never changes, and downloaded outranks succeeded;
* every state change is logged in `events` with its time;
* leases (owner, expiry) decide which process drives a job (jobs/store/leases.py);
* budget reservations and account slots are checked and taken atomically (jobs/store/budget.py): SQLite's
  one writer, PostgreSQL's row lock per budget and per account.

Every read-then-write locks the job row it read (`for_update`), so two processes never both move one job.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jobs import permissions
from jobs.store import ledger_schema
from jobs.store.activity import ActivityQueries
from jobs.store.budget import BudgetQueries
from jobs.store.db import NO_LIMIT, Conn, Database
from jobs.store.history import HistoryQueries
from jobs.store.leases import LeaseQueries
from jobs.store.ledger_base import CHANNEL
from jobs.store.migrate import migrate
from jobs.store.model import (
    BACKENDS,
    GUARDED,
    JOB_FIELDS,
    NOT_NULL,
    SLOT_STATES,
    BudgetExceeded,
    Job,
    JobState,
    LedgerError,
    NotPermitted,
    row_to_job,
    to_db,
)
from jobs.store.open import open_database

_SEARCHED = ("recipe_json", "model_id", "task_id", "note", "id")
"""What History's search box looks in."""


class Ledger(LeaseQueries, BudgetQueries, ActivityQueries, HistoryQueries):
    """The jobs table and its rules. Safe to share between threads; several processes may open one file."""

    def __init__(self, target: str | Path | Database, *, busy_timeout_ms: int = 15000) -> None:
        """`target`: a SQLite file's path, a `postgresql://` URL, or an open Database (shared with other stores)."""
        if isinstance(target, (str, Path)):
            # synchronous=FULL: a recorded task id must survive a power cut, or we could pay twice.
            self._db = open_database(target, busy_timeout_ms=busy_timeout_ms, synchronous="FULL")
        else:
            self._db = target
        self.target: str | Path = getattr(self._db, "url", None) or self._db.path
        self.path: Path | None = getattr(self._db, "path", None)
        """The SQLite file, or None on PostgreSQL."""
        migrate(self._db, ledger_schema.COMPONENT, ledger_schema.STEPS)
        ledger_schema.check_columns(self._db)

    @property
    def database(self) -> Database:
        """For the stores that live beside the ledger (boards): one pool, one file."""
        return self._db

    def describe(self) -> str:
        """The backend and where (Settings): "PostgreSQL (host:5432/db)", never a credential."""
        return self._db.describe()

    @property
    def backend_name(self) -> str:
        """The backend alone (the sidebar): "SQLite" or "PostgreSQL"."""
        return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[self._db.dialect]

    def close(self) -> None:
        self._db.close()

    # --- creating jobs -----------------------------------------------------------------------------

    def create_job(self, **fields: Any) -> Job:
        """Write one intent row (state `waiting` unless given). An existing id returns the existing job."""
        return self.create_jobs([fields])[0]

    def create_jobs(self, specs: Sequence[dict[str, Any]], *, limit_usd: float | None = None,
                    period_start: float | None = None, person_limit_usd: float | None = None,
                    role: str | None = None) -> list[Job]:
        """Write intent rows for a whole run in one transaction, reserving each job's upper cost estimate.

        Ids already in the ledger (the same form request submitted twice) are returned as they are and
        reserve nothing again. Raises BudgetExceeded, writing nothing, when the new jobs would take the
        backend's spend since `period_start` past `limit_usd`, or an owner's own spend past `person_limit_usd`
        (checked per owner in the same transaction; jobs with no owner count only against the team). Each owned
        job keeps `person_limit_usd`, so a take the engine adds for it later (a fallback) is held to it too.

        `role`: the asking person's (jobs/identity.py); one that may not start takes (a viewer) raises
        NotPermitted, whatever the page showed. None (the CLI, a single user, the engine's own fallback) may.
        """
        if not permissions.allowed(role, permissions.GENERATE):
            owners = sorted({str(s.get("owner")) for s in specs if s.get("owner")}) or ["this person"]
            raise NotPermitted(f"role: {', '.join(owners)} is a {role}, and a {role} cannot start takes; "
                               "nothing was written")
        now = time.time()
        rows: list[dict[str, Any]] = []
        for spec in specs:
            unknown = set(spec) - set(JOB_FIELDS)
            if unknown:
                raise LedgerError(f"unknown job fields: {sorted(unknown)}")
            row = {"id": uuid.uuid4().hex, "take": 0, "state": JobState.WAITING, "created_at": now,
                   "updated_at": now, **spec}
            if person_limit_usd is not None and row.get("owner") and row.get("person_limit_usd") is None:
                row["person_limit_usd"] = person_limit_usd
            missing = [k for k in NOT_NULL if row.get(k) is None]
            if missing:
                raise LedgerError(f"missing job fields: {sorted(missing)}")
            if row["backend"] not in BACKENDS:
                raise LedgerError(f"backend: {row['backend']!r} is not one of {', '.join(BACKENDS)}")
            rows.append(row)
        ids: list[str] = []
        with self._write() as conn:
            for backend in sorted({r["backend"] for r in rows}):
                self._lock_budget(conn, backend)  # also serialises two creates of one id (a double submit)
            new_rows = [r for r in rows if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (r["id"],)).fetchone()
                        is None]
            if limit_usd is not None and new_rows:
                backend = new_rows[0]["backend"]
                spent = self._spent(conn, backend, period_start)
                requested = sum(float(r.get("est_high_usd") or 0.0) for r in new_rows)
                if spent + requested > limit_usd + 1e-9:
                    raise BudgetExceeded(
                        f"budget: this run needs up to ${requested:.2f} but ${spent:.2f} of the "
                        f"${limit_usd:.2f} limit is already spent or reserved ({backend})",
                        spent_usd=spent, requested_usd=requested, limit_usd=limit_usd)
            if person_limit_usd is not None and new_rows:
                backend = new_rows[0]["backend"]
                for owner in sorted({r.get("owner") for r in new_rows if r.get("owner")}):
                    requested = sum(float(r.get("est_high_usd") or 0.0) for r in new_rows if r.get("owner") == owner)
                    self._check_person(conn, backend, owner, requested, person_limit_usd, period_start)
            for row in new_rows:
                cols = list(row)
                conn.execute(f"INSERT INTO jobs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                             [to_db(c, row[c]) for c in cols])
                conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, NULL, ?, ?)",
                             (row["id"], now, str(row["state"]), "created"))
                if row.get("est_high_usd") is not None:
                    conn.execute(
                        "INSERT INTO reservations(job_id, backend, model_id, amount_usd, created_at, owner)"
                        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
                        (row["id"], row["backend"], row["model_id"], float(row["est_high_usd"]), now,
                         row.get("owner")))
            ids = [r["id"] for r in rows]
        return [self._require(i) for i in ids]

    # --- reading -----------------------------------------------------------------------------------

    def get_many(self, job_ids: Iterable[str]) -> list[Job]:
        ids = list(job_ids)
        if not ids:
            return []
        found: dict[str, Job] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._conn().execute(
                f"SELECT * FROM jobs WHERE id IN ({', '.join('?' for _ in chunk)})", chunk).fetchall()
            found.update((r["id"], row_to_job(r)) for r in rows)
        return [found[i] for i in ids if i in found]

    @staticmethod
    def _filters(states: Iterable[str] | None, run_id: str | None, model_id: str | None, text: str | None,
                 since: float | None, backend: str | None, flagged: bool = False,
                 owner: str | None = None) -> tuple[str, list[Any]]:
        clauses: list[str] = ["flags_json IS NOT NULL AND flags_json != '[]'"] if flagged else []
        params: list[Any] = []
        if states is not None:
            states = [str(s) for s in states]
            if not states:
                return "WHERE 1 = 0", []
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            params.extend(states)
        for column, value in (("run_id", run_id), ("model_id", model_id), ("backend", backend), ("owner", owner)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        if text:
            # LOWER on both sides: SQLite's LIKE ignores case, PostgreSQL's does not; History must not care.
            lowered = text.lower()
            pattern = "%" + lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append("(" + " OR ".join(f"LOWER({c}) LIKE ? ESCAPE '\\'" for c in _SEARCHED) + ")")
            params.extend([pattern] * len(_SEARCHED))
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list_jobs(self, states: Iterable[str] | None = None, run_id: str | None = None, model_id: str | None = None,
                  text: str | None = None, since: float | None = None, limit: int | None = None, offset: int = 0,
                  newest_first: bool = True, backend: str | None = None, flagged: bool = False,
                  owner: str | None = None) -> list[Job]:
        """`flagged`: only clips whose technical checks raised at least one flag; `owner`: only that person's."""
        where, params = self._filters(states, run_id, model_id, text, since, backend, flagged, owner)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT * FROM jobs {where} ORDER BY created_at {order}, run_id {order}, take {order}, id {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        elif offset:
            sql += " LIMIT ? OFFSET ?"
            params += [NO_LIMIT, int(offset)]
        return [row_to_job(r) for r in self._conn().execute(sql, params).fetchall()]

    def count_jobs(self, states: Iterable[str] | None = None, run_id: str | None = None, model_id: str | None = None,
                   text: str | None = None, since: float | None = None, backend: str | None = None,
                   flagged: bool = False, owner: str | None = None) -> int:
        where, params = self._filters(states, run_id, model_id, text, since, backend, flagged, owner)
        return int(self._conn().execute(f"SELECT COUNT(*) FROM jobs {where}", params).fetchone()[0])

    def unchecked_clips(self, limit: int = 500) -> list[Job]:
        """Downloaded clips the technical checks have not looked at yet (oldest first)."""
        rows = self._conn().execute(
            "SELECT * FROM jobs WHERE state = ? AND flags_json IS NULL AND clip_path IS NOT NULL "
            "ORDER BY downloaded_at LIMIT ?", (str(JobState.DOWNLOADED), int(limit))).fetchall()
        return [row_to_job(r) for r in rows]

    def events(self, job_id: str) -> list[dict[str, Any]]:
        rows = self._conn().execute(
            "SELECT at, from_state, to_state, detail FROM events WHERE job_id = ? ORDER BY seq", (job_id,)).fetchall()
        return [dict(r) for r in rows]

    def data_version(self) -> int:
        """Grows on every committed write from any process: a cheap cache key for the UI."""
        return self._db.version(CHANNEL)

    def active_count(self, key_fingerprint: str | None, base_url: str) -> int:
        """Jobs of one account holding a provider slot (submitting, queued or running)."""
        states = [str(s) for s in SLOT_STATES]
        row = self._conn().execute(
            f"SELECT COUNT(*) FROM jobs WHERE state IN ({', '.join('?' for _ in states)}) "
            "AND key_fingerprint IS NOT DISTINCT FROM ? AND base_url = ?",
            [*states, key_fingerprint, base_url]).fetchone()
        return int(row[0])

    def children(self, job_id: str) -> list[Job]:
        """Jobs created as fallbacks of this one."""
        rows = self._conn().execute("SELECT * FROM jobs WHERE parent_job_id = ? ORDER BY created_at",
                                    (job_id,)).fetchall()
        return [row_to_job(r) for r in rows]

    # --- state changes -----------------------------------------------------------------------------

    def transition(self, job_id: str, state: JobState | str, *, detail: str | None = None, **fields: Any) -> Job:
        """Move a job to `state`, setting `fields`, and log the change.

        A terminal job is returned unchanged (a late poll answer must not resurrect a stopped job);
        a known task id is never cleared or replaced; progress never goes down.
        """
        target = JobState(state)
        with self._write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?" + self._db.for_update, (job_id,)).fetchone()
            if row is None:
                raise LedgerError(f"no job with id {job_id!r}")
            current = JobState(row["state"])
            if current.terminal and target != current:
                conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                             (job_id, time.time(), str(current), str(current),
                              f"refused move to {target} (terminal)"))
                return row_to_job(row)
            # running is never reported back to queued (P5: statuses may go backwards)
            if current == JobState.RUNNING and target == JobState.QUEUED:
                target = current
            updates = self._checked_fields(row, fields)
            updates["state"] = str(target)
            updates["updated_at"] = time.time()
            if target.terminal or target in (JobState.STALE, JobState.SUBMIT_UNKNOWN):
                updates.setdefault("lease_owner", None)
                updates.setdefault("lease_expires_at", None)
            self._apply(conn, job_id, updates)
            if target != current or detail:
                conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                             (job_id, updates["updated_at"], str(current), str(target), detail))
            if target in (JobState.FAILED, JobState.CANCELED) and fields.get("charged") == "no":
                conn.execute("UPDATE reservations SET released = 1 WHERE job_id = ?", (job_id,))
        return self._require(job_id)

    def adopt_found_task(self, job_id: str, task_id: str, *, owner: str, ttl_s: float, **fields: Any) -> Job | None:
        """A `submit_unknown` job whose task was found at the provider (Kling, by our external_task_id): record the
        task id and move it to `queued` under `owner`'s lease, in one transaction. None if the job is no longer
        unknown (another process found it first, or the user acted)."""
        with self._write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?" + self._db.for_update, (job_id,)).fetchone()
            if row is None or row["state"] != JobState.SUBMIT_UNKNOWN or row["task_id"] is not None:
                return None
            now = time.time()
            updates = self._checked_fields(row, {"task_id": task_id, **fields})
            updates.update(state=str(JobState.QUEUED), updated_at=now, lease_owner=owner,
                           lease_expires_at=now + ttl_s, error_kind=None, error_message=None, charged=None)
            self._apply(conn, job_id, updates)
            conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                         (job_id, now, str(JobState.SUBMIT_UNKNOWN), str(JobState.QUEUED),
                          f"task id {task_id} found by the job's own id after an unclear submit"))
        return self._require(job_id)

    def cancel_unsent(self, job_id: str, *, note: str) -> Job | None:
        """Cancel a job only if it is still waiting with no task: one transaction, so a submit that starts
        at the same moment either wins (and this returns None) or never happens. Frees its reservation."""
        with self._write() as conn:
            now = time.time()
            changed = conn.execute(
                "UPDATE jobs SET state = ?, note = ?, charged = 'no', lease_owner = NULL, lease_expires_at = NULL, "
                "updated_at = ? WHERE id = ? AND state = ? AND task_id IS NULL",
                (str(JobState.CANCELED), note, now, job_id, str(JobState.WAITING))).rowcount
            if not changed:
                return None
            conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                         (job_id, now, str(JobState.WAITING), str(JobState.CANCELED), "canceled before sending"))
            conn.execute("UPDATE reservations SET released = 1 WHERE job_id = ?", (job_id,))
        return self._require(job_id)

    def update(self, job_id: str, **fields: Any) -> Job:
        """Set non-state fields (progress, note, kept, needs_key...) under the same rules as transition()."""
        with self._write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?" + self._db.for_update, (job_id,)).fetchone()
            if row is None:
                raise LedgerError(f"no job with id {job_id!r}")
            updates = self._checked_fields(row, fields)
            if updates:
                updates["updated_at"] = time.time()
                self._apply(conn, job_id, updates)
        return self._require(job_id)

    def record_task_id(self, job_id: str, task_id: str, *, submitted_at: float | None = None,
                       raw_status_json: str | None = None, **paths: str | None) -> Job:
        """Store the provider's task id the moment the submit answer arrives, before anything else.

        `paths` (poll_path, content_path) go in the same write: a job found after a crash with its
        task id can then be polled at once.
        """
        if not task_id:
            raise LedgerError("task_id: must not be empty")
        unknown = set(paths) - {"poll_path", "content_path"}
        if unknown:
            raise LedgerError(f"record_task_id: unexpected fields {sorted(unknown)} (allowed: poll_path, content_path)")
        fields: dict[str, Any] = {"task_id": task_id, "submitted_at": submitted_at or time.time(), **paths}
        if raw_status_json is not None:
            fields["raw_status_json"] = raw_status_json
        with self._write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?" + self._db.for_update, (job_id,)).fetchone()
            if row is None:
                raise LedgerError(f"no job with id {job_id!r}")
            if row["submitted_at"] is not None:
                fields.pop("submitted_at")
            updates = self._checked_fields(row, fields)
            updates["updated_at"] = time.time()
            self._apply(conn, job_id, updates)
            conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                         (job_id, updates["updated_at"], row["state"], row["state"], f"task id {task_id}"))
        return self._require(job_id)

    @staticmethod
    def _checked_fields(row: Any, fields: dict[str, Any]) -> dict[str, Any]:
        updates: dict[str, Any] = {}
        for name, value in fields.items():
            if name not in JOB_FIELDS or name in GUARDED:
                raise LedgerError(f"{name}: cannot be set here")
            if name == "task_id":
                known = row["task_id"]
                if value is None or value == known:
                    continue
                if known is not None:
                    raise LedgerError(f"task_id: job {row['id']} already has task id {known}; it is never replaced")
            if name == "progress" and value is not None:
                value = max(0, min(100, int(value)))
                if row["progress"] is not None:
                    value = max(int(row["progress"]), value)
            if name in ("submitted_at", "first_running_at", "detected_at") and row[name] is not None:
                continue  # first observation wins: these are "when did it first happen"
            updates[name] = to_db(name, value)
        return updates

    @staticmethod
    def _apply(conn: Conn, job_id: str, updates: dict[str, Any]) -> None:
        cols = list(updates)
        conn.execute(f"UPDATE jobs SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                     [updates[c] for c in cols] + [job_id])
