"""Asking the provider about a recorded task, and acting on its answer (every task state, exhaustively)."""

from __future__ import annotations

import time
from typing import Any, assert_never

from jobs.curve import progress_detail
from jobs.engine import fallback
from jobs.engine.context import EngineContext
from jobs.engine.handle import TaskHandle
from jobs.engine.records import stored_raw
from jobs.engine.scheduler import Step
from jobs.engine.track import Track
from jobs.ledger import Job, JobState
from jobs.schedule import PollPolicy, PollSchedule
from providers import callback_url, families
from providers.errors import KIND_INFO, Charged, ErrorKind, ProviderError, TaskNotFoundYet, TransientError
from providers.status import TaskState, TaskStatus

NOT_FOUND_GRACE_S = 30.0
"""Provider seconds after submit in which `task_not_exist` means "not stored yet" (P1)."""
NOT_FOUND_GRACE_POLLS = 3
NO_URL_RETRIES = 3
""""succeeded" without a URL yet is polled again this many times (P6)."""
LATE_LOOK_ATTEMPTS = 3
"""Past its deadline a job is polled until an answer arrives, at most this many times, before it goes stale."""
CALLBACK_SAFETY_S = 60.0
"""Provider seconds between two safety-net polls of a task that will call back (after the first poll, which
catches an instant rejection, and not before the model's median render time)."""


def start_polling(ctx: EngineContext, job: Job, track: Track) -> None:
    """The job's poll plan, from its family's catalog rules and its model's render times."""
    spec = ctx.catalog.get(job.model_id)
    policy = PollPolicy.for_family(ctx.catalog.family(job.family), first_poll_s=spec.render.first_poll_after_s,
                                   deadline_s=spec.render.deadline_s)
    track.schedule = PollSchedule(policy, ctx.render_time(job.model_id), time_scale=track.time_scale, rng=ctx.rng,
                                  curve=ctx.progress_curve(job.model_id) if policy.progress_hints else None)
    track.callback = callback_url.FIELD in {line.get("field") for line in job.mapping.get("report") or ()}
    now_wall, now_mono = time.time(), ctx.clock()
    submitted = job.submitted_at or now_wall
    track.submitted_mono = now_mono - max(0.0, now_wall - submitted)
    track.submitted_wall = submitted
    deadline_at = job.deadline_at or submitted + policy.deadline_s * track.time_scale
    track.deadline_mono = now_mono + (deadline_at - now_wall)


def mark_stale(ctx: EngineContext, job_id: str) -> None:
    ctx.set_state(job_id, JobState.STALE, error_kind=str(ErrorKind.TIMEOUT),
                  error_message="Past the model's deadline: polling stopped. The task id is kept; "
                                "resume to check again.", charged=str(Charged.LIKELY))


def do_poll(ctx: EngineContext, job_id: str) -> None:
    job = ctx.ledger.get(job_id)
    track = ctx.track(job_id)
    if job is None or track is None or not job.state.active or not job.poll_path:
        ctx.forget_now(job_id)
        return
    if track.schedule is None:
        start_polling(ctx, job, track)
    assert track.schedule is not None
    # Past the deadline the job is stale only once an answer says it is still queued or running: the task
    # may have finished meanwhile (after a long server pause, or a laptop asleep), and its clip is paid for.
    past_deadline = (job.state != JobState.SUCCEEDED and track.deadline_mono is not None
                     and ctx.clock() >= track.deadline_mono)
    backend = ctx.backends.for_job(job)
    if backend is None:
        ctx.park_for_key(job_id)
        return
    if track.handle is None:
        track.handle = TaskHandle.from_job(job, backend)
    handle = track.handle
    assert handle is not None
    track.last_poll_mono = ctx.clock()
    try:
        status = ctx.backends.client(handle.backend).poll(handle.family, handle.poll_path)
    except TaskNotFoundYet as exc:
        track.not_found += 1
        if ctx.elapsed(track) <= NOT_FOUND_GRACE_S or track.not_found <= NOT_FOUND_GRACE_POLLS:
            ctx.schedule(job_id, Step.POLL, track.schedule.next_delay(ctx.elapsed(track)))
            return
        ctx.set_state(job_id, JobState.FAILED, error_kind=str(ErrorKind.NOT_FOUND),
                      error_message=f"{exc.message} (still unknown after the grace window; task id kept)",
                      charged=str(Charged.UNKNOWN), detected_at=ctx.stamp(track))
        return
    except TransientError as exc:
        # P2: one failed status call never fails the job; skip this poll. Past the deadline, a few in a row
        # end the active polling (stale keeps the task id and can be resumed).
        if past_deadline:
            track.late_misses += 1
            if track.late_misses >= LATE_LOOK_ATTEMPTS:
                mark_stale(ctx, job_id)
                return
        ctx.schedule(job_id, Step.POLL, track.schedule.next_delay(ctx.elapsed(track), hint_s=exc.retry_after_s))
        return
    except ProviderError as exc:
        if exc.kind is ErrorKind.AUTH:
            # The task still runs at the provider; only our key is wrong. Wait for a new one.
            ctx.backends.keys.forget(job.key_fingerprint or "")
            ctx.park_for_key(job_id, error_kind=str(exc.kind), error_message=exc.message)
            return
        ctx.set_state(job_id, JobState.FAILED, error_kind=str(exc.kind), error_message=exc.message,
                      charged=str(exc.charged), detected_at=ctx.stamp(track))
        return
    track.not_found = 0
    if past_deadline and not status.state.terminal:
        mark_stale(ctx, job_id)
        return
    on_status(ctx, job, track, status)


