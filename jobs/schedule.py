"""When to ask a provider about a task next: sparse while the render cannot be done, dense near its finish.

Pure: the clock and the random source are arguments, so the schedule is tested without waiting.
Times inside a schedule are *provider seconds since submit*; `PollSchedule` turns them into real
seconds by multiplying with the backend's time scale (1.0 live; the sandbox's factor otherwise).

The rules (reliability.md §0.2 and §2b):

* the first poll comes soon (5 s Kling/Runway, 10 s Veo/Sora) to catch instant rejections;
* the expected finish comes from progress when the provider reports it (two samples give a slope,
  so the next poll lands on the predicted finish), otherwise from the model's render-time
  distribution: learned p50/p90 from the ledger, or the catalog's prior before there is history;
* before that window we sleep towards it (at most `far_cap_s` per sleep); inside it the interval
  starts at 3 s and grows x1.5 to a 15 s cap; every interval gets x U(0.8, 1.2) jitter so sessions
  don't poll in lockstep (an ETA landing is jittered only downwards: late is the costly side);
* a server hint (`openai-poll-after-ms`, `Retry-After`) always wins, also when it is longer;
* a per-provider floor (Runway >= 5 s) holds whatever the hint or the ETA says;
* past the model's deadline the job is `stale`: polling stops, the task id stays.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

FIRST_POLL_S: dict[str, float] = {"kling": 5.0, "runway": 5.0, "veo": 10.0, "sora": 10.0}
MIN_INTERVAL_S: dict[str, float] = {"runway": 5.0}
DEFAULT_MIN_INTERVAL_S = 2.0
DEFAULT_DEADLINE_S = 1200.0
HISTORY_MIN_SAMPLES = 5


@dataclass(frozen=True)
class RenderTime:
    """A model's render-time distribution in provider seconds."""

    p50_s: float
    p90_s: float
    source: str = "catalog"
    samples: int = 0

    @property
    def window(self) -> tuple[float, float]:
        """Where most renders finish: from a bit before the median to the 90th percentile."""
        return 0.6 * self.p50_s, max(self.p90_s, self.p50_s)


def learn_render_time(samples: Sequence[float], prior: RenderTime, *,
                      min_samples: int = HISTORY_MIN_SAMPLES) -> RenderTime:
    """p50/p90 of observed render times once there are enough of them, else the prior."""
    clean = sorted(s for s in samples if math.isfinite(s) and s > 0)
    if len(clean) < min_samples:
        return prior
    p50 = statistics.median(clean)
    p90 = clean[min(len(clean) - 1, math.ceil(0.9 * len(clean)) - 1)]
    return RenderTime(p50_s=p50, p90_s=max(p90, p50), source="history", samples=len(clean))


@dataclass(frozen=True)
class PollPolicy:
    first_poll_s: float
    min_interval_s: float = DEFAULT_MIN_INTERVAL_S
    dense_start_s: float = 3.0
    dense_growth: float = 1.5
    dense_cap_s: float = 15.0
    far_cap_s: float = 60.0
    jitter_lo: float = 0.8
    jitter_hi: float = 1.2
    deadline_s: float = DEFAULT_DEADLINE_S
    hint_max_s: float = 3600.0

    @classmethod
    def for_family(cls, family: str, *, first_poll_s: float | None = None,
                   deadline_s: float | None = None) -> PollPolicy:
        return cls(first_poll_s=first_poll_s if first_poll_s is not None else FIRST_POLL_S.get(family, 10.0),
                   min_interval_s=MIN_INTERVAL_S.get(family, DEFAULT_MIN_INTERVAL_S),
                   deadline_s=deadline_s if deadline_s is not None else DEFAULT_DEADLINE_S)


