"""Drives every job from intent row to verified clip: one scheduler thread, a small HTTP pool, the ledger as truth.

One runner per process. The scheduler thread keeps a heap of due work (submit, poll, download) and
waits on a condition until the next item is due; the work itself runs on a fixed thread pool, so a
hundred tasks in flight cost a hundred heap entries, not a hundred threads. Every decision is written
to the ledger first; memory only holds what can be rebuilt from it (poll schedules, retry counters).

A process that dies leaves its leases to expire (or, on this host, is seen dead by pid); the next
runner resumes every active job, and turns a job caught mid-submit into `submit_unknown`, never a
second POST.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import heapq
import itertools
import json
import logging
import os
import random
import socket
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from jobs.costs import recorded_cost
from jobs.keys import KeyRing
from jobs.ledger import SLOT_STATES, Job, JobState, Ledger, LedgerError
from jobs.probe import compare_requested
from jobs.schedule import FIRST_POLL_S, PollPolicy, PollSchedule, RenderTime, learn_render_time, submit_retry_delay
from providers import http
from providers.catalog import Catalog, PriceRule, price_rule_to_dict
from providers.client import Backend, CometClient
from providers.errors import (
    KIND_INFO,
    Charged,
    DailiesError,
    ErrorKind,
    ProviderError,
    SubmitUnknown,
    TaskNotFoundYet,
    TransientError,
)
from providers.mapping import prepare
from providers.recipe import ModelOptions, Recipe
from providers.redact import redact
from providers.status import TaskState, TaskStatus
from providers.submission import Submission

log = logging.getLogger(__name__)

JOB_NAMESPACE = uuid.UUID("6f1c9b1e-2f7a-4d7e-9a43-5d7b0c1e9a10")

NOT_FOUND_GRACE_S = 30.0
"""Provider seconds after submit in which `task_not_exist` means "not stored yet" (P1)."""
NOT_FOUND_GRACE_POLLS = 3
NO_URL_RETRIES = 3
"""Kling/Runway: "succeeded" without a URL yet is polled again this many times (P6)."""
LATE_LOOK_ATTEMPTS = 3
"""Past its deadline a job is polled until an answer arrives, at most this many times, before it goes stale."""
URL_REFRESHES = 2
"""Fresh-URL re-polls after a 403/404/410 on the result URL before the job is `expired` (D8)."""
DOWNLOAD_INVALID_RETRIES = 2
DOWNLOAD_TRANSIENT_RETRIES = 5
SUBMIT_NETWORK_RETRIES = 6
DEFAULT_POLL_RATE = 2.0
"""reliability.md §2d: a process-wide status bucket of about 2 requests/s (bursts of 5), at least."""
PRIORITY = {"download": 0, "urgent_poll": 1, "submit": 2, "reconcile": 2, "poll": 3}
"""Who gets a free worker first: a finished clip (its URL expires), then a poll where the finish is
expected, then a new task (or the search for one an unclear submit may have made), then routine polls."""
RECONCILE_FAMILIES = frozenset({"kling"})
"""Families whose tasks can be looked up by the id we sent with them (Kling's `external_task_id`, documented as
"can be used to query"), so an unclear submit is settled without asking the user or sending it again."""
LOOKED_UP = "Looked up"
"""Marks a submit_unknown job whose lookups are done (its message says the provider has no such task)."""
RECONCILE_LOOKUPS = 4
"""Lookups (5, 10, 20, 40 provider seconds apart) before an unclear Kling submit is left to the user."""
STOPPED_NOTE = "Tracking stopped; the provider task may still finish and be charged (no CometAPI route cancels it)."
SUBMIT_CRASH_NOTE = ("The engine stopped while this submit was in flight: the task may exist and be charged. "
                     "Check the provider's console before running it again; it is never resent automatically.")


class ClipSink(Protocol):
    def download(self, open_stream: Callable[[Mapping[str, str]], Any], name_hint: str) -> Any: ...


class SubmitRefused(DailiesError):
    """submit_run refused before anything was written (budget, unknown model, no key)."""


@dataclass
class _Track:
    """What the runner remembers about one job between heap entries (rebuildable from the ledger)."""

    job_id: str
    time_scale: float
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
    pace: tuple[http.RateLimiter, str] | None = None
    """The process-wide status limiter of this job's backend, and the host it is keyed by."""


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_local_owner(owner: str | None) -> bool:
    """A lease held by a process on this host that no longer exists: no need to wait for it to expire."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    return pid != os.getpid() and not _pid_alive(pid)


def stored_raw(raw: dict[str, Any]) -> str:
    """The provider's answer as the ledger keeps it: signed-URL tokens and keys redacted (the full URLs
    live only in memory, for the download)."""
    return redact(json.dumps(raw, default=str))


SNAPSHOT_CACHE_SIZE = 64
TASK_ID_WRITE_ATTEMPTS = 6
WATCH_INTERVAL_S = 2.0
"""How often the scheduler looks for ledger changes made by other processes (one single-row read)."""


def submission_mapping_json(sub: Submission, price: PriceRule | None = None) -> str:
    """What the ledger keeps of a mapping: the report, what was requested (to compare with the clip), and
    the price rule in force at submit (a later price change must not rewrite past spend)."""
    return json.dumps({
        "price_rule": price_rule_to_dict(price) if price is not None else None,
        "report": [{"field": m.field, "action": str(m.action), "requested": m.requested, "sent": m.sent,
                    "note": m.note} for m in sub.report],
        "requested_duration_s": sub.requested_duration_s,
        "requested_size": list(sub.requested_size) if sub.requested_size else None,
        "has_audio": sub.has_audio,
        "cost": {"low_usd": sub.cost.low_usd, "high_usd": sub.cost.high_usd, "exact": sub.cost.exact,
                 "rule": sub.cost.rule, "source": sub.cost.source, "as_of": sub.cost.as_of},
    }, default=str, sort_keys=True)


def applied_vs_requested(mapping: dict[str, Any], clip: Any, family: str) -> dict[str, Any]:
    """The probed clip next to what the mapping asked for: did the model honour duration, size, audio?

    The tolerances are the documented ones in `jobs.probe.compare_requested` (Runway's 1280:768 comes
    back as 1280x720 and is honoured); `mismatches` says what differs, in words the UI can show.
    """
    probe = clip.probe
    got = {"duration_s": round(float(probe.duration_s), 3), "width": probe.width, "height": probe.height,
           "fps": probe.fps, "has_audio": probe.has_audio, "video_codec": probe.video_codec}
    wanted_duration = mapping.get("requested_duration_s")
    wanted_size = mapping.get("requested_size")
    wanted_audio = mapping.get("has_audio")
    size = (int(wanted_size[0]), int(wanted_size[1])) if wanted_size else None
    mismatches = compare_requested(None if wanted_duration is None else float(wanted_duration), size, probe,
                                   family, requested_audio=None if wanted_audio is None else bool(wanted_audio))
    missed = {_HONOURED_KEY[m.field] for m in mismatches}
    asked = {"duration": wanted_duration is not None, "size": size is not None, "audio": wanted_audio is not None}
    checks: dict[str, bool | None] = {key: (key not in missed) if asked[key] else None for key in asked}
    return {"probe": got, "size_bytes": clip.size_bytes,
            "requested": {"duration_s": wanted_duration, "size": wanted_size, "has_audio": wanted_audio},
            "honoured": checks,
            "mismatches": [{"field": m.field, "requested": m.requested, "applied": m.applied, "note": m.note}
                           for m in mismatches]}


_HONOURED_KEY = {"duration": "duration", "resolution": "size", "aspect_ratio": "size", "audio": "audio"}


class Runner:
    """The process's job engine. Thread-safe; start() once, stop() on the way out (also run at exit)."""

    def __init__(self, ledger: Ledger, clips: ClipSink, catalog: Catalog, *, owner: str | None = None,
                 workers: int = 4, concurrency_cap: int = 4,
                 client_factory: Callable[[Backend], CometClient] | None = None, lease_ttl_s: float = 60.0,
                 rescan_interval_s: float = 30.0, poll_rate: float | None = None, poll_burst: int | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger = ledger
        self.clips = clips
        self.catalog = catalog
        self.owner = owner or _owner_id()
        self.concurrency_cap = max(1, concurrency_cap)
        self.lease_ttl_s = lease_ttl_s
        self.rescan_interval_s = rescan_interval_s
        self._workers = max(1, workers)
        self._clock = clock
        self._rng = rng or random.Random()
        self._keys = KeyRing()
        self._budget = http.RetryBudget()
        # Status requests per (provider) second for the whole process. By default the tutorial's own pace
        # for a full house, one GET per 10 s per concurrent task, never under reliability.md's 2/s: a cap on
        # a retry storm from many tabs, not a brake on a well-behaved schedule.
        rate = poll_rate if poll_rate is not None else max(DEFAULT_POLL_RATE, self.concurrency_cap / 10.0)
        burst = poll_burst if poll_burst is not None else max(5, round(rate))
        self._poll_rate, self._poll_burst = rate, burst
        self._live_limiter = http.RateLimiter(rate=rate, burst=burst)
        self._limiters: dict[float, http.RateLimiter] = {}
        self._client_factory = client_factory or self._default_client
        self._clients: dict[tuple[str, str], CometClient] = {}
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str, str, int]] = []  # (due, seq, job id, action, priority)
        self._ready: list[tuple[int, float, int, str, str]] = []  # due work by (priority, due) for a free worker
        self._busy = 0
        self._pending: dict[str, int] = {}  # job id -> seq of its one live heap entry
        self._seq = itertools.count()
        self._tracks: dict[str, _Track] = {}
        self._lookups: dict[str, int] = {}  # submit_unknown job id -> lookups done by its external_task_id
        self._slot_waiters: deque[str] = deque()
        self._inflight: set[concurrent.futures.Future[None]] = set()
        self._rescan_now = True
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._changed = threading.Condition()
        self._change_counter = 0
        self._seen_version = -1
        self._snap_lock = threading.Lock()
        self._snap_cache: dict[tuple[str, ...], tuple[int, list[Job]]] = {}
        self._render_cache: dict[str, tuple[float, RenderTime]] = {}

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Runner:
        with self._cond:
            if self._thread is not None:
                return self
            self._stopping = False
            self._pool = concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="dailies-http")
            self._thread = threading.Thread(target=self._loop, name="dailies-scheduler", daemon=True)
            self._thread.start()
        atexit.register(self.stop)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop promptly: no new work, wait briefly for HTTP calls in flight, give every lease back."""
        with self._cond:
            if self._thread is None:
                return
            self._stopping = True
            self._cond.notify_all()
            thread, pool = self._thread, self._pool
        deadline = time.monotonic() + timeout
        thread.join(timeout)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            with self._cond:
                inflight = list(self._inflight)
            concurrent.futures.wait(inflight, timeout=max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(Exception):  # noqa: BLE001 - best effort on the way out (atexit)
            self.ledger.release(self.owner)
        with self._cond:
            clients = list(self._clients.values())
            self._clients.clear()
            self._thread = None
            self._pool = None
            self._heap.clear()
            self._ready.clear()
            self._busy = 0
            self._pending.clear()
            self._tracks.clear()
            self._slot_waiters.clear()
        for client in clients:
            client.close()
        with contextlib.suppress(ValueError):
            atexit.unregister(self.stop)

    @property
    def status_limit(self) -> tuple[float, int]:
        """The process-wide status requests per (provider) second and burst; a sandbox scales it by its clock."""
        return self._poll_rate, self._poll_burst

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stopping

    # --- keys --------------------------------------------------------------------------------------

    def set_key(self, backend: Backend) -> str:
        """Hold a key in memory (by fingerprint) and resume the jobs that were waiting for it."""
        known = self._keys.get(backend.key_fingerprint, backend.base_url) is not None
        self._keys.add(backend)
        if not known:  # every page rerun calls this; only a new key can wake jobs that waited for it
            self._request_rescan()
        return backend.key_fingerprint

    def knows_key(self, fingerprint: str, base_url: str) -> bool:
        return self._keys.get(fingerprint, base_url) is not None

    def _backend_for(self, job: Job) -> Backend | None:
        return self._keys.get(job.key_fingerprint, job.base_url)

    def _limiter_for(self, backend: Backend) -> http.RateLimiter:
        if not backend.sandbox or backend.time_scale == 1.0:
            return self._live_limiter
        with self._cond:
            limiter = self._limiters.get(backend.time_scale)
            if limiter is None:
                limiter = http.RateLimiter(rate=self._poll_rate / backend.time_scale, burst=self._poll_burst)
                self._limiters[backend.time_scale] = limiter
            return limiter

    def _default_client(self, backend: Backend) -> CometClient:
        return CometClient(backend, budget=self._budget, limiter=self._limiter_for(backend), paced_by_caller=True)

    @staticmethod
    def _host(backend: Backend) -> str:
        return urlsplit(backend.base_url.strip()).netloc.lower()

    def _client(self, backend: Backend) -> CometClient:
        ident = (backend.key_fingerprint, backend.base_url.rstrip("/"))
        with self._cond:
            client = self._clients.get(ident)
        if client is None:
            client = self._client_factory(backend)
            with self._cond:
                client = self._clients.setdefault(ident, client)
        return client

    # --- submitting runs ---------------------------------------------------------------------------

    def prepare_run(self, recipe: Recipe, choices: Sequence[tuple[str, ModelOptions]]) -> list[Submission]:
        """Map the recipe onto each model (ValidationErrors before any spend)."""
        return [prepare(recipe, model_id, options, self.catalog) for model_id, options in choices]

    def submit_run(self, recipe: Recipe, choices: Sequence[tuple[str, ModelOptions]], backend: Backend, *,
                   takes: int = 1, run_id: str | None = None, request_id: str | None = None,
                   budget_limit_usd: float | None = None, budget_period_start: float | None = None,
                   fallback_model: str | None = None) -> list[str]:
        """Write one `waiting` intent row per (model, take) and queue them. Returns the job ids.

        The same `request_id` twice (a double click, a rerun) returns the first call's jobs. Raises
        ValidationErrors for a bad recipe and BudgetExceeded when the upper cost estimate of the run
        would pass `budget_limit_usd` for the backend's own pot (sandbox spend is never mixed with live).
        """
        return self.submit_groups([(recipe, choices)], backend, takes=takes, run_id=run_id, request_id=request_id,
                                  budget_limit_usd=budget_limit_usd, budget_period_start=budget_period_start,
                                  fallback_model=fallback_model)

    def submit_groups(self, groups: Sequence[tuple[Recipe, Sequence[tuple[str, ModelOptions]]]], backend: Backend,
                      *, takes: int = 1, run_id: str | None = None, request_id: str | None = None,
                      budget_limit_usd: float | None = None, budget_period_start: float | None = None,
                      fallback_model: str | None = None) -> list[str]:
        """One run of several recipes (per-model variants, a board re-run): every row in one ledger
        transaction, so the budget admits the whole run or none of it."""
        if takes < 1:
            raise SubmitRefused(f"takes: must be at least 1, got {takes}", kind=ErrorKind.VALIDATION)
        if not groups or not all(choices for _, choices in groups):
            raise SubmitRefused("models: pick at least one model", kind=ErrorKind.VALIDATION)
        if fallback_model is not None:
            self.catalog.get(fallback_model)
        prepared = [(recipe, choices, self.prepare_run(recipe, choices)) for recipe, choices in groups]
        self.set_key(backend)
        run = run_id or request_id or uuid.uuid4().hex
        backend_name = "sandbox" if backend.sandbox else "live"
        scale = backend.time_scale if backend.sandbox else 1.0
        specs: list[dict[str, Any]] = []
        for group, (recipe, choices, subs) in enumerate(prepared):
            for index, ((model_id, options), sub) in enumerate(zip(choices, subs, strict=True)):
                for take in range(takes):
                    # Group 0 keeps the single-recipe key, so ids made before groups existed still match.
                    key = f"{request_id}:{index}:{model_id}:{take}" + (f":g{group}" if group else "")
                    job_id = uuid.uuid5(JOB_NAMESPACE, key).hex if request_id else uuid.uuid4().hex
                    specs.append({
                        "id": job_id, "run_id": run, "take": take, "model_id": model_id, "family": sub.family,
                        "backend": backend_name, "base_url": backend.base_url.rstrip("/"),
                        "key_fingerprint": backend.key_fingerprint, "recipe_json": recipe.to_json(),
                        "options_json": json.dumps(options.to_dict(), sort_keys=True, default=str),
                        "mapping_json": submission_mapping_json(sub, self.catalog.get(model_id).price),
                        "content_path": None, "est_low_usd": sub.cost.low_usd, "est_high_usd": sub.cost.high_usd,
                        "fallback_model": fallback_model, "time_scale": scale,
                        "budget_limit_usd": budget_limit_usd, "budget_period_start": budget_period_start,
                    })
        jobs = self.ledger.create_jobs(specs, limit_usd=budget_limit_usd, period_start=budget_period_start)
        self._bump()
        for job in jobs:
            if job.state == JobState.WAITING:
                self._adopt(job)
        return [job.id for job in jobs]

    # --- actions the UI offers ---------------------------------------------------------------------

    def stop_tracking(self, job_id: str) -> Job:
        """The honest "cancel": stop polling. The provider may still render and charge the task."""
        if self.ledger.get(job_id) is None:
            raise KeyError(job_id)
        with self._cond:
            self._forget(job_id)
        # Decided inside one ledger transaction: a submit starting at the same moment cannot slip between.
        unsent = self.ledger.cancel_unsent(job_id, note="Canceled before it was sent; nothing charged.")
        if unsent is not None:
            self._bump()
            return unsent
        return self._set_state(job_id, JobState.CANCELED, note=STOPPED_NOTE)

    def resume(self, job_id: str) -> Job:
        """Poll a `stale` job again (its deadline starts over)."""
        job = self.ledger.get(job_id)
        if job is None:
            raise KeyError(job_id)
        if job.state != JobState.STALE or not job.task_id:
            return job
        spec = self.catalog.get(job.model_id)
        deadline = time.time() + spec.render.deadline_s * job.time_scale
        job = self._set_state(job_id, JobState.QUEUED, deadline_at=deadline, note="resumed")
        self._adopt(job)
        return job

    # --- reading -----------------------------------------------------------------------------------

    def snapshot(self, job_ids: Iterable[str] | None = None) -> list[Job]:
        """Copies of the jobs as the ledger has them (frozen dataclasses, safe to hand to the UI)."""
        if job_ids is None:
            return self.ledger.list_jobs()
        ids = tuple(job_ids)
        counter = self._change_counter  # read first: a write racing the read below only makes it re-read
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
        return self._change_counter

    def wait_for(self, pred: Callable[[], bool], timeout: float) -> bool:
        """Block until `pred()` is true (re-checked on every state change, at least every 0.2 s)."""
        end = time.monotonic() + timeout
        with self._changed:
            while True:
                if pred():
                    return True
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(timeout=min(remaining, 0.2))

    def render_time(self, model_id: str) -> RenderTime:
        """The model's render-time distribution: learned from the ledger, else the catalog prior."""
        now = time.monotonic()
        cached = self._render_cache.get(model_id)
        if cached and now - cached[0] < 30.0:
            return cached[1]
        prior_spec = self.catalog.get(model_id).render
        prior = RenderTime(p50_s=prior_spec.p50_s, p90_s=prior_spec.p90_s)
        learned = learn_render_time(self.ledger.render_times(model_id), prior)
        self._render_cache[model_id] = (now, learned)
        return learned

    # --- scheduler ---------------------------------------------------------------------------------

    def _request_rescan(self) -> None:
        with self._cond:
            self._rescan_now = True
            self._cond.notify_all()

    def _schedule(self, job_id: str, action: str, delay_s: float, *, urgent: bool | None = None) -> None:
        """Queue the job's next step. A poll is urgent when the finish is expected (the schedule says so)
        or a finished clip waits on it (a fresh URL)."""
        with self._cond:
            if self._stopping:
                return
            if action == "poll" and urgent is None:
                track = self._tracks.get(job_id)
                urgent = bool(track and track.schedule and track.schedule.urgent)
            priority = PRIORITY[action] if action != "poll" or not urgent else PRIORITY["urgent_poll"]
            seq = next(self._seq)
            self._pending[job_id] = seq
            heapq.heappush(self._heap, (self._clock() + max(0.0, delay_s), seq, job_id, action, priority))
            self._cond.notify_all()

    def _park_for_key(self, job_id: str, **fields: Any) -> None:
        """No usable key in this process: mark the job, drop it from memory and give up its lease, so a
        process that has the key (another tab's server, `python -m jobs resume`) can take it."""
        self.ledger.update(job_id, needs_key=True, **fields)
        with self._cond:
            self._forget(job_id)
        self.ledger.release(self.owner, [job_id])
        self._bump()

    def _forget(self, job_id: str) -> None:
        """Drop a job from memory (caller holds the condition). A stale heap entry is skipped later."""
        self._pending.pop(job_id, None)
        self._tracks.pop(job_id, None)
        with contextlib.suppress(ValueError):
            self._slot_waiters.remove(job_id)

    def _loop(self) -> None:
        next_heartbeat = self._clock() + self.lease_ttl_s / 3
        next_rescan = self._clock() + self.rescan_interval_s
        next_watch = self._clock()
        while True:
            with self._cond:
                if self._stopping:
                    return
                now = self._clock()
                while self._heap and self._heap[0][0] <= now:
                    when, seq, job_id, action, priority = heapq.heappop(self._heap)
                    if self._pending.get(job_id) == seq:
                        heapq.heappush(self._ready, (priority, when, seq, job_id, action))
                due, token_wait = self._take_ready()
                rescan = self._rescan_now or now >= next_rescan
                heartbeat = now >= next_heartbeat
                watch = now >= next_watch
                if not due and not rescan and not heartbeat and not watch:
                    # Sleep until the next item is due, a status token frees up, or a worker finishes
                    # (its completion notifies this condition).
                    wake = min(next_rescan, next_heartbeat, next_watch,
                               self._heap[0][0] if self._heap else float("inf"),
                               now + token_wait if token_wait is not None else float("inf"))
                    self._cond.wait(timeout=max(0.0, wake - now))
                    continue
                self._rescan_now = False
            for job_id, action in due:
                self._dispatch(job_id, action)
            if heartbeat:
                next_heartbeat = self._clock() + self.lease_ttl_s / 3
                self._guard(lambda: self.ledger.heartbeat(self.owner, self.lease_ttl_s))
            if rescan:
                next_rescan = self._clock() + self.rescan_interval_s
                self._guard(self._rescan)
            if watch:
                next_watch = self._clock() + WATCH_INTERVAL_S
                self._guard(self._watch_ledger)

    def _watch_ledger(self) -> None:
        """Another process (the CLI, a second app) changed the ledger: bump the counter the UI caches on."""
        version = self.ledger.data_version()
        if version != self._seen_version:
            self._seen_version = version
            self._bump()

    def _take_ready(self) -> tuple[list[tuple[str, str]], float | None]:
        """Due work for the free workers, most urgent first (caller holds the condition).

        A poll goes out only with a token from its backend's process-wide limiter, taken here, so no
        worker ever waits on the bucket; without one it stays ready, and the second value says when the
        next token comes. Downloads (a finished clip, its URL expiring) and submits need no token.
        """
        out: list[tuple[str, str]] = []
        held: list[tuple[int, float, int, str, str]] = []
        token_wait: float | None = None
        while self._ready and self._busy < self._workers:
            item = heapq.heappop(self._ready)
            _, _, seq, job_id, action = item
            if self._pending.get(job_id) != seq:
                continue  # superseded by a later step of the same job
            if action == "poll":
                track = self._tracks.get(job_id)
                pace = track.pace if track is not None else None
                if pace is not None:
                    wait = pace[0].try_acquire(pace[1])
                    if wait > 0:
                        held.append(item)
                        token_wait = wait if token_wait is None else min(token_wait, wait)
                        if all(a == "poll" for *_, a in self._ready):
                            break  # everything left is a poll waiting for the same bucket
                        continue
            del self._pending[job_id]
            self._busy += 1
            out.append((job_id, action))
        for item in held:
            heapq.heappush(self._ready, item)
        return out, token_wait

    def _guard(self, fn: Callable[[], Any]) -> None:
        """Keep the scheduler alive through an unexpected error (a locked database, a bug): log, go on."""
        try:
            fn()
        except Exception:  # noqa: BLE001 - the scheduler thread must survive anything one step raises
            log.exception("job engine step failed; continuing")

    def _dispatch(self, job_id: str, action: str) -> None:
        work = {"submit": self._do_submit, "poll": self._do_poll, "download": self._do_download,
                "reconcile": self._do_reconcile}[action]
        with self._cond:
            if self._stopping or self._pool is None:
                self._busy -= 1
                return
            future = self._pool.submit(self._run_work, work, job_id)
            self._inflight.add(future)
        future.add_done_callback(self._work_done)

    def _work_done(self, future: concurrent.futures.Future[None]) -> None:
        with self._cond:
            self._inflight.discard(future)
            self._busy -= 1
            self._cond.notify_all()

    def _run_work(self, work: Callable[[str], None], job_id: str) -> None:
        try:
            work(job_id)
        except Exception:  # noqa: BLE001 - one job's surprise must not kill a pool thread's other work
            log.exception("job %s: unexpected error; retrying on the next rescan", job_id)
            with self._cond:
                self._forget(job_id)

    def _rescan(self) -> None:
        """Adopt every active job whose lease is free: ours after a restart, or a dead process's."""
        with self._cond:
            known = set(self._tracks)
        candidates = {j.id: j for j in self.ledger.claimable(self.owner)}
        for job in self.ledger.list_jobs(states=[str(s) for s in JobState if s.active]):
            if job.id not in candidates and job.lease_owner != self.owner and _dead_local_owner(job.lease_owner):
                candidates[job.id] = job
        for job in candidates.values():
            if job.id in known:
                continue
            self._adopt(job, steal_from=job.lease_owner if _dead_local_owner(job.lease_owner) else None)
        with self._cond:
            waiters = bool(self._slot_waiters)
        if waiters:
            self._wake_waiters()
        # Unclear submits another process (the batch CLI, a stopped app) left before looking them up.
        for job in self.ledger.list_jobs(states=[str(JobState.SUBMIT_UNKNOWN)]):
            with self._cond:
                busy = job.id in self._pending or job.id in self._lookups
            if not busy and LOOKED_UP not in (job.error_message or "") and self._backend_for(job) is not None:
                self._look_for_task_later(job)

    def _adopt(self, job: Job, *, steal_from: str | None = None) -> None:
        """Take a job into memory under our lease and schedule its next step."""
        backend = self._backend_for(job)
        if backend is None:
            if not job.needs_key:
                self.ledger.update(job.id, needs_key=True)
                self._bump()
            return
        if not self.ledger.claim(job.id, self.owner, self.lease_ttl_s, steal_from=steal_from):
            return
        if job.needs_key:
            job = self.ledger.update(job.id, needs_key=False)
        track = _Track(job.id, time_scale=job.time_scale or 1.0,
                       pace=(self._limiter_for(backend), self._host(backend)))
        with self._cond:
            if self._stopping or job.id in self._tracks:
                return
            self._tracks[job.id] = track
        if job.state == JobState.SUBMITTING and job.task_id and job.poll_path:
            # The answer was recorded but the process died before the next transition: the task is known.
            deadline = (job.submitted_at or time.time()) + \
                self.catalog.get(job.model_id).render.deadline_s * (job.time_scale or 1.0)
            job = self._set_state(job.id, JobState.QUEUED, deadline_at=job.deadline_at or deadline,
                                  note="task id recorded before a restart")
        if job.state == JobState.SUBMITTING:
            # Found mid-submit: the POST may have reached the provider. Never resend (S2, invariant 4).
            job = self._set_state(job.id, JobState.SUBMIT_UNKNOWN, error_kind=str(ErrorKind.SUBMIT_UNKNOWN),
                                  error_message=SUBMIT_CRASH_NOTE, charged=str(Charged.UNKNOWN))
            with self._cond:
                self._forget(job.id)
            self._look_for_task_later(job)
            return
        if job.state == JobState.WAITING:
            self._schedule(job.id, "submit", 0.0)
            return
        self._start_polling(job, track)
        if job.state == JobState.SUCCEEDED:
            # A fresh URL: the one seen before the restart may be gone.
            self._schedule(job.id, "poll", 0.0, urgent=True)
        else:
            self._schedule(job.id, "poll", track.schedule.policy.min_interval_s * track.time_scale
                           if track.schedule else 0.0)

    def _start_polling(self, job: Job, track: _Track) -> None:
        spec = self.catalog.get(job.model_id)
        policy = PollPolicy.for_family(job.family, first_poll_s=spec.render.first_poll_after_s,
                                       deadline_s=spec.render.deadline_s)
        track.schedule = PollSchedule(policy, self.render_time(job.model_id), time_scale=track.time_scale,
                                      rng=self._rng)
        now_wall, now_mono = time.time(), self._clock()
        submitted = job.submitted_at or now_wall
        track.submitted_mono = now_mono - max(0.0, now_wall - submitted)
        track.submitted_wall = submitted
        deadline_at = job.deadline_at or submitted + policy.deadline_s * track.time_scale
        track.deadline_mono = now_mono + (deadline_at - now_wall)

    def _stamp(self, track: _Track | None) -> float:
        """Wall time for a job's timestamps, never earlier than its submit plus monotonic time since: a wall
        clock set back mid-render cannot make a render time zero or negative (P10)."""
        now = time.time()
        if track is None or track.submitted_mono is None or track.submitted_wall is None:
            return now
        return max(now, track.submitted_wall + (self._clock() - track.submitted_mono))

    def _elapsed(self, track: _Track) -> float:
        """Provider seconds since submit (sandbox time unscaled)."""
        if track.submitted_mono is None:
            return 0.0
        return max(0.0, (self._clock() - track.submitted_mono) / track.time_scale)

    def _track(self, job_id: str) -> _Track | None:
        with self._cond:
            return self._tracks.get(job_id)

    # --- state changes -----------------------------------------------------------------------------

    def _bump(self) -> None:
        with self._changed:
            self._change_counter += 1
            self._changed.notify_all()

    def _set_state(self, job_id: str, state: JobState, **fields: Any) -> Job:
        before = self.ledger.get(job_id)
        job = self.ledger.transition(job_id, state, **fields)
        self._bump()
        if before is not None and before.state in SLOT_STATES and job.state not in SLOT_STATES:
            self._wake_waiters()
        if job.state.terminal or not job.state.active:
            with self._cond:
                self._forget(job_id)
        return job

    def _wake_waiters(self) -> None:
        with self._cond:
            waiting = list(self._slot_waiters)
            self._slot_waiters.clear()
        for job_id in waiting:
            self._schedule(job_id, "submit", 0.0)

    # --- submit ------------------------------------------------------------------------------------

    def _work_on(self, job_id: str, state: JobState) -> tuple[Job, _Track, Backend] | None:
        """The job, its in-memory track and its backend, if it is still ours to move from `state`."""
        job = self.ledger.get(job_id)
        track = self._track(job_id)
        if job is None or track is None or job.state != state:
            return None
        backend = self._backend_for(job)
        if backend is None:
            self._park_for_key(job_id)
            return None
        return job, track, backend

    def _do_submit(self, job_id: str) -> None:
        work = self._work_on(job_id, JobState.WAITING)
        if work is None:
            return
        job, track, backend = work
        try:
            sub = prepare(Recipe.from_dict(job.recipe), job.model_id, ModelOptions.from_dict(job.options),
                          self.catalog, request_id=job.id)
        except DailiesError as exc:
            self._fail(job_id, exc, charged=Charged.NO)
            return
        try:
            # Before the job is marked as sending: a bad key or base URL must not look like a maybe-paid POST.
            client = self._client(backend)
        except DailiesError as exc:
            self._fail(job_id, exc, charged=Charged.NO)
            return
        spec = self.catalog.get(job.model_id)
        poll_path = sub.poll_path_template
        started = self.ledger.begin_submit(job_id, owner=self.owner, cap=self.concurrency_cap)
        if started is None:
            current = self.ledger.get(job_id)
            with self._cond:
                if current is None or current.state != JobState.WAITING or current.lease_owner != self.owner:
                    self._forget(job_id)  # someone else drives it now
                elif job_id not in self._slot_waiters:
                    self._slot_waiters.append(job_id)
            return
        self._bump()
        try:
            status = client.submit(sub)
        except SubmitUnknown as exc:
            job = self._set_state(job_id, JobState.SUBMIT_UNKNOWN, error_kind=str(exc.kind),
                                  error_message=exc.message, charged=str(exc.charged))
            self._look_for_task_later(job)
            return
        except TransientError as exc:
            self._requeue_submit(job_id, track, exc)
            return
        except ProviderError as exc:
            # The client already turned every answer that leaves the task's existence open into
            # SubmitUnknown; what is left is a refusal.
            self._fail(job_id, exc)
            return
        except DailiesError as exc:
            self._fail(job_id, exc)
            return
        now = time.time()
        path = poll_path.replace("{task_id}", status.task_id)
        content = sub.content_path_template.replace("{task_id}", status.task_id) if sub.content_path_template \
            else None
        # Invariant 2: the task id (and where to poll it) is durable before anything else happens.
        job = self._record_task_id(job_id, status, now, path, content)
        deadline_at = now + spec.render.deadline_s * track.time_scale
        job = self._set_state(job_id, JobState.QUEUED, deadline_at=deadline_at,
                              error_kind=None, error_message=None, note=None)
        if job.state.terminal:
            return
        self._start_polling(job, track)
        self._on_status(job, track, status, first=True)

    def _record_task_id(self, job_id: str, status: TaskStatus, now: float, path: str, content: str | None) -> Job:
        """The one write that must not fail after a paid POST: retried through a busy or locked database,
        and the task id logged before giving up, so it can always be found again."""
        for attempt in range(TASK_ID_WRITE_ATTEMPTS):
            try:
                return self.ledger.record_task_id(job_id, status.task_id, submitted_at=now, poll_path=path,
                                                  content_path=content, raw_status_json=stored_raw(status.raw))
            except sqlite3.OperationalError as exc:
                log.warning("recording task %s of job %s failed (%s), attempt %d", status.task_id, job_id, exc,
                            attempt + 1)
                if attempt + 1 == TASK_ID_WRITE_ATTEMPTS:
                    log.error("task %s of job %s is NOT in the ledger: reconcile it by hand", status.task_id, job_id)
                    raise
                time.sleep(0.2 * 2 ** attempt)  # the database is busy or locked: give it time, off the scheduler
        raise AssertionError("unreachable")

    def _requeue_submit(self, job_id: str, track: _Track, exc: TransientError) -> None:
        """A refused or never-sent POST: back to the local queue, to go out again later (S1, S4)."""
        track.submit_attempts += 1
        if exc.kind is not ErrorKind.RATE_LIMITED and track.submit_attempts > SUBMIT_NETWORK_RETRIES:
            self._fail(job_id, exc, charged=Charged.NO)
            return
        delay = submit_retry_delay(track.submit_attempts - 1, exc.retry_after_s, time_scale=track.time_scale,
                                   rng=self._rng)
        self._set_state(job_id, JobState.WAITING, error_kind=str(exc.kind),
                        error_message=f"{exc.message} — waiting to send again")
        self._schedule(job_id, "submit", delay)

    def _fail(self, job_id: str, exc: DailiesError, *, charged: Charged | None = None) -> None:
        kind = exc.kind
        job = self._set_state(job_id, JobState.FAILED, error_kind=str(kind), error_message=exc.message,
                              charged=str(charged or exc.charged), detected_at=self._stamp(self._track(job_id)))
        if kind is ErrorKind.PROVIDER_OUTAGE:
            self._maybe_fallback(job, reason="the provider failed the task")

    # --- poll --------------------------------------------------------------------------------------

    def _do_poll(self, job_id: str) -> None:
        job = self.ledger.get(job_id)
        track = self._track(job_id)
        if job is None or track is None or not job.state.active or not job.poll_path:
            with self._cond:
                self._forget(job_id)
            return
        if track.schedule is None:
            self._start_polling(job, track)
        assert track.schedule is not None
        # Past the deadline the job is stale only once an answer says it is still queued or running: the task
        # may have finished meanwhile (after a long server pause, or a laptop asleep), and its clip is paid for.
        past_deadline = (job.state != JobState.SUCCEEDED and track.deadline_mono is not None
                         and self._clock() >= track.deadline_mono)
        backend = self._backend_for(job)
        if backend is None:
            self._park_for_key(job_id)
            return
        try:
            status = self._client(backend).poll(job.family, job.poll_path)
        except TaskNotFoundYet as exc:
            track.not_found += 1
            if self._elapsed(track) <= NOT_FOUND_GRACE_S or track.not_found <= NOT_FOUND_GRACE_POLLS:
                self._schedule(job_id, "poll", track.schedule.next_delay(self._elapsed(track)))
                return
            self._set_state(job_id, JobState.FAILED, error_kind=str(ErrorKind.NOT_FOUND),
                            error_message=f"{exc.message} (still unknown after the grace window; task id kept)",
                            charged=str(Charged.UNKNOWN), detected_at=self._stamp(track))
            return
        except TransientError as exc:
            # P2: one failed status call never fails the job; skip this poll. Past the deadline, a few in a row
            # end the active polling (stale keeps the task id and can be resumed).
            if past_deadline:
                track.late_misses += 1
                if track.late_misses >= LATE_LOOK_ATTEMPTS:
                    self._mark_stale(job_id)
                    return
            self._schedule(job_id, "poll", track.schedule.next_delay(self._elapsed(track), hint_s=exc.retry_after_s))
            return
        except ProviderError as exc:
            if exc.kind is ErrorKind.AUTH:
                # The task still runs at the provider; only our key is wrong. Wait for a new one.
                self._keys.forget(job.key_fingerprint or "")
                self._park_for_key(job_id, error_kind=str(exc.kind), error_message=exc.message)
                return
            self._set_state(job_id, JobState.FAILED, error_kind=str(exc.kind), error_message=exc.message,
                            charged=str(exc.charged), detected_at=self._stamp(track))
            return
        track.not_found = 0
        if past_deadline and status.state in (TaskState.QUEUED, TaskState.RUNNING):
            self._mark_stale(job_id)
            return
        self._on_status(job, track, status)

    # --- reconciling an unclear submit (reliability.md §5.4) ----------------------------------------

    def _look_for_task_later(self, job: Job) -> None:
        """After an unclear submit, look the task up by the id we sent with it, where the provider allows that."""
        if job.state != JobState.SUBMIT_UNKNOWN or job.family not in RECONCILE_FAMILIES:
            return
        with self._cond:
            tries = self._lookups.get(job.id, 0)
        scale = job.time_scale or 1.0
        self._schedule(job.id, "reconcile", FIRST_POLL_S.get(job.family, 5.0) * 2 ** tries * scale)

    def _do_reconcile(self, job_id: str) -> None:
        job = self.ledger.get(job_id)
        backend = self._backend_for(job) if job is not None else None
        if job is None or backend is None or job.state != JobState.SUBMIT_UNKNOWN or job.task_id:
            return
        try:
            sub = prepare(Recipe.from_dict(job.recipe), job.model_id, ModelOptions.from_dict(job.options),
                          self.catalog, request_id=job.id)
        except DailiesError:
            sub = None
        if sub is None or (sub.request.json or {}).get("external_task_id") != job.id:
            with self._cond:  # sent without our id (an older job): only the user can settle it
                self._lookups[job_id] = RECONCILE_LOOKUPS
            return
        with self._cond:
            self._lookups[job_id] = self._lookups.get(job_id, 0) + 1
            tries = self._lookups[job_id]
        try:
            status = self._client(backend).poll(job.family, sub.poll_path_template.replace("{task_id}", job.id))
        except (TaskNotFoundYet, TransientError) as exc:
            if tries < RECONCILE_LOOKUPS:
                self._look_for_task_later(job)
                return
            # Done here: `_lookups` keeps the count, so this process does not start over on every rescan.
            if isinstance(exc, TaskNotFoundYet):
                self.ledger.update(job_id, error_message=(
                    f"{job.error_message} {LOOKED_UP} {tries} times by this job's own id (external_task_id): the "
                    "provider has no such task, so the POST most likely created nothing. Dailies never resends it "
                    "on its own; run it again if you want it."))
            return
        except DailiesError as exc:
            log.info("job %s: looking up its task failed: %s", job_id, exc)
            return
        with self._cond:
            self._lookups.pop(job_id, None)
        self._take_found_task(job, backend, sub, status)

    def _take_found_task(self, job: Job, backend: Backend, sub: Submission, status: TaskStatus) -> None:
        now = time.time()
        submitted = job.submitted_at or now
        scale = job.time_scale or 1.0
        content = sub.content_path_template.replace("{task_id}", status.task_id) if sub.content_path_template \
            else None
        found = self.ledger.adopt_found_task(
            job.id, status.task_id, owner=self.owner, ttl_s=self.lease_ttl_s, submitted_at=submitted,
            poll_path=sub.poll_path_template.replace("{task_id}", status.task_id), content_path=content,
            deadline_at=submitted + self.catalog.get(job.model_id).render.deadline_s * scale,
            note="Found at the provider by this job's own id after an unclear submit: tracked, never resent.",
            raw_status_json=stored_raw(status.raw))
        if found is None:
            return  # another process found it first, or the user settled it
        track = _Track(found.id, time_scale=scale, pace=(self._limiter_for(backend), self._host(backend)))
        with self._cond:
            if self._stopping or found.id in self._tracks:
                return
            self._tracks[found.id] = track
        self._bump()
        self._start_polling(found, track)
        self._on_status(found, track, status, first=True)

    def _mark_stale(self, job_id: str) -> None:
        self._set_state(job_id, JobState.STALE, error_kind=str(ErrorKind.TIMEOUT),
                        error_message="Past the model's deadline: polling stopped. The task id is kept; "
                                      "resume to check again.", charged=str(Charged.LIKELY))

    def _on_status(self, job: Job, track: _Track, status: TaskStatus, *, first: bool = False) -> None:
        assert track.schedule is not None
        job_id = job.id
        raw = stored_raw(status.raw)
        elapsed = self._elapsed(track)
        if status.state in (TaskState.QUEUED, TaskState.RUNNING):
            if job.state == JobState.SUCCEEDED:
                # P5: a finished task reported as running again; the ledger keeps it finished.
                self._schedule(job_id, "poll", track.schedule.next_delay(elapsed))
                return
            running = status.state == TaskState.RUNNING
            target = JobState.RUNNING if running else JobState.QUEUED
            news = (target != job.state and not (job.state == JobState.RUNNING and target == JobState.QUEUED)) or (
                status.progress is not None and status.progress != job.progress)
            if first or news:
                # Only news is written: an unchanged "still processing" would cost a synced commit per poll.
                fields: dict[str, Any] = {"raw_status_json": raw}
                if status.progress is not None:
                    fields["progress"] = status.progress
                if running and job.state != JobState.RUNNING:
                    fields["first_running_at"] = self._stamp(track)
                job = self._set_state(job_id, target, **fields)
                if not job.state.active:
                    return
            track.schedule.observe(elapsed, status.progress if running else None, running=running)
            if (job.state == JobState.QUEUED and job.fallback_model and not track.fallback_done
                    and elapsed > self.render_time(job.model_id).p90_s):
                track.fallback_done = True
                self._maybe_fallback(job, reason="stuck in the provider's queue")
            delay = (track.schedule.first_delay() if first
                     else track.schedule.next_delay(elapsed, hint_s=status.poll_after_s))
            if first and status.poll_after_s:
                delay = max(delay, status.poll_after_s * track.time_scale)
            # The first poll is urgent too: it catches instant rejections, and a short render's finish.
            self._schedule(job_id, "poll", delay, urgent=True if first else None)
            return
        if status.state == TaskState.SUCCEEDED:
            urls = self._result_urls(job, status)
            if not urls:
                track.no_url += 1
                if track.no_url <= NO_URL_RETRIES:
                    self._schedule(job_id, "poll", track.schedule.next_delay(elapsed))
                    return
                self._set_state(job_id, JobState.FAILED, error_kind=str(ErrorKind.MALFORMED_RESPONSE),
                                error_message="The provider reported success but gave no video URL "
                                              f"after {NO_URL_RETRIES + 1} checks (completed_no_output).",
                                charged=str(Charged.YES), detected_at=self._stamp(track), raw_status_json=raw)
                return
            track.urls = urls
            job = self._set_state(job_id, JobState.SUCCEEDED, progress=100, raw_status_json=raw,
                                  provider_finished_at=status.finished_at, detected_at=self._stamp(track),
                                  error_kind=None, error_message=None)
            if job.state == JobState.SUCCEEDED:
                self._schedule(job_id, "download", 0.0)
            return
        if status.state == TaskState.CANCELED:
            self._set_state(job_id, JobState.CANCELED, note="Canceled at the provider.", raw_status_json=raw,
                            detected_at=self._stamp(track))
            return
        kind = status.error_kind or ErrorKind.TASK_FAILED
        job = self._set_state(job_id, JobState.FAILED, error_kind=str(kind),
                              error_message=status.error_message or KIND_INFO[kind].title,
                              charged=str(KIND_INFO[kind].charged), raw_status_json=raw,
                              provider_finished_at=status.finished_at, detected_at=self._stamp(track))
        if kind is ErrorKind.PROVIDER_OUTAGE:
            self._maybe_fallback(job, reason="the provider failed the task")

    def _result_urls(self, job: Job, status: TaskStatus) -> list[str]:
        """Where the clip may be fetched, best first (Veo/Sora: video_url, metadata.url, then /content)."""
        urls: list[str] = []
        if status.video_url:
            urls.append(status.video_url)
        if job.family in ("veo", "sora"):
            meta = status.raw.get("metadata") if isinstance(status.raw, dict) else None
            meta_url = meta.get("url") if isinstance(meta, dict) else None
            if isinstance(meta_url, str) and meta_url.strip():
                urls.append(meta_url.strip())
            if job.content_path:
                urls.append(job.base_url.rstrip("/") + job.content_path)
        return list(dict.fromkeys(urls))

    # --- download ----------------------------------------------------------------------------------

    def _do_download(self, job_id: str) -> None:
        work = self._work_on(job_id, JobState.SUCCEEDED)
        if work is None:
            return
        job, track, backend = work
        if not track.urls:
            self._schedule(job_id, "poll", 0.0, urgent=True)
            return
        client = self._client(backend)
        url = track.urls[0]
        try:
            clip = self.clips.download(lambda headers: client.open_download(url, headers=headers),
                                       f"{job.model_id}-{job.id[:12]}")
        except TransientError as exc:
            self._retry_download(job_id, track, exc)
            return
        except ProviderError as exc:
            if exc.kind is ErrorKind.URL_EXPIRED:
                self._url_gone(job_id, track, exc)
            elif type(exc).__name__ == "StorageError":
                self._retry_download(job_id, track, exc)
            else:
                track.invalid_downloads += 1
                if track.invalid_downloads <= DOWNLOAD_INVALID_RETRIES:
                    self._schedule(job_id, "poll", track.schedule.policy.min_interval_s * track.time_scale
                                   if track.schedule else 0.0)
                    return
                self._set_state(job_id, JobState.FAILED, error_kind=str(exc.kind), error_message=exc.message,
                                charged=str(Charged.YES))
            return
        except OSError as exc:
            self._retry_download(job_id, track, exc)
            return
        meta = applied_vs_requested(job.mapping, clip, job.family)
        self._set_state(job_id, JobState.DOWNLOADED, clip_path=str(clip.path), clip_url=clip.url,
                        clip_sha256=clip.sha256, clip_meta_json=json.dumps(meta, default=str),
                        thumb_url=getattr(clip, "thumb_url", None), downloaded_at=self._stamp(track), error_kind=None,
                        error_message=None, charged=str(Charged.YES))
        self._settle(job_id)

    def _settle(self, job_id: str) -> None:
        """Replace the job's reserved upper estimate with the price rule applied to the delivered clip."""
        job = self.ledger.get(job_id)
        amount = recorded_cost(job, self.catalog) if job is not None else None
        if job is not None and amount is not None:
            self.ledger.reserve(job_id, amount, limit_usd=None, period_start=None, backend=job.backend,
                                model_id=job.model_id)

    def _url_gone(self, job_id: str, track: _Track, exc: ProviderError) -> None:
        """D8: a 403/404/410 on the result URL. Try the next candidate, then ask the task for a fresh URL."""
        track.urls.pop(0)
        if track.urls:
            self._schedule(job_id, "download", 0.0)
            return
        track.url_refreshes += 1
        if track.url_refreshes <= URL_REFRESHES:
            self.ledger.update(job_id, error_kind=str(exc.kind), error_message=f"{exc.message} — fetching a fresh URL")
            self._schedule(job_id, "poll", 0.0, urgent=True)
            return
        self._set_state(job_id, JobState.EXPIRED, error_kind=str(ErrorKind.URL_EXPIRED),
                        error_message=f"{exc.message}; no fresh URL after {URL_REFRESHES} re-polls "
                                      "(expired_unrecoverable: the clip was billed but cannot be fetched).",
                        charged=str(Charged.YES))

    def _retry_download(self, job_id: str, track: _Track, exc: BaseException) -> None:
        """Network trouble or a full disk: the job stays `succeeded` and the download is tried again."""
        track.transient_downloads += 1
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        self.ledger.update(job_id, error_message=f"download not finished yet: {message}")
        self._bump()
        if track.transient_downloads > DOWNLOAD_TRANSIENT_RETRIES:
            with self._cond:
                self._forget(job_id)  # left `succeeded`; the periodic rescan tries again
            self.ledger.release(self.owner, [job_id])
            return
        delay = submit_retry_delay(track.transient_downloads - 1, getattr(exc, "retry_after_s", None),
                                   time_scale=track.time_scale, rng=self._rng)
        self._schedule(job_id, "download", delay)

    # --- fallback ----------------------------------------------------------------------------------

    def _maybe_fallback(self, job: Job, *, reason: str) -> None:
        """Opt-in: send the same recipe to the job's fallback model as a new, linked job (budget applies)."""
        if not job.fallback_model or job.parent_job_id or self.ledger.children(job.id):
            return
        backend = self._backend_for(job)
        if backend is None:
            return
        try:
            sub = prepare(Recipe.from_dict(job.recipe), job.fallback_model, ModelOptions(), self.catalog)
        except DailiesError as exc:
            self.ledger.update(job.id, note=f"Fallback to {job.fallback_model} not possible: {exc.message}")
            return
        spec = {
            "id": uuid.uuid5(JOB_NAMESPACE, f"fallback:{job.id}").hex, "run_id": job.run_id, "take": job.take,
            "model_id": job.fallback_model, "family": sub.family, "backend": job.backend, "base_url": job.base_url,
            "key_fingerprint": job.key_fingerprint, "recipe_json": job.recipe_json, "options_json": "{}",
            "mapping_json": submission_mapping_json(sub, self.catalog.get(job.fallback_model).price),
            "est_low_usd": sub.cost.low_usd,
            "est_high_usd": sub.cost.high_usd, "parent_job_id": job.id, "time_scale": job.time_scale,
            "budget_limit_usd": job.budget_limit_usd, "budget_period_start": job.budget_period_start,
        }
        try:
            (child,) = self.ledger.create_jobs([spec], limit_usd=job.budget_limit_usd,
                                               period_start=job.budget_period_start)
        except LedgerError as exc:  # BudgetExceeded: note it, keep the original job
            self.ledger.update(job.id, note=f"Fallback to {job.fallback_model} refused: {exc}")
            return
        self.ledger.update(job.id, note=f"{reason}; the recipe went to {job.fallback_model} as job {child.id[:8]}. "
                                        "This task may still finish and be charged.")
        self._bump()
        self._adopt(child)

