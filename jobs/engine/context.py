"""The state every step works through: the ledger, the catalog, the jobs in memory, scheduling, state changes.

Steps are functions of this object, not of the runner: it holds no public API and nothing the UI reads
except the change counter. Every decision is written to the ledger first; memory only holds what can be
rebuilt from it (poll schedules, retry counters, task handles).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from jobs.curve import CURVE_HISTORY, ProgressCurve, learn_curve
from jobs.engine.backends import Backends, Pace
from jobs.engine.scheduler import PRIORITY, URGENT_POLL, Scheduler, Step
from jobs.engine.track import Track
from jobs.ledger import SLOT_STATES, Job, JobState, Ledger
from jobs.schedule import RenderTime, learn_render_time
from providers.catalog import Catalog
from providers.client import Backend

RENDER_CACHE_S = 30.0


class ClipSink(Protocol):
    def download(self, open_stream: Callable[[Mapping[str, str]], Any], name_hint: str) -> Any: ...


class EngineContext:
    def __init__(self, ledger: Ledger, clips: ClipSink, catalog: Catalog, *, owner: str, concurrency_cap: int,
                 lease_ttl_s: float, backends: Backends, scheduler: Scheduler, rng: random.Random,
                 clock: Callable[[], float]) -> None:
        self.ledger = ledger
        self.clips = clips
        self.catalog = catalog
        self.owner = owner
        self.concurrency_cap = concurrency_cap
        self.lease_ttl_s = lease_ttl_s
        self.backends = backends
        self.sched = scheduler
        self.lock = scheduler.cond
        """Guards tracks, lookups and slot waiters together with the scheduler's entries."""
        self.rng = rng
        self.clock = clock
        self.tracks: dict[str, Track] = {}
        self.lookups: dict[str, int] = {}  # submit_unknown job id -> lookups done by the id we sent
        self.slot_waiters: deque[str] = deque()
        self.changed = threading.Condition()
        self.change_counter = 0
        self._render_cache: dict[str, tuple[float, RenderTime]] = {}
        self._curve_cache: dict[str, tuple[float, ProgressCurve | None]] = {}
        self.learned_ttl_s = RENDER_CACHE_S
        """How long a model's learned render times and curve are used before the ledger is read again."""
        self.only_runs: set[str] | None = None
        """When set (a CLI `run`), the only runs this engine drives: a leftover of another run is named, not
        sent behind the user's back."""
        self.adopt: Callable[[Job], None] = lambda job: None
        """Take a job into memory (leases.adopt, wired by the runner: a fallback child starts through it)."""
        self.drive = True
        """False in an admit-only engine (DAILIES_ENGINE=external): no job is adopted, leased or sent."""
        self.claim_batch: int | None = None
        """At most this many jobs adopted per rescan (a worker among several: the work splits); None: all."""
        self.on_change: Callable[[Job], None] = lambda job: None
        """Called with each job this engine moved to a new state (a worker logs one line per change)."""
        self.after_download: Callable[[Job], None] = lambda job: None
        """Called with each job just set `downloaded` (the runner queues its clip for the technical checks)."""
        self.callback_url: Callable[[str], str] | None = None
        """A job id -> the `callback_url` sent with its submit, on routes that document one (a worker with
        DAILIES_PUBLIC_URL; jobs/callbacks.py). None: no callbacks, polling alone."""

    # --- memory --------------------------------------------------------------------------------------

    def track(self, job_id: str) -> Track | None:
        with self.lock:
            return self.tracks.get(job_id)

    def new_track(self, job: Job, backend: Backend) -> Track:
        return Track(job.id, time_scale=job.time_scale or 1.0, pace=self.backends.pace_for(backend))

    def keep(self, track: Track) -> bool:
        """Hold the track unless the engine stops or already drives the job."""
        with self.lock:
            if self.sched.stopping or track.job_id in self.tracks:
                return False
            self.tracks[track.job_id] = track
            return True

    def drives(self, job: Job) -> bool:
        return self.only_runs is None or job.run_id in self.only_runs

    def pace_of(self, job_id: str) -> Pace | None:
        track = self.tracks.get(job_id)  # the scheduler holds the lock
        return track.pace if track is not None else None

    def forget(self, job_id: str) -> None:
        """Drop a job from memory (caller holds the lock)."""
        self.sched.drop(job_id)
        self.tracks.pop(job_id, None)
        with contextlib.suppress(ValueError):
            self.slot_waiters.remove(job_id)

    def forget_now(self, job_id: str) -> None:
        with self.lock:
            self.forget(job_id)

    # --- scheduling ----------------------------------------------------------------------------------

    def schedule(self, job_id: str, step: Step, delay_s: float, *, urgent: bool | None = None) -> None:
        """Queue the job's next step. A poll is urgent when the finish is expected (the schedule says so)
        or a finished clip waits on it (a fresh URL)."""
        with self.lock:
            if self.sched.stopping:
                return
            track = self.tracks.get(job_id)
            if step is Step.POLL and track is not None and track.poll_soon:
                track.poll_soon = False  # a callback came while this job's last step ran: look now
                delay_s, urgent = min(delay_s, self._poll_floor(track)), True
            if step is Step.POLL and urgent is None:
                urgent = bool(track and track.schedule and track.schedule.urgent)
            priority = URGENT_POLL if step is Step.POLL and urgent else PRIORITY[step]
            self.sched.push(job_id, step, delay_s, priority)

    def poll_now(self, job_id: str) -> bool:
        """A callback said the task moved: poll it as soon as the provider's floor between two polls allows.
        False when this engine does not drive the job. At most one poll comes of it (one queued entry)."""
        with self.lock:
            track = self.tracks.get(job_id)
            if track is None or self.sched.stopping:
                return False
            if self.sched.pending_step(job_id) is Step.POLL:
                self.sched.push(job_id, Step.POLL, self._poll_floor(track), URGENT_POLL)
            else:
                track.poll_soon = True
            return True

    def _poll_floor(self, track: Track) -> float:
        """Seconds until the family's minimum interval since this job's last poll has passed (caller holds the
        lock)."""
        if track.last_poll_mono is None or track.handle is None:
            return 0.0
        floor = self.catalog.family(track.handle.family).min_interval_s * track.time_scale
        return max(0.0, track.last_poll_mono + floor - self.clock())

    def request_watch(self) -> None:
        """Look at the ledger now rather than at the next watch tick (a callback hint was just written)."""
        with self.lock:
            self.sched.watch_now = True
            self.lock.notify_all()

    def request_rescan(self) -> None:
        with self.lock:
            self.sched.rescan_now = True
            self.lock.notify_all()

    def wake_waiters(self) -> None:
        with self.lock:
            waiting = list(self.slot_waiters)
            self.slot_waiters.clear()
        for job_id in waiting:
            self.schedule(job_id, Step.SUBMIT, 0.0)

    # --- state changes -------------------------------------------------------------------------------

    def bump(self) -> None:
        with self.changed:
            self.change_counter += 1
            self.changed.notify_all()

    def set_state(self, job_id: str, state: JobState, **fields: Any) -> Job:
        before = self.ledger.get(job_id)
        job = self.ledger.transition(job_id, state, **fields)
        self.bump()
        if before is None or before.state != job.state:
            self.on_change(job)
        if before is not None and before.state in SLOT_STATES and job.state not in SLOT_STATES:
            self.wake_waiters()
        if job.state.terminal or not job.state.active:
            self.forget_now(job_id)
        return job

    def park_for_key(self, job_id: str, **fields: Any) -> None:
        """No usable key in this process: mark the job, drop it from memory and give up its lease, so a
        process that has the key (another tab's server, `python -m jobs resume`) can take it."""
        self.ledger.update(job_id, needs_key=True, **fields)
        self.forget_now(job_id)
        self.ledger.release(self.owner, [job_id])
        self.bump()

    def work_on(self, job_id: str, state: JobState) -> tuple[Job, Track, Backend] | None:
        """The job, its in-memory track and its backend, if it is still ours to move from `state`."""
        job = self.ledger.get(job_id)
        track = self.track(job_id)
        if job is None or track is None or job.state != state:
            return None
        backend = self.backends.for_job(job)
        if backend is None:
            self.park_for_key(job_id)
            return None
        return job, track, backend

    # --- time ----------------------------------------------------------------------------------------

    def stamp(self, track: Track | None) -> float:
        """Wall time for a job's timestamps, never earlier than its submit plus monotonic time since: a wall
        clock set back mid-render cannot make a render time zero or negative (P10)."""
        now = time.time()
        if track is None or track.submitted_mono is None or track.submitted_wall is None:
            return now
        return max(now, track.submitted_wall + (self.clock() - track.submitted_mono))

    def elapsed(self, track: Track) -> float:
        """Provider seconds since submit (sandbox time unscaled)."""
        if track.submitted_mono is None:
            return 0.0
        return max(0.0, (self.clock() - track.submitted_mono) / track.time_scale)

    def render_time(self, model_id: str) -> RenderTime:
        """The model's render-time distribution: learned from the ledger, else the catalog prior."""
        now = time.monotonic()
        cached = self._render_cache.get(model_id)
        if cached and now - cached[0] < self.learned_ttl_s:
            return cached[1]
        prior_spec = self.catalog.get(model_id).render
        prior = RenderTime(p50_s=prior_spec.p50_s, p90_s=prior_spec.p90_s)
        learned = learn_render_time(self.ledger.render_times(model_id), prior)
        self._render_cache[model_id] = (now, learned)
        return learned

    def progress_curve(self, model_id: str) -> ProgressCurve | None:
        """The model's progress curve, learned from the progress its finished renders showed (None until enough
        did). Re-read at most every `learned_ttl_s`: renders finishing during a long batch teach the rest of it."""
        now = time.monotonic()
        cached = self._curve_cache.get(model_id)
        if cached and now - cached[0] < self.learned_ttl_s:
            return cached[1]
        curve = learn_curve(self.ledger.progress_samples(model_id, limit=CURVE_HISTORY))
        self._curve_cache[model_id] = (now, curve)
        return curve
