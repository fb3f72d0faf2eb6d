"""One normalised view of a provider task, whatever the family's dialect."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from providers.errors import ErrorKind


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"
    """A status word no table knows (a renamed or new provider state): the task is held where it was and
    polled on, bounded by the job's deadline; it never fails a job."""

    @property
    def terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELED)


@dataclass(frozen=True)
class TaskStatus:
    """A provider task as the rest of the app sees it."""

    task_id: str
    state: TaskState
    progress: int | None = None
    """0-100 when the provider reports it, else None."""
    video_url: str | None = None
    error_message: str | None = None
    error_code: str | None = None
    error_kind: ErrorKind | None = None
    created_at: float | None = None
    """Unix seconds (Kling's milliseconds are converted)."""
    finished_at: float | None = None
    """When the provider says it finished, Unix seconds."""
    expires_at: float | None = None
    poll_after_s: float | None = None
    """Server hint for the next poll (`openai-poll-after-ms`, `Retry-After`), clamped."""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """The provider's JSON, for History's detail view."""
