"""The durable record of every paid task: one SQLite file shared by every process, plain portable SQL.

Invariants this module enforces (reliability.md §5):

* intent before spend: a job row exists before its submit POST;
* a known task id is never cleared or replaced;
* a terminal state (downloaded, failed, canceled, expired) never changes, and downloaded outranks succeeded;
* every state change is logged in `events` with its time;
* leases (owner, expiry) decide which process drives a job;
* budget reservations are taken under `BEGIN IMMEDIATE`, so two processes cannot overspend together.

Connections are per thread (SQLite objects must not cross threads); WAL lets readers run beside a writer.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from jobs.sqlite import SqliteBacked, SqliteFile


class JobState(StrEnum):
    WAITING = "waiting"
    SUBMITTING = "submitting"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DOWNLOADED = "downloaded"
    FAILED = "failed"
    CANCELED = "canceled"
    STALE = "stale"
    SUBMIT_UNKNOWN = "submit_unknown"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        """Final: the ledger refuses to move the job anywhere else."""
        return self in TERMINAL_STATES

    @property
    def active(self) -> bool:
        """A runner drives it (submits, polls or downloads) without a user action."""
        return self in ACTIVE_STATES


TERMINAL_STATES = frozenset({JobState.DOWNLOADED, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED})
ACTIVE_STATES = frozenset({JobState.WAITING, JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING,
                           JobState.SUCCEEDED})
# States that hold a provider concurrency slot (Kling: from submit until the task ends).
SLOT_STATES = frozenset({JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING})
# Where a job has been paid for but no clip is on disk yet: the UI counts these so loss is never silent.
ATTENTION_STATES = frozenset({JobState.STALE, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED})

BACKENDS = ("sandbox", "live")
LINK_KINDS = ("extend", "retry", "remix", "fallback")
"""What a `parent_job_id` means: a continuation, a second try, a Sora remix, or another model taking over."""


class LedgerError(Exception):
    """A request the ledger refuses: it would break one of the invariants above."""


class BudgetExceeded(LedgerError):
    """Reserving this cost would take the period's spend past the limit."""

    def __init__(self, message: str, *, spent_usd: float, requested_usd: float, limit_usd: float) -> None:
        super().__init__(message)
        self.spent_usd = spent_usd
        self.requested_usd = requested_usd
        self.limit_usd = limit_usd


@dataclass(frozen=True)
class Job:
    id: str
    run_id: str
    take: int
    model_id: str
    family: str
    backend: str
    base_url: str
    key_fingerprint: str | None
    recipe_json: str
    options_json: str = "{}"
    mapping_json: str = "{}"
    poll_path: str | None = None
    content_path: str | None = None
    task_id: str | None = None
    state: JobState = JobState.WAITING
    progress: int | None = None
    est_low_usd: float | None = None
    est_high_usd: float | None = None
    error_kind: str | None = None
    error_message: str | None = None
    charged: str | None = None
    raw_status_json: str | None = None
    created_at: float | None = None
    submitted_at: float | None = None
    first_running_at: float | None = None
    provider_finished_at: float | None = None
    detected_at: float | None = None
    downloaded_at: float | None = None
    updated_at: float | None = None
    clip_path: str | None = None
    """The clip's storage key in the clip store; older ledgers hold an absolute path, read as a local file."""
    clip_url: str | None = None
    clip_sha256: str | None = None
    clip_meta_json: str | None = None
    thumb_url: str | None = None
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    deadline_at: float | None = None
    fallback_model: str | None = None
    parent_job_id: str | None = None
    link_kind: str | None = None
    """How a child take came from its parent (LINK_KINDS); None for a take with no parent."""
    kept: int | None = None
    note: str | None = None
    needs_key: bool = False
    time_scale: float = 1.0
    budget_limit_usd: float | None = None
    budget_period_start: float | None = None
    flags_json: str | None = None
    """Technical flags of the downloaded clip (jobs/checks): None until checked, "[]" when it raised none."""
    poll_hint: str | None = None
    """Set by a worker's callback endpoint (the task id the callback named): the lease holder polls at once and
    clears it. Only a hint, never the result: the status endpoint decides (jobs/callbacks.py)."""

    @property
    def recipe(self) -> dict[str, Any]:
        return json.loads(self.recipe_json)

    @property
    def options(self) -> dict[str, Any]:
        return json.loads(self.options_json or "{}")

    @property
    def mapping(self) -> dict[str, Any]:
        return json.loads(self.mapping_json or "{}")

    @property
    def clip_meta(self) -> dict[str, Any]:
        return json.loads(self.clip_meta_json) if self.clip_meta_json else {}

    @property
    def raw_status(self) -> dict[str, Any]:
        return json.loads(self.raw_status_json) if self.raw_status_json else {}

    @property
    def flags(self) -> list[dict[str, Any]]:
        return json.loads(self.flags_json) if self.flags_json else []


