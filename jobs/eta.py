"""Expected render time per model and mode from this deployment's own history, else the catalog's prior.

Kling's pro mode renders slower than std, so history is split by `options["mode"]`; a mode with too
little history falls back to the catalog rather than borrowing the other mode's times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from jobs.ledger import Job, JobState, Ledger
from jobs.schedule import HISTORY_MIN_SAMPLES, RenderTime, learn_render_time
from providers.catalog import Catalog

HISTORY_LIMIT = 200
"""Newest finished jobs of a model read per lookup: recent enough to follow a provider's slow week."""
CACHE_TTL_S = 30.0


def render_seconds(job: Job) -> float | None:
    """A finished job's render time in provider seconds (the sandbox's scaled clock undone)."""
    if job.submitted_at is None or job.detected_at is None:
        return None
    finished = job.provider_finished_at
    # A provider clock outside submit..detection cannot be trusted; our detection time can.
    if finished is None or not (job.submitted_at <= finished <= job.detected_at + 1.0):
        finished = job.detected_at
    return max(0.0, (finished - job.submitted_at) / (job.time_scale or 1.0))


def job_mode(job: Job) -> str | None:
    mode = job.options.get("mode")
    return str(mode) if mode else None


def history_samples(ledger: Ledger, model_id: str, mode: str | None = None, *, default_mode: str | None = None,
                    limit: int = HISTORY_LIMIT) -> list[float]:
    """Render times of the model's recent finished jobs; only those in `mode` when one is given.

    A job sent without a mode option rendered in the model's `default_mode`.
    """
    jobs = ledger.list_jobs(states=[JobState.SUCCEEDED.value, JobState.DOWNLOADED.value], model_id=model_id,
                            limit=limit)
    out = []
    for job in jobs:
        if mode is not None and (job_mode(job) or default_mode) != mode:
            continue
        seconds = render_seconds(job)
        if seconds is not None:
            out.append(seconds)
    return out


def estimate_render_time(ledger: Ledger, catalog: Catalog, model_id: str, mode: str | None = None, *,
                         min_samples: int = HISTORY_MIN_SAMPLES) -> RenderTime:
    """p50/p90 in provider seconds: history of this model (and mode), else the catalog prior."""
    spec = catalog.get(model_id)
    prior = RenderTime(p50_s=spec.render.p50_s, p90_s=spec.render.p90_s)
    default = spec.params.mode.default if spec.params.mode is not None else None
    if default is None:
        mode = None  # a model without modes has one history
    samples = history_samples(ledger, model_id, mode or default, default_mode=default)
    return learn_render_time(samples, prior, min_samples=min_samples)


class EtaBook:
    """Cached estimates for the UI: one ledger read per model and mode every `ttl_s`, shared by all sessions."""

    def __init__(self, ledger: Ledger, catalog: Catalog | Callable[[], Catalog], *, ttl_s: float = CACHE_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger = ledger
        self._catalog = catalog
        self.ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[tuple[str, str | None], tuple[float, RenderTime]] = {}
        self._lock = threading.Lock()

    @property
    def catalog(self) -> Catalog:
        return self._catalog() if callable(self._catalog) else self._catalog

    def render_time(self, model_id: str, mode: str | None = None) -> RenderTime:
        key = (model_id, mode)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached and now - cached[0] < self.ttl_s:
            return cached[1]
        value = estimate_render_time(self.ledger, self.catalog, model_id, mode)
        with self._lock:
            self._cache[key] = (now, value)
        return value

    def remaining(self, job: Job, *, now: float | None = None) -> tuple[float, float] | None:
        """Real seconds until the p50 and p90 finish of a queued or running job (negative: overdue)."""
        if job.state not in (JobState.QUEUED, JobState.RUNNING) or not job.submitted_at:
            return None
        rt = self.render_time(job.model_id, job_mode(job))
        scale = job.time_scale or 1.0
        elapsed = (time.time() if now is None else now) - job.submitted_at
        return rt.p50_s * scale - elapsed, rt.p90_s * scale - elapsed

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def describe(rt: RenderTime, *, time_scale: float = 1.0) -> str:
    """"≈ 45 s (p90 1.2 min, from 12 of your runs)" for a card or a queue row."""
    where = f"from {rt.samples} of your runs" if rt.samples else "catalog estimate"
    return f"≈ {_dur(rt.p50_s * time_scale)} (p90 {_dur(rt.p90_s * time_scale)}, {where})"


def _dur(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
