"""One scheduler thread over a heap of due work, dispatching onto a fixed pool of HTTP workers.

A hundred tasks in flight cost a hundred heap entries, not a hundred threads. Each job has at most one live
entry (a later step supersedes an earlier one); due entries move to a ready queue ordered by priority, and a
poll leaves it only with a token from its backend's process-wide status limiter, taken here, so no worker
ever waits on the bucket.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jobs.engine.backends import Pace
from providers.errors import DailiesError

log = logging.getLogger(__name__)


class Step(StrEnum):
    SUBMIT = "submit"
    POLL = "poll"
    DOWNLOAD = "download"
    RECONCILE = "reconcile"


URGENT_POLL = 1
PRIORITY: dict[Step, int] = {Step.DOWNLOAD: 0, Step.SUBMIT: 2, Step.RECONCILE: 2, Step.POLL: 3}
"""Who gets a free worker first: a finished clip (its URL expires), then a poll where the finish is
expected (URGENT_POLL), then a new task (or the search for one an unclear submit may have made), then
routine polls."""


@dataclass(frozen=True, order=True)
class Due:
    """A step waiting for its time, in the heap."""

    at: float
    seq: int
    job_id: str = field(compare=False)
    step: Step = field(compare=False)
    priority: int = field(compare=False)


@dataclass(frozen=True, order=True)
class Ready:
    """A step whose time has come, waiting for a worker (and a poll for a status token)."""

    priority: int
    at: float
    seq: int
    job_id: str = field(compare=False)
    step: Step = field(compare=False)


@dataclass
class Timers:
    """The scheduler thread's housekeeping, run between dispatches."""

    heartbeat: Callable[[], Any]
    heartbeat_s: float
    rescan: Callable[[], Any]
    rescan_s: float
    watch: Callable[[], Any]
    watch_s: float


