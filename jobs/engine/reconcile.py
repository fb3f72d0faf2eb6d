"""Settling an unclear submit (reliability.md §5.4): look the task up by the id we sent with it.

Only where the family's catalog entry names a `request_id_field` (an id documented as usable to query the
task): the job is then found and tracked, never resent. After RECONCILE_LOOKUPS misses it is left to the
user, and the lookup is recorded as done on the row, so no process starts over.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

from jobs.engine import poll
from jobs.engine.context import EngineContext
from jobs.engine.handle import TaskHandle
from jobs.engine.records import stored_raw
from jobs.engine.scheduler import Step
from jobs.ledger import Job, JobState
from providers.client import Backend
from providers.errors import DailiesError, TaskNotFoundYet, TransientError
from providers.mapping import prepare
from providers.recipe import ModelOptions, Recipe
from providers.status import TaskStatus
from providers.submission import Submission

log = logging.getLogger(__name__)

RECONCILE_LOOKUPS = 4
"""Lookups (5, 10, 20, 40 provider seconds apart with a 5 s first poll) before an unclear submit is left
to the user."""
LOOKUP_KEY = "lookup"


@dataclass(frozen=True)
class Lookup:
    """Kept on a `submit_unknown` row (in its raw status, which such a row has no other use for)."""

    by: str
    """The body field whose value was looked up (our job id)."""
    tries: int
    done: bool = True


LEGACY_LOOKUP_NOTE = re.compile(r"Looked up \d+ times by this job's own id \(\w+\): the provider has no such task")
"""The sentence a ledger written before the Lookup record carries instead of it (exactly that sentence,
so a message that merely mentions a lookup does not stop one)."""


def lookup_done(job: Job) -> bool:
    if LEGACY_LOOKUP_NOTE.search(job.error_message or ""):
        return True
    try:
        found = job.raw_status.get(LOOKUP_KEY) if job.raw_status_json else None
    except ValueError:
        return False
    return isinstance(found, dict) and found.get("done") is True


def _lookup_json(job: Job, lookup: Lookup) -> str:
    try:
        raw: dict[str, Any] = job.raw_status if job.raw_status_json else {}
    except ValueError:
        raw = {}
    return json.dumps({**raw, LOOKUP_KEY: asdict(lookup)}, sort_keys=True)


def look_for_task_later(ctx: EngineContext, job: Job) -> None:
    """After an unclear submit, schedule a lookup, where the family allows one."""
    rules = ctx.catalog.family(job.family)
    if job.state != JobState.SUBMIT_UNKNOWN or not rules.request_id_field:
        return
    with ctx.lock:
        tries = ctx.lookups.get(job.id, 0)
    scale = job.time_scale or 1.0
    ctx.schedule(job.id, Step.RECONCILE, rules.first_poll_s * 2 ** tries * scale)


def do_reconcile(ctx: EngineContext, job_id: str) -> None:
    job = ctx.ledger.get(job_id)
    backend = ctx.backends.for_job(job) if job is not None else None
    if job is None or backend is None or job.state != JobState.SUBMIT_UNKNOWN or job.task_id:
        return
    field = ctx.catalog.family(job.family).request_id_field
    try:
        sub = prepare(Recipe.from_dict(job.recipe), job.model_id, ModelOptions.from_dict(job.options),
                      ctx.catalog, request_id=job.id)
    except DailiesError:
        sub = None
    if sub is None or not field or (sub.request.json or {}).get(field) != job.id:
        with ctx.lock:  # sent without our id (an older job): only the user can settle it
            ctx.lookups[job_id] = RECONCILE_LOOKUPS
        return
    with ctx.lock:
        ctx.lookups[job_id] = ctx.lookups.get(job_id, 0) + 1
        tries = ctx.lookups[job_id]
    lookup = TaskHandle.from_templates(job.family, job.id, sub.poll_path_template, None, backend)
    try:
        status = ctx.backends.client(backend).poll(lookup.family, lookup.poll_path)
    except (TaskNotFoundYet, TransientError) as exc:
        if tries < RECONCILE_LOOKUPS:
            look_for_task_later(ctx, job)
            return
        # Done here: `lookups` keeps the count, so this process does not start over on every rescan.
        if isinstance(exc, TaskNotFoundYet):
            ctx.ledger.update(job_id, raw_status_json=_lookup_json(job, Lookup(by=field, tries=tries)),
                              error_message=(
                f"{job.error_message} Looked up {tries} times by this job's own id ({field}): the "
                "provider has no such task, so the POST most likely created nothing. Dailies never resends it "
                "on its own; run it again if you want it."))
        return
    except DailiesError as exc:
        log.info("job %s: looking up its task failed: %s", job_id, exc)
        return
    with ctx.lock:
        ctx.lookups.pop(job_id, None)
    _take_found_task(ctx, job, backend, sub, status)


def _take_found_task(ctx: EngineContext, job: Job, backend: Backend, sub: Submission, status: TaskStatus) -> None:
    now = time.time()
    submitted = job.submitted_at or now
    scale = job.time_scale or 1.0
    handle = TaskHandle.from_templates(job.family, status.task_id, sub.poll_path_template,
                                       sub.content_path_template, backend)
    found = ctx.ledger.adopt_found_task(
        job.id, status.task_id, owner=ctx.owner, ttl_s=ctx.lease_ttl_s, submitted_at=submitted,
        poll_path=handle.poll_path, content_path=handle.content_path,
        deadline_at=submitted + ctx.catalog.get(job.model_id).render.deadline_s * scale,
        note="Found at the provider by this job's own id after an unclear submit: tracked, never resent.",
        raw_status_json=stored_raw(status.raw))
    if found is None:
        return  # another process found it first, or the user settled it
    track = ctx.new_track(found, backend)
    track.handle = handle
    if not ctx.keep(track):
        return
    ctx.bump()
    poll.start_polling(ctx, found, track)
    poll.on_status(ctx, found, track, status, first=True)
