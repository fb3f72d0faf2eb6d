"""What the ledger holds: a job, its states, and the errors the ledger raises. No SQL here."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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


class NotPermitted(LedgerError):
    """The owner's role may not start takes (a viewer): refused before anything is written."""


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
    owner: str | None = None
    """Who asked for it (the signed-in email, or the CLI's DAILIES_USER / OS user); None for a single-user app's
    jobs and for every job made before owners existed. Set when the job is admitted, never changed."""
    person_limit_usd: float | None = None
    """The owner's per-person limit the job was admitted under: a take the engine adds for it later (a fallback)
    must fit the owner's limit as well as the team's (`budget_limit_usd`)."""

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
_FIELD_SET = frozenset(JOB_FIELDS)
NOT_NULL = {"id", "run_id", "take", "model_id", "family", "backend", "base_url", "recipe_json", "state"}
# Fields a caller may not set through transition()/update(): they have their own methods.
GUARDED = {"id", "state", "lease_owner", "lease_expires_at", "created_at", "updated_at", "owner"}


def to_db(name: str, value: Any) -> Any:
    if isinstance(value, StrEnum):
        return str(value)
    if name == "needs_key":
        return 1 if value else 0
    if isinstance(value, bool):
        return int(value)
    return value


def row_to_job(row: Any) -> Job:
    values = {k: row[k] for k in row.keys() if k in _FIELD_SET}  # noqa: SIM118 - sqlite3.Row has no iteration of keys
    values["state"] = JobState(values["state"])
    values["needs_key"] = bool(values.get("needs_key"))
    return Job(**values)
