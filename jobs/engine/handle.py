"""Where a provider task lives once its id is known: built once, then read by every step."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.keys import normalise_base_url
from jobs.ledger import Job
from providers.client import Backend

TASK_ID_SLOT = "{task_id}"


@dataclass(frozen=True)
class TaskHandle:
    family: str
    task_id: str
    poll_path: str
    content_path: str | None
    """The family's `/content` route for this task, where the catalog names one."""
    backend: Backend

    @classmethod
    def from_templates(cls, family: str, task_id: str, poll_template: str, content_template: str | None,
                       backend: Backend) -> TaskHandle:
        """The one place a route template meets a task id."""
        content = content_template.replace(TASK_ID_SLOT, task_id) if content_template else None
        return cls(family, task_id, poll_template.replace(TASK_ID_SLOT, task_id), content, backend)

    @classmethod
    def from_job(cls, job: Job, backend: Backend) -> TaskHandle | None:
        """The handle a ledger row recorded (after a restart, or a job taken over from another process)."""
        if not job.task_id or not job.poll_path:
            return None
        return cls(job.family, job.task_id, job.poll_path, job.content_path, backend)

    @property
    def content_url(self) -> str | None:
        return normalise_base_url(self.backend.base_url) + self.content_path if self.content_path else None