class PollSchedule:
    """The poll plan of one job. Feed it each answer with `observe`, ask it `next_delay`."""

    def __init__(self, policy: PollPolicy, render: RenderTime, *, time_scale: float = 1.0,
                 rng: random.Random | None = None) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.policy = policy
        self.render = render
        self.time_scale = time_scale
        self._rng = rng or random.Random()
        self._samples: list[tuple[float, float]] = []  # (elapsed provider s, progress 0-100) while running
        self._dense_step = 0
        self.polls = 0

    # --- inputs --------------------------------------------------------------------------------------

    def observe(self, elapsed_s: float, progress: float | None) -> None:
        """Record one status answer. Progress of 0 (queued) or 100 says nothing about the slope."""
        self.polls += 1
        if progress is None or not math.isfinite(progress) or not 0 < progress < 100:
            return
        if self._samples and progress <= self._samples[-1][1]:
            return  # stuck or backwards progress is no evidence of speed
        self._samples.append((elapsed_s, float(progress)))
        del self._samples[:-4]

    # --- outputs -------------------------------------------------------------------------------------

    def first_delay(self) -> float:
        return self._real(max(self.policy.first_poll_s, self.policy.min_interval_s) * self._jitter())

    def expected_finish_s(self) -> float | None:
        """Predicted provider seconds from submit to finish, from the progress slope; None without one."""
        if len(self._samples) >= 2:
            (t0, p0), (t1, p1) = self._samples[-2], self._samples[-1]
            if t1 > t0:
                slope = (p1 - p0) / (t1 - t0)
                return t1 + (100.0 - p1) / slope
        return None

    def eta_window(self) -> tuple[float, float]:
        """(earliest, latest) provider seconds from submit where the finish is expected."""
        eta = self.expected_finish_s()
        if eta is not None:
            return eta, eta
        if self._samples:
            t1, p1 = self._samples[-1]
            # One sample: assume rendering began at submit, which overestimates when it queued first.
            return t1, t1 * 100.0 / p1
        return self.render.window

    def next_delay(self, elapsed_s: float, *, hint_s: float | None = None) -> float:
        """Real seconds to wait before the next poll, given provider seconds since submit."""
        p = self.policy
        delay = self._planned(elapsed_s)
        if hint_s is not None and math.isfinite(hint_s) and hint_s > 0:
            # "poll after": the hint is a floor on the wait, also when it is longer than our plan.
            delay = max(delay, min(hint_s, p.hint_max_s))
        return self._real(max(delay, p.min_interval_s))

    def past_deadline(self, elapsed_s: float) -> bool:
        return elapsed_s >= self.policy.deadline_s

    # --- internals -----------------------------------------------------------------------------------

    def _planned(self, e: float) -> float:
        p = self.policy
        eta = self.expected_finish_s()
        if eta is not None and eta > e + p.min_interval_s:
            self._dense_step = 0
            # Land on the predicted finish; jitter only earlier, a second late costs detection time.
            return min(p.far_cap_s, (eta - e) * self._rng.uniform(0.9, 1.0) + 0.5)
        if eta is None and len(self._samples) == 1:
            t1, p1 = self._samples[0]
            rough = t1 * 100.0 / p1
            if rough > e + 2 * p.min_interval_s:
                # Halfway to the rough guess: the second sample there gives a real slope.
                return min(p.far_cap_s, 0.5 * (rough - e))
        lo = eta if eta is not None else self.render.window[0]
        if e + p.dense_start_s < lo:
            self._dense_step = 0
            return min(p.far_cap_s, lo - e) * self._jitter()
        interval = min(p.dense_cap_s, p.dense_start_s * p.dense_growth ** self._dense_step)
        self._dense_step += 1
        return interval * self._jitter()

    def _jitter(self) -> float:
        return self._rng.uniform(self.policy.jitter_lo, self.policy.jitter_hi)

    def _real(self, provider_s: float) -> float:
        return max(0.0, provider_s) * self.time_scale


def submit_retry_delay(attempt: int, retry_after_s: float | None, *, time_scale: float = 1.0,
                       rng: random.Random | None = None, cap_s: float = 60.0, base_s: float = 2.0) -> float:
    """Real seconds before a refused submit (429, Kling 1303, never-sent network error) goes out again.

    The server's hint wins (a long one only delays the job; it stays queued, S4); else capped
    exponential backoff with full jitter, never below one second so a busy account is not hammered.
    """
    if retry_after_s is not None and math.isfinite(retry_after_s) and retry_after_s > 0:
        return min(retry_after_s, 3600.0) * time_scale
    exponent = min(max(attempt, 0), 16)
    ceiling = min(cap_s, base_s * 2.0 ** exponent)
    return max(1.0, (rng or random).uniform(0.5 * ceiling, ceiling)) * time_scale
