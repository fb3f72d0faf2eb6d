"""Where a task stands at a given moment: derived from its submit time, so a restart resumes it exactly."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .curves import progress
from .store import Task


@dataclass(frozen=True)
class Phase:
    state: str  # queued | running | succeeded | failed | cancelled
    progress: float  # 0..1
    started_at: float | None  # real Unix time the render left the queue
    finished_at: float | None
    failure: dict | None = None  # {"message": str | None, "code": str} when failed
    reports_progress: bool = True  # False for the `none` progress curve: no progress field is sent


def phase_at(task: Task, now: float, time_scale: float, queue_fraction: float, curve: str = "linear") -> Phase:
    """Where the task stands; while running, `progress` is what the provider shows on `curve` (sandbox/curves.py)."""
    phase = _phase_at(task, now, time_scale, queue_fraction)
    if curve == "linear":
        return phase
    if phase.state != "running":
        return replace(phase, reports_progress=curve != "none")
    shown = progress(curve, phase.progress, task.id)
    return replace(phase, progress=shown or 0.0, reports_progress=shown is not None)


def _phase_at(task: Task, now: float, time_scale: float, queue_fraction: float) -> Phase:
    elapsed = max(0.0, (now - task.created_at) / time_scale)  # simulated seconds
    cancel = task.faults.get("cancelled")
    if cancel is not None:
        at = float(cancel.get("after_s", 0))
        if elapsed >= at:
            # Cancelled where it stood at that moment; a task already finished by then stays finished.
            before = _phase(task, at, time_scale, queue_fraction)
            if before.state in ("queued", "running"):
                return Phase("cancelled", before.progress, before.started_at, task.created_at + at * time_scale)
    return _phase(task, elapsed, time_scale, queue_fraction)


def _phase(task: Task, elapsed: float, time_scale: float, queue_fraction: float) -> Phase:
    render = max(task.render_s, 1e-6)
    queue_s = render * queue_fraction
    start_real = task.created_at + queue_s * time_scale
    end_real = task.created_at + render * time_scale
    policy = task.faults.get("content_policy")
    if policy is not None and policy.get("when", "immediate") == "immediate":
        return Phase("failed", 0.0, None, task.created_at, _failure(policy))
    if "stuck_in_queue" in task.faults:
        return Phase("queued", 0.0, None, None)
    if elapsed < queue_s:
        return Phase("queued", 0.0, None, None)
    if elapsed < render:
        return Phase("running", (elapsed - queue_s) / max(render - queue_s, 1e-6), start_real, None)
    if policy is not None:
        return Phase("failed", 1.0, start_real, end_real, _failure(policy))
    return Phase("succeeded", 1.0, start_real, end_real)


def _failure(policy: dict) -> dict:
    return {"message": policy.get("message"), "code": policy.get("code", "content_policy_violation")}
