"""Who drives a job: this process's owner id, dead local owners, and the rescan that adopts (or steals) jobs.

A process that dies leaves its leases to expire (or, on this host, is seen dead by pid); the next engine
resumes every active job, and turns a job caught mid-submit into `submit_unknown`, never a second POST.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from jobs.engine import poll, reconcile
from jobs.engine.context import EngineContext
from jobs.engine.handle import TaskHandle
from jobs.engine.scheduler import Step
from jobs.ledger import Job, JobState
from providers.errors import Charged, ErrorKind

SUBMIT_CRASH_NOTE = ("The engine stopped while this submit was in flight: the task may exist and be charged. "
                     "Check the provider's console before running it again; it is never resent automatically.")


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_local_owner(owner: str | None) -> bool:
    """A lease held by a process on this host that no longer exists: no need to wait for it to expire."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    return pid != os.getpid() and not pid_alive(pid)


def rescan(ctx: EngineContext) -> None:
    """Adopt every active job whose lease is free: ours after a restart, or a dead process's."""
    if not ctx.drive:
        return
    with ctx.lock:
        known = set(ctx.tracks)
    if ctx.claim_batch is not None and ctx.only_runs is None:
        # A worker: take its share in one statement (FOR UPDATE SKIP LOCKED on PostgreSQL), so workers
        # rescanning at the same moment split the free jobs instead of racing for the same rows.
        claimed = ctx.ledger.claim_free(ctx.owner, ctx.lease_ttl_s, limit=ctx.claim_batch, skip=known)
        candidates = {j.id: j for j in ctx.ledger.get_many(claimed)}
    else:
        candidates = {j.id: j for j in ctx.ledger.claimable(ctx.owner)}
    for job in ctx.ledger.list_jobs(states=[str(s) for s in JobState if s.active]):
        if job.id not in candidates and job.lease_owner != ctx.owner and dead_local_owner(job.lease_owner):
            candidates[job.id] = job
    taken = 0
    for job in candidates.values():
        if job.id in known or not ctx.drives(job):
            continue
        if ctx.claim_batch is not None and taken >= ctx.claim_batch:
            break  # a worker's share per rescan: the others sharing the ledger claim the rest
        adopt(ctx, job, steal_from=job.lease_owner if dead_local_owner(job.lease_owner) else None)
        taken += 1
    with ctx.lock:
        waiters = bool(ctx.slot_waiters)
    if waiters:
        ctx.wake_waiters()
    # Unclear submits another process (the batch CLI, a stopped app) left before looking them up.
    for job in ctx.ledger.list_jobs(states=[str(JobState.SUBMIT_UNKNOWN)]):
        if not ctx.drives(job):
            continue
        with ctx.lock:
            busy = ctx.sched.has_entry(job.id) or job.id in ctx.lookups
        if not busy and not reconcile.lookup_done(job) and ctx.backends.for_job(job) is not None:
            reconcile.look_for_task_later(ctx, job)


def adopt(ctx: EngineContext, job: Job, *, steal_from: str | None = None) -> None:
    """Take a job into memory under our lease and schedule its next step."""
    if not ctx.drive:
        return
    backend = ctx.backends.for_job(job)
    if backend is None:
        if not job.needs_key:
            ctx.ledger.update(job.id, needs_key=True)
            ctx.bump()
        ctx.ledger.release(ctx.owner, [job.id])  # claimed by a worker's batch: another one may have the key
        return
    if not ctx.ledger.claim(job.id, ctx.owner, ctx.lease_ttl_s, steal_from=steal_from):
        return
    if job.needs_key:
        job = ctx.ledger.update(job.id, needs_key=False)
    track = ctx.new_track(job, backend)
    track.handle = TaskHandle.from_job(job, backend)
    if not ctx.keep(track):
        return
    if job.state == JobState.SUBMITTING and job.task_id and job.poll_path:
        # The answer was recorded but the process died before the next transition: the task is known.
        deadline = (job.submitted_at or time.time()) + \
            ctx.catalog.get(job.model_id).render.deadline_s * (job.time_scale or 1.0)
        job = ctx.set_state(job.id, JobState.QUEUED, deadline_at=job.deadline_at or deadline,
                            note="task id recorded before a restart")
    if job.state == JobState.SUBMITTING:
        # Found mid-submit: the POST may have reached the provider. Never resend (S2, invariant 4).
        job = ctx.set_state(job.id, JobState.SUBMIT_UNKNOWN, error_kind=str(ErrorKind.SUBMIT_UNKNOWN),
                            error_message=SUBMIT_CRASH_NOTE, charged=str(Charged.UNKNOWN))
        ctx.forget_now(job.id)
        reconcile.look_for_task_later(ctx, job)
        return
    if job.state == JobState.WAITING:
        ctx.schedule(job.id, Step.SUBMIT, 0.0)
        return
    poll.start_polling(ctx, job, track)
    if job.state == JobState.SUCCEEDED:
        # A fresh URL: the one seen before the restart may be gone.
        ctx.schedule(job.id, Step.POLL, 0.0, urgent=True)
    else:
        ctx.schedule(job.id, Step.POLL, track.schedule.policy.min_interval_s * track.time_scale
                     if track.schedule else 0.0)