JOB_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Job))
_REAL = {"est_low_usd", "est_high_usd", "created_at", "submitted_at", "first_running_at", "provider_finished_at",
         "detected_at", "downloaded_at", "updated_at", "lease_expires_at", "deadline_at", "time_scale",
         "budget_limit_usd", "budget_period_start"}
_INT = {"take", "progress", "kept"}
_NOT_NULL = {"id", "run_id", "take", "model_id", "family", "backend", "base_url", "recipe_json", "state"}
# Fields a caller may not set through transition()/update(): they have their own methods.
_GUARDED = {"id", "state", "lease_owner", "lease_expires_at", "created_at", "updated_at"}


def _column_sql(name: str) -> str:
    if name == "needs_key":
        return "needs_key INTEGER NOT NULL DEFAULT 0"
    if name == "time_scale":
        return "time_scale REAL NOT NULL DEFAULT 1.0"
    kind = "REAL" if name in _REAL else "INTEGER" if name in _INT else "TEXT"
    suffix = " PRIMARY KEY" if name == "id" else " NOT NULL" if name in _NOT_NULL else ""
    return f"{name} {kind}{suffix}"


_SCHEMA = [
    f"CREATE TABLE IF NOT EXISTS jobs ({', '.join(_column_sql(n) for n in JOB_FIELDS)})",
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state)",
    "CREATE INDEX IF NOT EXISTS jobs_run ON jobs(run_id)",
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_task ON jobs(task_id)",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        at REAL NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        detail TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS events_job ON events(job_id)",
    """CREATE TABLE IF NOT EXISTS reservations (
        job_id TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        model_id TEXT NOT NULL,
        amount_usd REAL NOT NULL,
        created_at REAL NOT NULL,
        released INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS reservations_time ON reservations(backend, created_at)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('data_version', 0)",
]


def _to_db(name: str, value: Any) -> Any:
    if isinstance(value, StrEnum):
        return str(value)
    if name == "needs_key":
        return 1 if value else 0
    if isinstance(value, bool):
        return int(value)
    return value


def _row_to_job(row: sqlite3.Row) -> Job:
    values = {k: row[k] for k in row.keys() if k in JOB_FIELDS}  # noqa: SIM118 - sqlite3.Row has no iteration of keys
    values["state"] = JobState(values["state"])
    values["needs_key"] = bool(values.get("needs_key"))
    return Job(**values)


class Ledger(SqliteBacked):
    """The jobs table and its rules. Safe to share between threads; several processes may open one file."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 15000) -> None:
        self.path = Path(path)
        # synchronous=FULL: a recorded task id must survive a power cut, or we could pay twice.
        self._db = SqliteFile(self.path, _SCHEMA, busy_timeout_ms=busy_timeout_ms, synchronous="FULL",
                              before_commit="UPDATE meta SET value = value + 1 WHERE key = 'data_version'")
        self._add_new_columns()

    def _add_new_columns(self) -> None:
        """Migration: a ledger file written before a Job field existed gets that column (NULL for old rows)."""
        with self._write() as conn:
            have = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
            for name in JOB_FIELDS:
                if name not in have:
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {_column_sql(name)}")
            if "link_kind" not in have:
                # Children written before links had kinds: a remix says so in its mapping, a retry keeps the
                # model, a fallback changed it.
                conn.execute("""UPDATE jobs SET link_kind = CASE
                    WHEN mapping_json LIKE '%"remix_of"%' THEN 'remix'
                    WHEN model_id = (SELECT p.model_id FROM jobs p WHERE p.id = jobs.parent_job_id) THEN 'retry'
                    ELSE 'fallback' END WHERE parent_job_id IS NOT NULL""")

    # --- creating jobs -----------------------------------------------------------------------------

    def create_job(self, **fields: Any) -> Job:
        """Write one intent row (state `waiting` unless given). An existing id returns the existing job."""
        return self.create_jobs([fields])[0]

    def create_jobs(self, specs: Sequence[dict[str, Any]], *, limit_usd: float | None = None,
                    period_start: float | None = None) -> list[Job]:
        """Write intent rows for a whole run in one transaction, reserving each job's upper cost estimate.

        Ids already in the ledger (the same form request submitted twice) are returned as they are and
        reserve nothing again. Raises BudgetExceeded, writing nothing, when the new jobs would take the
        backend's spend since `period_start` past `limit_usd`.
        """
        now = time.time()
        rows: list[dict[str, Any]] = []
        for spec in specs:
            unknown = set(spec) - set(JOB_FIELDS)
            if unknown:
                raise LedgerError(f"unknown job fields: {sorted(unknown)}")
            row = {"id": uuid.uuid4().hex, "take": 0, "state": JobState.WAITING, "created_at": now,
                   "updated_at": now, **spec}
            missing = [k for k in _NOT_NULL if row.get(k) is None]
            if missing:
                raise LedgerError(f"missing job fields: {sorted(missing)}")
            if row["backend"] not in BACKENDS:
                raise LedgerError(f"backend: {row['backend']!r} is not one of {', '.join(BACKENDS)}")
            rows.append(row)
        ids: list[str] = []
        with self._write() as conn:
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
            for row in new_rows:
                cols = list(row)
                conn.execute(f"INSERT INTO jobs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                             [_to_db(c, row[c]) for c in cols])
                conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, NULL, ?, ?)",
                             (row["id"], now, str(row["state"]), "created"))
                if row.get("est_high_usd") is not None:
                    conn.execute(
                        "INSERT OR IGNORE INTO reservations(job_id, backend, model_id, amount_usd, created_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (row["id"], row["backend"], row["model_id"], float(row["est_high_usd"]), now))
            ids = [r["id"] for r in rows]
        return [self._require(i) for i in ids]

    # --- reading -----------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        row = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row_to_job(row) if row else None

    def _require(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise LedgerError(f"no job with id {job_id!r}")
        return job

    def get_many(self, job_ids: Iterable[str]) -> list[Job]:
        ids = list(job_ids)
        if not ids:
            return []
        found: dict[str, Job] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._conn().execute(
                f"SELECT * FROM jobs WHERE id IN ({', '.join('?' for _ in chunk)})", chunk).fetchall()
            found.update((r["id"], _row_to_job(r)) for r in rows)
        return [found[i] for i in ids if i in found]

    @staticmethod
    def _filters(states: Iterable[str] | None, run_id: str | None, model_id: str | None, text: str | None,
                 since: float | None, backend: str | None, flagged: bool = False) -> tuple[str, list[Any]]:
        clauses: list[str] = ["flags_json IS NOT NULL AND flags_json != '[]'"] if flagged else []
        params: list[Any] = []
        if states is not None:
            states = [str(s) for s in states]
            if not states:
                return "WHERE 0", []
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            params.extend(states)
        for column, value in (("run_id", run_id), ("model_id", model_id), ("backend", backend)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append("(recipe_json LIKE ? ESCAPE '\\' OR model_id LIKE ? ESCAPE '\\' OR task_id LIKE ? "
                           "ESCAPE '\\' OR note LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\')")
            params.extend([pattern] * 5)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def list_jobs(self, states: Iterable[str] | None = None, run_id: str | None = None, model_id: str | None = None,
                  text: str | None = None, since: float | None = None, limit: int | None = None, offset: int = 0,
                  newest_first: bool = True, backend: str | None = None, flagged: bool = False) -> list[Job]:
        """`flagged`: only clips whose technical checks raised at least one flag."""
        where, params = self._filters(states, run_id, model_id, text, since, backend, flagged)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT * FROM jobs {where} ORDER BY created_at {order}, run_id {order}, take {order}, id {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        elif offset:
            sql += " LIMIT -1 OFFSET ?"
            params.append(int(offset))
        return [_row_to_job(r) for r in self._conn().execute(sql, params).fetchall()]

    def count_jobs(self, states: Iterable[str] | None = None, run_id: str | None = None, model_id: str | None = None,
                   text: str | None = None, since: float | None = None, backend: str | None = None,
                   flagged: bool = False) -> int:
        where, params = self._filters(states, run_id, model_id, text, since, backend, flagged)
        return int(self._conn().execute(f"SELECT COUNT(*) FROM jobs {where}", params).fetchone()[0])

    def unchecked_clips(self, limit: int = 500) -> list[Job]:
        """Downloaded clips the technical checks have not looked at yet (oldest first)."""
        rows = self._conn().execute(
            "SELECT * FROM jobs WHERE state = ? AND flags_json IS NULL AND clip_path IS NOT NULL "
            "ORDER BY downloaded_at LIMIT ?", (str(JobState.DOWNLOADED), int(limit))).fetchall()
        return [_row_to_job(r) for r in rows]

    def events(self, job_id: str) -> list[dict[str, Any]]:
        rows = self._conn().execute(
            "SELECT at, from_state, to_state, detail FROM events WHERE job_id = ? ORDER BY seq", (job_id,)).fetchall()
        return [dict(r) for r in rows]

    def data_version(self) -> int:
        """Grows on every committed write from any process: a cheap cache key for the UI."""
        return int(self._conn().execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0])

    def active_count(self, key_fingerprint: str | None, base_url: str) -> int:
        """Jobs of one account holding a provider slot (submitting, queued or running)."""
        states = [str(s) for s in SLOT_STATES]
        row = self._conn().execute(
            f"SELECT COUNT(*) FROM jobs WHERE state IN ({', '.join('?' for _ in states)}) "
            "AND key_fingerprint IS ? AND base_url = ?", [*states, key_fingerprint, base_url]).fetchone()
        return int(row[0])

    def render_times(self, model_id: str, *, limit: int = 50) -> list[float]:
        """Recent render times of a model in provider seconds (sandbox times unscaled), newest first."""
        rows = self._conn().execute(
            "SELECT submitted_at, provider_finished_at, detected_at, time_scale FROM jobs "
            "WHERE model_id = ? AND state IN ('succeeded', 'downloaded') AND submitted_at IS NOT NULL "
            "AND detected_at IS NOT NULL ORDER BY detected_at DESC LIMIT ?", (model_id, int(limit))).fetchall()
        out: list[float] = []
        for r in rows:
            finished = r["provider_finished_at"]
            # A provider clock we cannot trust (outside submit..detection) falls back to our detection time.
            if finished is None or not (r["submitted_at"] <= finished <= r["detected_at"] + 1.0):
                finished = r["detected_at"]
            scale = r["time_scale"] or 1.0
            out.append(max(0.0, (finished - r["submitted_at"]) / scale))
        return out

    # --- state changes -----------------------------------------------------------------------------

    def transition(self, job_id: str, state: JobState | str, *, detail: str | None = None, **fields: Any) -> Job:
        """Move a job to `state`, setting `fields`, and log the change.

        A terminal job is returned unchanged (a late poll answer must not resurrect a stopped job);
        a known task id is never cleared or replaced; progress never goes down.
        """
        target = JobState(state)
        with self._write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise LedgerError(f"no job with id {job_id!r}")
            current = JobState(row["state"])
            if current.terminal and target != current:
                conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                             (job_id, time.time(), str(current), str(current),
                              f"refused move to {target} (terminal)"))
                return _row_to_job(row)
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
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
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
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
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
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
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
    def _checked_fields(row: sqlite3.Row, fields: dict[str, Any]) -> dict[str, Any]:
        updates: dict[str, Any] = {}
        for name, value in fields.items():
            if name not in JOB_FIELDS or name in _GUARDED:
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
            updates[name] = _to_db(name, value)
        return updates

    @staticmethod
    def _apply(conn: sqlite3.Connection, job_id: str, updates: dict[str, Any]) -> None:
        cols = list(updates)
        conn.execute(f"UPDATE jobs SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                     [updates[c] for c in cols] + [job_id])

    # --- leases ------------------------------------------------------------------------------------

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
                "AND (lease_owner IS NULL OR lease_owner = ? OR lease_owner IS ? OR lease_expires_at IS NULL "
                "OR lease_expires_at < ?)",
                [owner, now + ttl_s, job_id, *active, owner, steal_from, now])
            return cur.rowcount == 1

    def begin_submit(self, job_id: str, *, owner: str, cap: int) -> Job | None:
        """Move a leased `waiting` job to `submitting` if its account has a free slot; None otherwise.

        The slot count and the move are one transaction, so two runners (or processes) sharing an
        account never pass the concurrency cap together.
        """
        slots = [str(s) for s in SLOT_STATES]
        with self._write() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["state"] != JobState.WAITING or row["lease_owner"] != owner:
                return None
            busy = conn.execute(
                f"SELECT COUNT(*) FROM jobs WHERE state IN ({', '.join('?' for _ in slots)}) "
                "AND key_fingerprint IS ? AND base_url = ?", [*slots, row["key_fingerprint"], row["base_url"]]
            ).fetchone()[0]
            if busy >= cap:
                return None
            now = time.time()
            conn.execute("UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?",
                         (str(JobState.SUBMITTING), now, job_id))
            conn.execute("INSERT INTO events(job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)",
                         (job_id, now, row["state"], str(JobState.SUBMITTING), "sending"))
        return self._require(job_id)

    def children(self, job_id: str) -> list[Job]:
        """Jobs created as fallbacks of this one."""
        rows = self._conn().execute("SELECT * FROM jobs WHERE parent_job_id = ? ORDER BY created_at",
                                    (job_id,)).fetchall()
        return [_row_to_job(r) for r in rows]

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
        return [_row_to_job(r) for r in rows]

    def release(self, owner: str, job_ids: Iterable[str] | None = None) -> int:
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

    # --- budget ------------------------------------------------------------------------------------

    @staticmethod
    def _spent(conn: sqlite3.Connection, backend: str, period_start: float | None) -> float:
        row = conn.execute("SELECT COALESCE(SUM(amount_usd), 0) FROM reservations WHERE backend = ? AND released = 0 "
                           "AND created_at >= ?", (backend, period_start or 0.0)).fetchone()
        return float(row[0])

    def reserve(self, job_id: str, amount_usd: float, *, limit_usd: float | None, period_start: float | None,
                backend: str, model_id: str | None = None) -> bool:
        """Atomically reserve `amount_usd` for a job unless that passes `limit_usd` for the period.

        Sandbox and live spend are separate pots: a reservation only counts against its own backend.
        Re-reserving for the same job replaces its amount.
        """
        if backend not in BACKENDS:
            raise LedgerError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
        with self._write() as conn:
            existing = conn.execute("SELECT amount_usd FROM reservations WHERE job_id = ? AND released = 0",
                                    (job_id,)).fetchone()
            spent = self._spent(conn, backend, period_start) - (float(existing[0]) if existing else 0.0)
            if limit_usd is not None and spent + amount_usd > limit_usd + 1e-9:
                return False
            if model_id is None:
                found = conn.execute("SELECT model_id FROM jobs WHERE id = ?", (job_id,)).fetchone()
                model_id = found[0] if found else "unknown"
            conn.execute("INSERT OR REPLACE INTO reservations(job_id, backend, model_id, amount_usd, created_at, "
                         "released) VALUES (?, ?, ?, ?, ?, 0)", (job_id, backend, model_id, amount_usd, time.time()))
            return True

    def release_reservation(self, job_id: str) -> None:
        """Give a reservation back (the task was refused before anything was charged)."""
        with self._write() as conn:
            conn.execute("UPDATE reservations SET released = 1 WHERE job_id = ?", (job_id,))

    def spend_total(self, backend: str, *, since: float | None = None) -> float:
        return self._spent(self._conn(), backend, since)

    def spend_by_model(self, backend: str, *, since: float | None = None) -> dict[str, float]:
        rows = self._conn().execute(
            "SELECT model_id, SUM(amount_usd) FROM reservations WHERE backend = ? AND released = 0 AND created_at >= ? "
            "GROUP BY model_id ORDER BY model_id", (backend, since or 0.0)).fetchall()
        return {r[0]: float(r[1]) for r in rows}

    def spend_by_day(self, backend: str, *, since: float | None = None) -> dict[str, float]:
        """Spend per local calendar day (YYYY-MM-DD)."""
        rows = self._conn().execute(
            "SELECT date(created_at, 'unixepoch', 'localtime') AS day, SUM(amount_usd) FROM reservations "
            "WHERE backend = ? AND released = 0 AND created_at >= ? GROUP BY day ORDER BY day",
            (backend, since or 0.0)).fetchall()
        return {r[0]: float(r[1]) for r in rows}