class Scheduler:
    """Thread-safe through `cond`, which the engine's other in-memory state shares."""

    def __init__(self, workers: int, clock: Callable[[], float]) -> None:
        self.cond = threading.Condition()
        self.workers = max(1, workers)
        self._clock = clock
        self._heap: list[Due] = []
        self._ready: list[Ready] = []
        self._busy = 0
        self._pending: dict[str, int] = {}  # job id -> seq of its one live entry
        self._steps: dict[str, Step] = {}  # job id -> the step of that entry
        self._seq = itertools.count()
        self._inflight: set[concurrent.futures.Future[None]] = set()
        self.rescan_now = True
        self.watch_now = False
        """Run the ledger watch at once (a callback hint was written in this process)."""
        self.stopping = False
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    # --- lifecycle (callers hold nothing) --------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self, timers: Timers, work_for: Callable[[Step], Callable[[str], None]],
              on_error: Callable[[str], None], pace_of: Callable[[str], Pace | None]) -> bool:
        with self.cond:
            if self._thread is not None:
                return False
            self.stopping = False
            self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="dailies-http")
            self._thread = threading.Thread(target=self._loop, args=(timers, work_for, on_error, pace_of),
                                            name="dailies-scheduler", daemon=True)
            self._thread.start()
        return True

    def halt(self, timeout: float, deadline: float, now: Callable[[], float]) -> bool:
        """No new work; wait for the scheduler thread, then briefly for HTTP calls in flight."""
        with self.cond:
            if self._thread is None:
                return False
            self.stopping = True
            self.cond.notify_all()
            thread, pool = self._thread, self._pool
        thread.join(timeout)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            with self.cond:
                inflight = list(self._inflight)
            concurrent.futures.wait(inflight, timeout=max(0.0, deadline - now()))
        return True

    def reset(self) -> None:
        """Forget every entry (caller holds `cond`)."""
        self._thread = None
        self._pool = None
        self._heap.clear()
        self._ready.clear()
        self._busy = 0
        self._pending.clear()
        self._steps.clear()

    # --- entries (caller holds `cond`) ---------------------------------------------------------------

    def push(self, job_id: str, step: Step, delay_s: float, priority: int) -> None:
        seq = next(self._seq)
        self._pending[job_id] = seq
        self._steps[job_id] = step
        heapq.heappush(self._heap, Due(self._clock() + max(0.0, delay_s), seq, job_id, step, priority))
        self.cond.notify_all()

    def drop(self, job_id: str) -> None:
        """Supersede the job's live entry: a stale heap entry is skipped later."""
        self._pending.pop(job_id, None)
        self._steps.pop(job_id, None)

    def pending_step(self, job_id: str) -> Step | None:
        """The step the job waits for in the heap; None while one runs (or nothing is queued)."""
        return self._steps.get(job_id) if job_id in self._pending else None

    def has_entry(self, job_id: str) -> bool:
        return job_id in self._pending

    # --- the thread ----------------------------------------------------------------------------------

    def _loop(self, timers: Timers, work_for: Callable[[Step], Callable[[str], None]],
              on_error: Callable[[str], None], pace_of: Callable[[str], Pace | None]) -> None:
        next_heartbeat = self._clock() + timers.heartbeat_s
        next_rescan = self._clock() + timers.rescan_s
        next_watch = self._clock()
        while True:
            with self.cond:
                if self.stopping:
                    return
                now = self._clock()
                while self._heap and self._heap[0].at <= now:
                    entry = heapq.heappop(self._heap)
                    if self._pending.get(entry.job_id) == entry.seq:
                        heapq.heappush(self._ready, Ready(entry.priority, entry.at, entry.seq, entry.job_id,
                                                          entry.step))
                due, token_wait = self._take_ready(pace_of)
                rescan = self.rescan_now or now >= next_rescan
                heartbeat = now >= next_heartbeat
                watch = self.watch_now or now >= next_watch
                if not due and not rescan and not heartbeat and not watch:
                    # Sleep until the next item is due, a status token frees up, or a worker finishes
                    # (its completion notifies this condition).
                    wake = min(next_rescan, next_heartbeat, next_watch,
                               self._heap[0].at if self._heap else float("inf"),
                               now + token_wait if token_wait is not None else float("inf"))
                    self.cond.wait(timeout=max(0.0, wake - now))
                    continue
                self.rescan_now = False
                if watch:
                    self.watch_now = False
            for ready in due:
                self._dispatch(ready.job_id, work_for(ready.step), on_error)
            if heartbeat:
                next_heartbeat = self._clock() + timers.heartbeat_s
                guard(timers.heartbeat)
            if rescan:
                next_rescan = self._clock() + timers.rescan_s
                guard(timers.rescan)
            if watch:
                next_watch = self._clock() + timers.watch_s
                guard(timers.watch)

    def _take_ready(self, pace_of: Callable[[str], Pace | None]) -> tuple[list[Ready], float | None]:
        """Due work for the free workers, most urgent first (caller holds `cond`).

        Without a token a poll stays ready, and the second value says when the next token comes.
        Downloads (a finished clip, its URL expiring) and submits need no token.
        """
        out: list[Ready] = []
        held: list[Ready] = []
        token_wait: float | None = None
        while self._ready and self._busy < self.workers:
            item = heapq.heappop(self._ready)
            if self._pending.get(item.job_id) != item.seq:
                continue  # superseded by a later step of the same job
            if item.step is Step.POLL:
                pace = pace_of(item.job_id)
                if pace is not None:
                    wait = pace.try_acquire()
                    if wait > 0:
                        held.append(item)
                        token_wait = wait if token_wait is None else min(token_wait, wait)
                        if all(r.step is Step.POLL for r in self._ready):
                            break  # everything left is a poll waiting for the same bucket
                        continue
            del self._pending[item.job_id]
            self._steps.pop(item.job_id, None)
            self._busy += 1
            out.append(item)
        for item in held:
            heapq.heappush(self._ready, item)
        return out, token_wait

    def _dispatch(self, job_id: str, work: Callable[[str], None], on_error: Callable[[str], None]) -> None:
        with self.cond:
            if self.stopping or self._pool is None:
                self._busy -= 1
                return
            future = self._pool.submit(_run_work, work, job_id, on_error)
            self._inflight.add(future)
        future.add_done_callback(self._work_done)

    def _work_done(self, future: concurrent.futures.Future[None]) -> None:
        with self.cond:
            self._inflight.discard(future)
            self._busy -= 1
            self.cond.notify_all()


def guard(fn: Callable[[], Any]) -> None:
    """Keep the scheduler alive through an unexpected error (a locked database, a bug): log, go on."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - the scheduler thread must survive anything one step raises
        log.exception("job engine step failed; continuing")


def _run_work(work: Callable[[str], None], job_id: str, on_error: Callable[[str], None]) -> None:
    try:
        work(job_id)
    except DailiesError as exc:  # raised on purpose: its message says it all, a traceback would add noise
        log.warning("job %s: %s; retrying on the next rescan", job_id, exc.message)
        on_error(job_id)
    except Exception:  # noqa: BLE001 - one job's surprise must not kill a pool thread's other work
        log.exception("job %s: unexpected error; retrying on the next rescan", job_id)
        on_error(job_id)