def on_status(ctx: EngineContext, job: Job, track: Track, status: TaskStatus, *, first: bool = False) -> None:
    """Act on one answer about the task. Every TaskState has its case: a new one is a type error here."""
    assert track.schedule is not None
    match status.state:
        case TaskState.QUEUED | TaskState.RUNNING | TaskState.UNKNOWN:
            _rendering(ctx, job, track, status, first=first)
        case TaskState.SUCCEEDED:
            _succeeded(ctx, job, track, status)
        case TaskState.CANCELED:
            ctx.set_state(job.id, JobState.CANCELED, note="Canceled at the provider.",
                          raw_status_json=stored_raw(status.raw), detected_at=ctx.stamp(track))
        case TaskState.FAILED:
            _failed(ctx, job, track, status)
        case _:
            assert_never(status.state)


def _rendering(ctx: EngineContext, job: Job, track: Track, status: TaskStatus, *, first: bool) -> None:
    """Still queued or running. A status word no table knows is held as queued: polled on, never failed
    (a job already running is not moved back), until the deadline says otherwise."""
    assert track.schedule is not None
    job_id = job.id
    elapsed = ctx.elapsed(track)
    if job.state == JobState.SUCCEEDED:
        # P5: a finished task reported as running again; the ledger keeps it finished.
        ctx.schedule(job_id, Step.POLL, track.schedule.next_delay(elapsed))
        return
    running = status.state is TaskState.RUNNING
    target = JobState.RUNNING if running else JobState.QUEUED
    news = (target != job.state and not (job.state == JobState.RUNNING and target == JobState.QUEUED)) or (
        status.progress is not None and status.progress != job.progress)
    if first or news:
        # Only news is written: an unchanged "still processing" would cost a synced commit per poll.
        fields: dict[str, Any] = {"raw_status_json": stored_raw(status.raw)}
        if status.progress is not None:
            fields["progress"] = status.progress
        if running and job.state != JobState.RUNNING:
            fields["first_running_at"] = ctx.stamp(track)
        if running and status.progress is not None and status.progress != job.progress:
            # A sample of the model's curve: this value, first seen now (jobs/curve.py learns from them).
            fields["detail"] = progress_detail(status.progress)
        job = ctx.set_state(job_id, target, **fields)
        if not job.state.active:
            return
    if track.schedule.policy.progress_hints:
        track.schedule.curve = ctx.progress_curve(job.model_id)  # renders that finished meanwhile teach this one
    track.schedule.observe(elapsed, status.progress if running else None, running=running)
    if (job.state == JobState.QUEUED and job.fallback_model and not track.fallback_done
            and elapsed > ctx.render_time(job.model_id).p90_s):
        track.fallback_done = True
        fallback.maybe_fallback(ctx, job, reason="stuck in the provider's queue")
    delay = (track.schedule.first_delay() if first
             else track.schedule.next_delay(elapsed, hint_s=status.poll_after_s))
    if first and status.poll_after_s:
        delay = max(delay, status.poll_after_s * track.time_scale)
    if track.callback and not first:
        # The callback brings the next poll forward; until then a safety net: not before the median render
        # time, then every CALLBACK_SAFETY_S (a dropped callback costs at most that much delay past it).
        median_left = ctx.render_time(job.model_id).p50_s - elapsed
        delay = max(delay, max(CALLBACK_SAFETY_S, median_left) * track.time_scale)
    # The first poll is urgent too: it catches instant rejections, and a short render's finish.
    ctx.schedule(job_id, Step.POLL, delay, urgent=True if first else None)


def _succeeded(ctx: EngineContext, job: Job, track: Track, status: TaskStatus) -> None:
    assert track.schedule is not None
    job_id = job.id
    raw = stored_raw(status.raw)
    urls = result_urls(job, track, status)
    if not urls:
        track.no_url += 1
        if track.no_url <= NO_URL_RETRIES:
            ctx.schedule(job_id, Step.POLL, track.schedule.next_delay(ctx.elapsed(track)))
            return
        ctx.set_state(job_id, JobState.FAILED, error_kind=str(ErrorKind.MALFORMED_RESPONSE),
                      error_message="The provider reported success but gave no video URL "
                                    f"after {NO_URL_RETRIES + 1} checks (completed_no_output).",
                      charged=str(Charged.YES), detected_at=ctx.stamp(track), raw_status_json=raw)
        return
    track.urls = urls
    job = ctx.set_state(job_id, JobState.SUCCEEDED, progress=100, raw_status_json=raw,
                        provider_finished_at=status.finished_at, detected_at=ctx.stamp(track),
                        error_kind=None, error_message=None)
    if job.state == JobState.SUCCEEDED:
        ctx.schedule(job_id, Step.DOWNLOAD, 0.0)


def _failed(ctx: EngineContext, job: Job, track: Track, status: TaskStatus) -> None:
    kind = status.error_kind or ErrorKind.TASK_FAILED
    job = ctx.set_state(job.id, JobState.FAILED, error_kind=str(kind),
                        error_message=status.error_message or KIND_INFO[kind].title,
                        charged=str(KIND_INFO[kind].charged), raw_status_json=stored_raw(status.raw),
                        provider_finished_at=status.finished_at, detected_at=ctx.stamp(track))
    if kind is ErrorKind.PROVIDER_OUTAGE:
        fallback.maybe_fallback(ctx, job, reason="the provider failed the task")


def result_urls(job: Job, track: Track, status: TaskStatus) -> list[str]:
    """Where the clip may be fetched, best first: the family's adapter knows its answer's shapes."""
    content_url = track.handle.content_url if track.handle is not None else None
    if content_url is None and job.content_path:
        content_url = job.base_url.rstrip("/") + job.content_path
    urls = families.module_for(job.family).result_urls(status, content_url)
    return list(dict.fromkeys(urls))
