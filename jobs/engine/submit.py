"""Sending a job's request once, and making its task id durable before anything else happens."""

from __future__ import annotations

import json
import logging
import time

from jobs.engine import fallback, poll, reconcile
from jobs.engine.context import EngineContext
from jobs.engine.handle import TaskHandle
from jobs.engine.records import stored_raw
from jobs.engine.scheduler import Step
from jobs.engine.track import Track
from jobs.ledger import Job, JobState
from jobs.schedule import submit_retry_delay
from jobs.store.db import StoreError
from providers import callback_url
from providers.errors import Charged, DailiesError, ErrorKind, ProviderError, SubmitUnknown, TransientError
from providers.mapping import prepare
from providers.recipe import ModelOptions, Recipe
from providers.status import TaskStatus

log = logging.getLogger(__name__)

SUBMIT_NETWORK_RETRIES = 6
TASK_ID_WRITE_ATTEMPTS = 6


def do_submit(ctx: EngineContext, job_id: str) -> None:
    work = ctx.work_on(job_id, JobState.WAITING)
    if work is None:
        return
    job, track, backend = work
    try:
        sub = prepare(Recipe.from_dict(job.recipe), job.model_id, ModelOptions.from_dict(job.options),
                      ctx.catalog, request_id=job.id)
    except DailiesError as exc:
        fail(ctx, job_id, exc, charged=Charged.NO)
        return
    hook = ctx.callback_url(job.id) if ctx.callback_url is not None and sub.callback else None
    if hook is not None:
        sub = callback_url.with_callback(sub, hook)
    try:
        # Before the job is marked as sending: a bad key or base URL must not look like a maybe-paid POST.
        client = ctx.backends.client(backend)
    except DailiesError as exc:
        fail(ctx, job_id, exc, charged=Charged.NO)
        return
    spec = ctx.catalog.get(job.model_id)
    cap = ctx.concurrency_cap
    started = ctx.ledger.begin_submit(job_id, owner=ctx.owner, cap=cap)
    if started is None:
        current = ctx.ledger.get(job_id)
        retry = False
        with ctx.lock:
            if current is None or current.state != JobState.WAITING or current.lease_owner != ctx.owner:
                ctx.forget(job_id)  # someone else drives it now
            elif ctx.concurrency_cap > cap:
                retry = True  # the cap was raised while we asked: its wake-up may have come before we waited
            elif job_id not in ctx.slot_waiters:
                ctx.slot_waiters.append(job_id)
        if retry:
            ctx.schedule(job_id, Step.SUBMIT, 0.0)
        return
    ctx.bump()
    ctx.on_change(started)
    try:
        status = client.submit(sub)
    except SubmitUnknown as exc:
        job = ctx.set_state(job_id, JobState.SUBMIT_UNKNOWN, error_kind=str(exc.kind),
                            error_message=exc.message, charged=str(exc.charged))
        reconcile.look_for_task_later(ctx, job)
        return
    except TransientError as exc:
        _requeue(ctx, job_id, track, exc)
        return
    except ProviderError as exc:
        # The client already turned every answer that leaves the task's existence open into
        # SubmitUnknown; what is left is a refusal.
        fail(ctx, job_id, exc)
        return
    except DailiesError as exc:
        fail(ctx, job_id, exc)
        return
    now = time.time()
    track.handle = TaskHandle.from_templates(job.family, status.task_id, sub.poll_path_template,
                                             sub.content_path_template, backend)
    # Invariant 2: the task id (and where to poll it) is durable before anything else happens.
    job = _record_task_id(ctx, job_id, status, now, track.handle)
    deadline_at = now + spec.render.deadline_s * track.time_scale
    extra = {"mapping_json": _mapping_with_callback(job, hook)} if hook is not None else {}
    job = ctx.set_state(job_id, JobState.QUEUED, deadline_at=deadline_at, error_kind=None, error_message=None,
                        note=None, **extra)
    if job.state.terminal:
        return
    poll.start_polling(ctx, job, track)
    poll.on_status(ctx, job, track, status, first=True)


def _mapping_with_callback(job: Job, url: str) -> str:
    """The stored mapping report with the callback line (URL redacted): the report shows it was asked for, and
    whoever polls the job later knows a callback may come (a sparse safety-net schedule)."""
    mapping = job.mapping
    mapping["report"] = [*(mapping.get("report") or []), callback_url.report_line(url)]
    return json.dumps(mapping, default=str, sort_keys=True)


def _record_task_id(ctx: EngineContext, job_id: str, status: TaskStatus, now: float, handle: TaskHandle) -> Job:
    """The one write that must not fail after a paid POST: retried through a busy or locked database,
    and the task id logged before giving up, so it can always be found again."""
    for attempt in range(TASK_ID_WRITE_ATTEMPTS):
        try:
            return ctx.ledger.record_task_id(job_id, handle.task_id, submitted_at=now, poll_path=handle.poll_path,
                                             content_path=handle.content_path, raw_status_json=stored_raw(status.raw))
        except StoreError as exc:
            log.warning("recording task %s of job %s failed (%s), attempt %d", handle.task_id, job_id, exc,
                        attempt + 1)
            if attempt + 1 == TASK_ID_WRITE_ATTEMPTS:
                log.error("task %s of job %s is NOT in the ledger: reconcile it by hand", handle.task_id, job_id)
                raise
            time.sleep(0.2 * 2 ** attempt)  # the database is busy or locked: give it time, off the scheduler
    raise AssertionError("unreachable")


def _requeue(ctx: EngineContext, job_id: str, track: Track, exc: TransientError) -> None:
    """A refused or never-sent POST: back to the local queue, to go out again later (S1, S4)."""
    track.submit_attempts += 1
    if exc.kind is not ErrorKind.RATE_LIMITED and track.submit_attempts > SUBMIT_NETWORK_RETRIES:
        fail(ctx, job_id, exc, charged=Charged.NO)
        return
    delay = submit_retry_delay(track.submit_attempts - 1, exc.retry_after_s, time_scale=track.time_scale,
                               rng=ctx.rng)
    ctx.set_state(job_id, JobState.WAITING, error_kind=str(exc.kind),
                  error_message=f"{exc.message} — waiting to send again")
    ctx.schedule(job_id, Step.SUBMIT, delay)


def fail(ctx: EngineContext, job_id: str, exc: DailiesError, *, charged: Charged | None = None) -> None:
    kind = exc.kind
    job = ctx.set_state(job_id, JobState.FAILED, error_kind=str(kind), error_message=exc.message,
                        charged=str(charged or exc.charged), detected_at=ctx.stamp(ctx.track(job_id)))
    if kind is ErrorKind.PROVIDER_OUTAGE:
        fallback.maybe_fallback(ctx, job, reason="the provider failed the task")
