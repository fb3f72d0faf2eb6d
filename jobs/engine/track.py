"""What the engine remembers about one job between heap entries (rebuildable from the ledger)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.engine.backends import Pace
from jobs.engine.handle import TaskHandle
from jobs.schedule import PollSchedule


@dataclass
class Track:
    job_id: str
    time_scale: float
    pace: Pace | None = None
    """The process-wide status limiter of this job's backend; a poll goes out only with its token."""
    handle: TaskHandle | None = None
    """Set once the task id is recorded (or read back from the ledger on adoption)."""
    schedule: PollSchedule | None = None
    submitted_mono: float | None = None
    deadline_mono: float | None = None
    submitted_wall: float | None = None
    late_misses: int = 0
    """Status calls that failed past the deadline; LATE_LOOK_ATTEMPTS of them make the job stale."""
    not_found: int = 0
    no_url: int = 0
    url_refreshes: int = 0
    invalid_downloads: int = 0
    transient_downloads: int = 0
    submit_attempts: int = 0
    urls: list[str] = field(default_factory=list)
    fallback_done: bool = False
    callback: bool = False
    """Sent with a `callback_url`: between the first poll and the callback, only a sparse safety-net poll."""
    poll_soon: bool = False
    """A callback came while no poll was queued (one in flight, the submit still running): the next poll
    scheduled goes at once."""
    last_poll_mono: float | None = None
