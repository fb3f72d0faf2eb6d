"""Drives every job from intent row to verified clip: the public face of the job engine (jobs/engine/).

One runner per process. The scheduler thread keeps a heap of due work (submit, poll, download, reconcile)
and waits until the next item is due; the work itself runs on a fixed thread pool, so a hundred tasks in
flight cost a hundred heap entries, not a hundred threads. Every decision is written to the ledger first;
memory only holds what can be rebuilt from it (poll schedules, retry counters, task handles).

A process that dies leaves its leases to expire (or, on this host, is seen dead by pid); the next
runner resumes every active job, and turns a job caught mid-submit into `submit_unknown`, never a
second POST.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from jobs.checks.checker import ClipChecker
from jobs.clipstore import VerifiedStore
from jobs.engine import download, hints, leases, poll, reconcile, submit
from jobs.engine.backends import DEFAULT_POLL_RATE, Backends
from jobs.engine.context import ClipSink, EngineContext
from jobs.engine.download import DOWNLOAD_INVALID_RETRIES, DOWNLOAD_TRANSIENT_RETRIES, URL_REFRESHES
from jobs.engine.fallback import JOB_NAMESPACE
from jobs.engine.leases import SUBMIT_CRASH_NOTE
from jobs.engine.records import applied_vs_requested, job_row, stored_raw, submission_mapping_json
from jobs.engine.scheduler import Scheduler, Step, Timers
from jobs.ledger import Job, JobState, Ledger
from jobs.schedule import RenderTime
from providers.catalog import Catalog
from providers.client import Backend, CometClient
from providers.errors import DailiesError, ErrorKind
from providers.mapping import prepare
from providers.pricing import live_refusal
from providers.recipe import ModelOptions, Recipe
from providers.submission import Submission

__all__ = ["DEFAULT_POLL_RATE", "DOWNLOAD_INVALID_RETRIES", "DOWNLOAD_TRANSIENT_RETRIES", "JOB_NAMESPACE",
           "STOPPED_NOTE", "SUBMIT_CRASH_NOTE", "URL_REFRESHES", "ClipSink", "Runner", "SubmitRefused",
           "applied_vs_requested", "stored_raw", "submission_mapping_json"]

STOPPED_NOTE = "Tracking stopped; the provider task may still finish and be charged (no CometAPI route cancels it)."
RETRYABLE_STATES = frozenset({JobState.FAILED, JobState.EXPIRED})
"""Takes with no clip whose request can be sent again as a new job (one click, one request)."""
SNAPSHOT_CACHE_SIZE = 64
WATCH_INTERVAL_S = 2.0
"""How often the scheduler looks for ledger changes made by other processes (one single-row read)."""


class SubmitRefused(DailiesError):
    """submit_run refused before anything was written (budget, unknown model, no key)."""


class Runner:
    """The process's job engine. Thread-safe; start() once, stop() on the way out (also run at exit)."""

    def __init__(self, ledger: Ledger, clips: ClipSink, catalog: Catalog, *, owner: str | None = None,
                 workers: int = 4, concurrency_cap: int = 4,
                 client_factory: Callable[[Backend], CometClient] | None = None, lease_ttl_s: float = 60.0,
                 rescan_interval_s: float = 30.0, poll_rate: float | None = None, poll_burst: int | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic,
                 only_runs: Iterable[str] | None = None, check_clips: bool | ClipChecker = True,
                 drive: bool = True, client_type: type[CometClient] = CometClient,
                 client_headers: Mapping[str, str] | None = None,
                 watch_interval_s: float = WATCH_INTERVAL_S) -> None:
        self.ledger = ledger
        self.clips = clips
        self.owner = owner or leases.owner_id()
        self.lease_ttl_s = lease_ttl_s
        self.rescan_interval_s = rescan_interval_s
        self.watch_interval_s = watch_interval_s
        concurrency_cap = max(1, concurrency_cap)
        self._backends = Backends(concurrency_cap=concurrency_cap, poll_rate=poll_rate, poll_burst=poll_burst,
                                  client_factory=client_factory, client_type=client_type,
                                  headers=client_headers)
        self._sched = Scheduler(workers, clock)
        self._ctx = EngineContext(ledger, clips, catalog, owner=self.owner, concurrency_cap=concurrency_cap,
                                  lease_ttl_s=lease_ttl_s, backends=self._backends, scheduler=self._sched,
                                  rng=rng or random.Random(), clock=clock)
        self._ctx.adopt = lambda job: leases.adopt(self._ctx, job)
        # drive=False (DAILIES_ENGINE=external): admit into the ledger and read it, take no lease, send
        # nothing; `python -m jobs worker` processes drive the jobs.
        self._ctx.drive = drive
        # Technical checks on each downloaded clip, on their own thread; engine tests switch them off.
        # A ClipChecker may be passed in (a test's, with its own check function).
        self.checker = check_clips if isinstance(check_clips, ClipChecker) else (
            ClipChecker(ledger) if check_clips else None)
        if self.checker is not None:
            if self.checker.clips is None and isinstance(clips, VerifiedStore):
                self.checker.clips = clips  # the checks read clips from the store the runner downloads into
            self.checker.on_checked = lambda job_id: self._ctx.bump()  # the UI re-reads on the change counter
            self._ctx.after_download = self.checker.submit
        # A batch CLI `run` drives its own run only; `resume` and the app drive every job they hold a key for.
        self._ctx.only_runs = set(only_runs) if only_runs is not None else None
        self._seen_version = -1
        self._snap_lock = threading.Lock()
        self._snap_cache: dict[tuple[str, ...], tuple[int, list[Job]]] = {}

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Runner:
        ctx = self._ctx
        steps: dict[Step, Callable[[str], None]] = {
            Step.SUBMIT: lambda job_id: submit.do_submit(ctx, job_id),
            Step.POLL: lambda job_id: poll.do_poll(ctx, job_id),
            Step.DOWNLOAD: lambda job_id: download.do_download(ctx, job_id),
            Step.RECONCILE: lambda job_id: reconcile.do_reconcile(ctx, job_id),
        }
        timers = Timers(heartbeat=lambda: self.ledger.heartbeat(self.owner, self.lease_ttl_s),
                        heartbeat_s=self.lease_ttl_s / 3, rescan=lambda: leases.rescan(ctx),
                        rescan_s=self.rescan_interval_s, watch=self._watch_ledger, watch_s=self.watch_interval_s)
        if self._sched.start(timers, steps.__getitem__, on_error=ctx.forget_now, pace_of=ctx.pace_of):
            atexit.register(self.stop)
        if self.checker is not None:
            self.checker.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop promptly: no new work, wait briefly for HTTP calls in flight, give every lease back."""
        deadline = time.monotonic() + timeout
        if self.checker is not None:
            self.checker.stop(timeout=min(timeout, 2.0))
        if not self._sched.halt(timeout, deadline, time.monotonic):
            return
        with contextlib.suppress(Exception):  # noqa: BLE001 - best effort on the way out (atexit)
            self.ledger.release(self.owner)
        with self._ctx.lock:
            self._sched.reset()
            self._ctx.tracks.clear()
            self._ctx.slot_waiters.clear()
        self._backends.close_clients()
        with contextlib.suppress(ValueError):
            atexit.unregister(self.stop)

    # --- settings that change while running ---------------------------------------------------------
    # Settings swaps these on a live runner; the steps read them from the context, so they live there
    # (a copy here would freeze model switches, prices and the cap at start and let a switched-off
    # model's waiting take be sent).

    @property
    def catalog(self) -> Catalog:
        return self._ctx.catalog

    @catalog.setter
    def catalog(self, catalog: Catalog) -> None:
        self._ctx.catalog = catalog

    @property
    def concurrency_cap(self) -> int:
        return self._ctx.concurrency_cap

    @concurrency_cap.setter
    def concurrency_cap(self, cap: int) -> None:
        with self._ctx.lock:
            raised = cap > self._ctx.concurrency_cap
            self._ctx.concurrency_cap = max(1, cap)
        if raised:  # takes held back by the old cap may go now
            self._ctx.wake_waiters()

    @property
    def status_limit(self) -> tuple[float, int]:
        """The process-wide status requests per (provider) second and burst; a sandbox scales it by its clock."""
        return self._backends.poll_rate, self._backends.poll_burst

    @property
    def running(self) -> bool:
        return self._sched.started and not self._sched.stopping

    # --- keys --------------------------------------------------------------------------------------

    def set_key(self, backend: Backend) -> str:
        """Hold a key in memory (by fingerprint) and resume the jobs that were waiting for it."""
        known = self.knows_key(backend.key_fingerprint, backend.base_url)
        self._backends.keys.add(backend)
        if not known:  # every page rerun calls this; only a new key can wake jobs that waited for it
            self._ctx.request_rescan()
        return backend.key_fingerprint

    def knows_key(self, fingerprint: str, base_url: str) -> bool:
        return self._backends.keys.get(fingerprint, base_url) is not None

    # --- submitting runs ---------------------------------------------------------------------------

    def prepare_run(self, recipe: Recipe, choices: Sequence[tuple[str, ModelOptions]]) -> list[Submission]:
        """Map the recipe onto each model (ValidationErrors before any spend)."""
        return [prepare(recipe, model_id, options, self.catalog) for model_id, options in choices]

    def submit_run(self, recipe: Recipe, choices: Sequence[tuple[str, ModelOptions]], backend: Backend, *,
                   takes: int = 1, run_id: str | None = None, request_id: str | None = None,
                   budget_limit_usd: float | None = None, budget_period_start: float | None = None,
                   fallback_model: str | None = None, owner: str | None = None,
                   person_limit_usd: float | None = None, role: str | None = None) -> list[str]:
        """Write one `waiting` intent row per (model, take) and queue them. Returns the job ids.

        `owner`: who asks (the signed-in email, the CLI's user); recorded on every job of the run, whose upper
        estimate must also fit `person_limit_usd` (that person's own spend in the same period). `role`: theirs;
        one that may not start takes (a viewer) raises NotPermitted and writes nothing.

        The same `request_id` twice (a double click, a rerun) returns the first call's jobs. Raises
        ValidationErrors for a bad recipe and BudgetExceeded when the upper cost estimate of the run
        would pass `budget_limit_usd` for the backend's own pot (sandbox spend is never mixed with live).
        """
        return self.submit_groups([(recipe, choices)], backend, takes=takes, run_id=run_id, request_id=request_id,
                                  budget_limit_usd=budget_limit_usd, budget_period_start=budget_period_start,
                                  fallback_model=fallback_model, owner=owner, person_limit_usd=person_limit_usd,
                                  role=role)

    def submit_groups(self, groups: Sequence[tuple[Recipe, Sequence[tuple[str, ModelOptions]]]], backend: Backend,
                      *, takes: int = 1, run_id: str | None = None, request_id: str | None = None,
                      budget_limit_usd: float | None = None, budget_period_start: float | None = None,
                      fallback_model: str | None = None, owner: str | None = None,
                      person_limit_usd: float | None = None, role: str | None = None) -> list[str]:
        """One run of several recipes (per-model variants, a board re-run): every row in one ledger
        transaction, so the budget admits the whole run or none of it."""
        if takes < 1:
            raise SubmitRefused(f"takes: must be at least 1, got {takes}", kind=ErrorKind.VALIDATION)
        if not groups or not all(choices for _, choices in groups):
            raise SubmitRefused("models: pick at least one model", kind=ErrorKind.VALIDATION)
        if fallback_model is not None:
            self.catalog.get(fallback_model)
        prepared = [(recipe, choices, self.prepare_run(recipe, choices)) for recipe, choices in groups]
        if not backend.sandbox:
            unpriced = [why for model_id in dict.fromkeys(m for _, choices in groups for m, _ in choices)
                        if (why := live_refusal(self.catalog.get(model_id)))]
            if unpriced:
                raise SubmitRefused("; ".join(unpriced), kind=ErrorKind.VALIDATION)
        self.set_key(backend)
        run = run_id or request_id or uuid.uuid4().hex
        scale = backend.time_scale if backend.sandbox else 1.0
        rows: list[dict[str, Any]] = []
        for group, (recipe, choices, subs) in enumerate(prepared):
            for index, ((model_id, options), sub) in enumerate(zip(choices, subs, strict=True)):
                for take in range(takes):
                    # Group 0 keeps the single-recipe key, so ids made before groups existed still match.
                    key = f"{request_id}:{index}:{model_id}:{take}" + (f":g{group}" if group else "")
                    job_id = uuid.uuid5(JOB_NAMESPACE, key).hex if request_id else uuid.uuid4().hex
                    rows.append(job_row(
                        job_id, sub, self.catalog.get(model_id).price, run_id=run, take=take,
                        backend="sandbox" if backend.sandbox else "live", base_url=backend.base_url.rstrip("/"),
                        key_fingerprint=backend.key_fingerprint, recipe_json=recipe.to_json(),
                        options_json=json.dumps(options.to_dict(), sort_keys=True, default=str), time_scale=scale,
                        budget_limit_usd=budget_limit_usd, budget_period_start=budget_period_start,
                        fallback_model=fallback_model, owner=owner))
        jobs = self.ledger.create_jobs(rows, limit_usd=budget_limit_usd, period_start=budget_period_start,
                                       person_limit_usd=person_limit_usd, role=role)
        self._ctx.bump()
        for job in jobs:
            if job.state == JobState.WAITING:
                leases.adopt(self._ctx, job)
        return [job.id for job in jobs]

    def retry(self, job_id: str, backend: Backend, *, request_id: str, budget_limit_usd: float | None = None,
              budget_period_start: float | None = None, owner: str | None = None,
              person_limit_usd: float | None = None, role: str | None = None) -> str:
        """Send a failed take again: one new job in the same run (so on the same board), same recipe, options
        and take number, its parent the failed job. The same `request_id` twice returns the first job."""
        job = self.ledger.get(job_id)
        if job is None:
            raise KeyError(job_id)
        if job.state not in RETRYABLE_STATES:
            raise SubmitRefused(f"only a failed take can be retried; this one is {job.state.value}",
                                kind=ErrorKind.VALIDATION)
        if not backend.sandbox and (refusal := live_refusal(self.catalog.get(job.model_id))):
            raise SubmitRefused(refusal, kind=ErrorKind.VALIDATION)
        options = ModelOptions.from_dict(job.options)
        (sub,) = self.prepare_run(Recipe.from_dict(job.recipe), [(job.model_id, options)])
        self.set_key(backend)
        row = job_row(
            uuid.uuid5(JOB_NAMESPACE, f"retry:{request_id}:{job.id}").hex, sub, self.catalog.get(job.model_id).price,
            run_id=job.run_id, take=job.take, backend="sandbox" if backend.sandbox else "live",
            base_url=backend.base_url.rstrip("/"), key_fingerprint=backend.key_fingerprint,
            recipe_json=job.recipe_json, options_json=job.options_json,
            time_scale=backend.time_scale if backend.sandbox else 1.0, budget_limit_usd=budget_limit_usd,
            budget_period_start=budget_period_start, parent_job_id=job.id, link_kind="retry", owner=owner)
        (created,) = self.ledger.create_jobs([row], limit_usd=budget_limit_usd, period_start=budget_period_start,
                                             person_limit_usd=person_limit_usd, role=role)
        self._ctx.bump()
        if created.state == JobState.WAITING:
            leases.adopt(self._ctx, created)
        return created.id

    # --- actions the UI offers ---------------------------------------------------------------------

    def stop_tracking(self, job_id: str) -> Job:
        """The honest "cancel": stop polling. The provider may still render and charge the task."""
        if self.ledger.get(job_id) is None:
            raise KeyError(job_id)
        self._ctx.forget_now(job_id)
        # Decided inside one ledger transaction: a submit starting at the same moment cannot slip between.
        unsent = self.ledger.cancel_unsent(job_id, note="Canceled before it was sent; nothing charged.")
        if unsent is not None:
            self._ctx.bump()
            return unsent
        return self._ctx.set_state(job_id, JobState.CANCELED, note=STOPPED_NOTE)

    def resume(self, job_id: str) -> Job:
        """Poll a `stale` job again (its deadline starts over)."""
        job = self.ledger.get(job_id)
        if job is None:
            raise KeyError(job_id)
        if job.state != JobState.STALE or not job.task_id:
            return job
        spec = self.catalog.get(job.model_id)
        deadline = time.time() + spec.render.deadline_s * job.time_scale
        job = self._ctx.set_state(job_id, JobState.QUEUED, deadline_at=deadline, note="resumed")
        leases.adopt(self._ctx, job)
        return job

    # --- reading -----------------------------------------------------------------------------------

    def snapshot(self, job_ids: Iterable[str] | None = None) -> list[Job]:
        """Copies of the jobs as the ledger has them (frozen dataclasses, safe to hand to the UI)."""
        if job_ids is None:
            return self.ledger.list_jobs()
        ids = tuple(job_ids)
        counter = self._ctx.change_counter  # read first: a write racing the read below only makes it re-read
        with self._snap_lock:
            cached = self._snap_cache.get(ids)
            if cached is not None and cached[0] == counter:
                # Nothing changed in this process, nor in the ledger (the watch bumps the counter): the
                # live queue's 1 s tick costs no database read.
                return list(cached[1])
        jobs = self.ledger.get_many(ids)
        with self._snap_lock:
            if len(self._snap_cache) > SNAPSHOT_CACHE_SIZE:
                self._snap_cache.clear()
            self._snap_cache[ids] = (counter, jobs)
        return list(jobs)

    @property
    def change_counter(self) -> int:
        return self._ctx.change_counter

    def wait_for(self, pred: Callable[[], bool], timeout: float) -> bool:
        """Block until `pred()` is true (re-checked on every state change, at least every 0.2 s)."""
        end = time.monotonic() + timeout
        with self._ctx.changed:
            while True:
                if pred():
                    return True
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return False
                self._ctx.changed.wait(timeout=min(remaining, 0.2))

    def render_time(self, model_id: str) -> RenderTime:
        """The model's render-time distribution: learned from the ledger, else the catalog prior."""
        return self._ctx.render_time(model_id)

    def _watch_ledger(self) -> None:
        """Another process (the CLI, a second app, a worker's callback endpoint) changed the ledger: bump the
        counter the UI caches on, and poll the jobs a callback marked."""
        version = self.ledger.data_version()
        if version != self._seen_version:
            self._seen_version = version
            self._ctx.bump()
            hints.take_hints(self._ctx)  # a callback may have marked one of our jobs "poll now"
