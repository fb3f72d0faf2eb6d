"""When to ask a provider about a task next: sparse while the render cannot be done, dense near its finish.

Pure: the clock and the random source are arguments, so the schedule is tested without waiting.
Times inside a schedule are *provider seconds since submit*; `PollSchedule` turns them into real
seconds by multiplying with the backend's time scale (1.0 live; the sandbox's factor otherwise).

The rules (reliability.md §0.2 and §2b):

* the first poll comes soon (the family's `first_poll_s` in the catalog, 5 or 10 s) to catch instant rejections;
* with progress hints (most families): while the task is queued the wait grows with the time
  already spent queued (the render has not started, so its finish is at least that far away); the
  first running sample bounds the finish from above (rendering began after the last queued answer);
  a second one, no later than the span that produced the first sample's progress, gives a slope, and
  the next poll lands just after the extrapolated finish — directly only when that is within 20 s; a
  further one is approached in halves (progress that speeds up or jumps ends before the line says).
  When that extrapolation is long and the
  progress behind it coarse (the finish could be off by more than 3 s), one more sample is taken well
  before the finish first. The prediction takes the fastest of the whole stretch's slope, the last step's
  (progress that speeds up) and the pace since the render began (progress that slows down), and a doubtful
  one is re-sampled within `refine_fraction` of the remaining time, never by one jump to a far finish. A task
  still running past its prediction was mispredicted: the waits widen from the floor (x1.5 per miss, to a 4 s
  cap), never a loop at the floor. Progress is evidence only while it moves: running at 0 %, stuck, or a step
  far slower than the pace before it (a stall, a step curve's plateau) caps every wait at `stuck_cap_s` (8 s,
  under the tutorial's 10 s) until it moves again, and once it has stood still no wait is longer than
  `plateau_cap_s` (20 s: a step curve's next jump is anywhere); 100 % while still running means the finish is close
  (3 s waits, widening to 5 s). A task of such a family that runs without a progress field is polled from the
  render-time distribution, as a family without progress (at `silent_interval_s`);
* without progress (a family with `progress_hints: false`), from the model's render-time distribution:
  quantiles of the renders learned from the ledger (not a log-normal guessed through their p50 and p90: a
  uniform spread has no early tail), else a log-normal through the catalog's prior. One sleep to its 2nd
  percentile (nothing to see before but a failure, so at most 45 s), then a fixed dense interval
  (9.5 s +-5 %, under the tutorial's 10 s: about its loop's polls, finishes seen as soon) to the 97th,
  then x1.5 growth to a 15 s cap. Other waits get x U(0.8, 1.2) jitter so sessions don't poll in lockstep
  (an ETA landing is not jittered: it is specific to its task already, and late is costly);
* a server hint (`openai-poll-after-ms`, `Retry-After`) always wins, also when it is longer;
* a per-family floor (`min_interval_s`, 5 s for some) holds whatever the hint or the ETA says;
* past the model's deadline the job is `stale`: polling stops, the task id stays.

`urgent` says whether the last planned poll is one where the finish is expected (an ETA landing or the
dense window): the runner serves those first when the process-wide rate limit is tight.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from dataclasses import dataclass

from jobs.render_time import HISTORY_MIN_SAMPLES, RenderTime, learn_render_time
from providers import families
from providers.catalog import FamilySpec

__all__ = ["DEFAULT_DEADLINE_S", "DEFAULT_MIN_INTERVAL_S", "HISTORY_MIN_SAMPLES", "PollPolicy", "PollSchedule",
           "RenderTime", "learn_render_time", "submit_retry_delay"]

DEFAULT_MIN_INTERVAL_S = 2.0
DEFAULT_DEADLINE_S = 1200.0


@dataclass(frozen=True)
class PollPolicy:
    first_poll_s: float
    min_interval_s: float = DEFAULT_MIN_INTERVAL_S
    progress_hints: bool = True
    """The provider reports progress while rendering (the family's catalog `progress_hints`)."""
    dense_interval_s: float = 9.7
    """Inside the expected window of a task without progress. Just under the tutorial's 10 s, so the family
    polls about as often as its fixed loop (the sleep to the window pays for the difference) and sees a finish
    as soon. A shorter one (5.8 s before) bought a lower p95 with ~1.2-1.35x the loop's polls."""
    dense_from_q: float = 0.02
    """Without progress, polling turns dense at this quantile of the render times: the earliest finishes are
    rare, and a poll there is paid for by nearly every task (one still running). Before that there is nothing
    to look at but a failure, so the wait goes straight to the window (bounded by `far_cap_s`). Low, because
    every render that ends before it is seen late by up to the sleep (the 18th percentile of before put the
    family's p95 at 20-30 s, twice the loop's)."""
    dense_until_q: float = 0.97
    """...and stays dense up to this quantile; past it the interval grows (a long tail is sparse)."""
    dense_jitter: float = 0.05
    """Dense polls are spread by +-5 %: enough to keep a batch's polls apart, never a long gap."""
    dense_growth: float = 1.5
    dense_cap_s: float = 15.0
    queued_growth: float = 2.0
    """While queued, wait this share of the time elapsed so far (2.0: 10 s, 30 s, 90 s...): the render has
    not begun, so it cannot end sooner than it has been waiting."""
    landing_margin_s: float = 0.3
    refine_doubt_s: float = 3.0
    """With progress, when the predicted finish could be off by more than this (coarse progress over a short
    stretch, extrapolated far), one more sample is taken before landing."""
    refine_fraction: float = 0.3
    """A doubtful prediction is re-sampled at most this share of the predicted remaining time from now: a
    finish can come earlier than a straight line says (progress that speeds up), so no such sleep jumps to it."""
    landing_fraction: float = 0.5
    """A landing further than `landing_long_s` away sleeps only this share of the predicted remaining time: a
    straight-line prediction from progress that speeds up or jumps (ease-in, steps) lands late by the error."""
    landing_long_s: float = 20.0
    miss_growth: float = 1.5
    miss_cap_s: float = 4.0
    """A finish that did not come when predicted: the waits grow from the floor by `miss_growth` per miss up to
    this cap (below the tutorial's 10 s), instead of a tight loop at the floor (progress that slows down)."""
    easing_samples: int = 4
    easing_ratio: float = 0.9
    easing_tolerance: float = 0.15
    """Progress that eases out (each step slower, the root of what is left falling at one rate within 15 %
    over the last 4 samples) is extrapolated on that root, not on its pace."""
    slowdown_ratio: float = 0.35
    """A step of progress slower than this share of the fastest step before it (the first step counted from
    the render's start) counts as stuck."""
    stuck_cap_s: float = 8.0
    """The longest wait while running progress stands still (or is still 0): under the tutorial's 10 s."""
    plateau_cap_s: float = 20.0
    zero_plateau_polls: int = 2
    """Once progress has stood still while running (this many answers at 0 %, or a value repeated, or a step
    far slower than before), the curve has plateaus and jumps, and no sleep is longer than `plateau_cap_s`
    for the rest of the render: a line through a jump predicts the finish anywhere (up to 45 s late)."""
    finishing_s: float = 3.0
    finishing_cap_s: float = 5.0
    """Seen at 100 % but still running: the waits start here and widen per poll to `finishing_cap_s`."""
    silent_interval_s: float = 7.5
    """The dense interval for a task of a progress family that runs without reporting progress (curve `none`),
    in the same window as a no-progress family's: under the loop's 10 s, so such a row stays under the loop."""
    far_cap_s: float = 45.0
    """The longest wait while a task is queued or rendering towards a far predicted finish: a failure, or a
    finish that progress stuck at one value (stall, steps) did not announce, is seen within 45 s."""
    jitter_lo: float = 0.8
    jitter_hi: float = 1.2
    deadline_s: float = DEFAULT_DEADLINE_S
    hint_max_s: float = 3600.0

    @classmethod
    def for_family(cls, family: str | FamilySpec, *, first_poll_s: float | None = None,
                   deadline_s: float | None = None) -> PollPolicy:
        """The family's poll rules from the catalog (a name is looked up among the loaded catalogs' families)."""
        rules = families.rules(family) if isinstance(family, str) else family
        return cls(first_poll_s=first_poll_s if first_poll_s is not None else rules.first_poll_s,
                   min_interval_s=rules.min_interval_s, progress_hints=rules.progress_hints,
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
        self._not_started_s = 0.0  # latest time the render was seen not started (queued, or 0 %)
        self._running_seen = False
        """Seen running with no progress field: the curve is `none`, so the render-time distribution decides."""
        self._full_at: float | None = None
        """First time seen running at 100 %: the render is finishing (a stall's last jump, a step curve's last)."""
        self._finishing = 0
        self._zero_polls = 0
        self._stuck = False
        self._plateaued = False
        """Progress stood still at some point while running: a curve with plateaus, whose jumps no line foresees."""
        self._misses = 0
        self._dense_step = 0
        self.polls = 0
        self.urgent = False

    # --- inputs --------------------------------------------------------------------------------------

    def observe(self, elapsed_s: float, progress: float | None, *, running: bool | None = None) -> None:
        """Record one status answer. Queued (or 0 %) bounds the render's start; 100 says nothing about speed."""
        self.polls += 1
        if running and progress is None:
            self._running_seen = True  # rendering, and saying nothing about how far: the render times must do
        if running and progress is not None and progress >= 100 and self._full_at is None:
            self._full_at = elapsed_s  # says nothing about speed, but the finish is close
        if running and progress == 0 and not self._samples:
            # Rendering, but no step of progress yet: not queued, so not the queue's back-off (a step curve can
            # sit at 0 for half its render); the waits stay under `stuck_cap_s` until progress moves.
            self._stuck = True
            self._zero_polls += 1
            self._plateaued = self._plateaued or self._zero_polls >= self.policy.zero_plateau_polls
            return
        if running is False or (progress is not None and progress == 0 and not self._samples):
            self._not_started_s = max(self._not_started_s, elapsed_s)
            return
        if progress is None or not math.isfinite(progress) or not 0 < progress < 100:
            return
        if self._samples and progress <= self._samples[-1][1]:
            # Stuck or backwards progress is no evidence of speed, and the line through the earlier samples no
            # longer says when the render ends (a stall, a step curve's plateau).
            self._stuck = self._plateaued = True
            return
        self._samples.append((elapsed_s, float(progress)))
        del self._samples[:-4]
        self._stuck = self._slowed_down()
        self._plateaued = self._plateaued or self._stuck

    # --- outputs -------------------------------------------------------------------------------------

    def first_delay(self) -> float:
        self.urgent = False
        return self._real(max(self.policy.first_poll_s, self.policy.min_interval_s) * self._jitter())

    def expected_finish_s(self) -> float | None:
        """Predicted provider seconds from submit to finish, from the progress slope; None without one. The
        earlier of the whole stretch's slope and the last step's: progress that speeds up is not trusted to
        keep its early pace (a late prediction costs detection; an early one only a poll)."""
        slope = self._slope()
        if slope is None:
            return None
        t1, p1 = self._samples[-1]
        (t0, p0) = self._samples[-2]
        recent = (p1 - p0) / (t1 - t0) if t1 > t0 else slope
        # From the render's start (no earlier than the last answer that said queued): progress that slows down
        # (a stall, a plateau) keeps the pace it had, not the pace of its slow stretch.
        start = min(self._not_started_s, self._samples[0][0])
        since_start = p1 / (t1 - start) if t1 > start else slope
        linear = t1 + (100.0 - p1) / max(slope, recent, since_start)
        eased = self._eased_finish()
        return linear if eased is None else max(linear, eased)

    def eta_window(self) -> tuple[float, float]:
        """(earliest, latest) provider seconds from submit where the finish is expected."""
        eta = self.expected_finish_s()
        if eta is not None:
            return eta, eta
        if self._samples:
            t1, _ = self._samples[-1]
            return t1, self._one_sample_bound()
        return self.render.window

    def next_delay(self, elapsed_s: float, *, hint_s: float | None = None) -> float:
        """Real seconds to wait before the next poll, given provider seconds since submit."""
        p = self.policy
        delay, self.urgent = self._planned(elapsed_s)
        if self._stuck and self._full_at is None:
            # Progress that stopped moving no longer predicts the finish: look at least as often as a fixed
            # loop would, so a render that jumps to its end is seen as soon (stall, steps; never at the floor).
            delay = min(delay, p.stuck_cap_s * self._jitter_down())
        elif self._plateaued and self._full_at is None:
            delay = min(delay, p.plateau_cap_s * self._jitter_down())
        if hint_s is not None and math.isfinite(hint_s) and hint_s > 0:
            # "poll after": the hint is a floor on the wait, also when it is longer than our plan.
            delay = max(delay, min(hint_s, p.hint_max_s))
        return self._real(max(delay, p.min_interval_s))

    def past_deadline(self, elapsed_s: float) -> bool:
        return elapsed_s >= self.policy.deadline_s

    # --- internals -----------------------------------------------------------------------------------

    def _slope(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, p0), (t1, p1) = self._samples[0], self._samples[-1]
        return (p1 - p0) / (t1 - t0) if t1 > t0 else None

    def _eased_finish(self) -> float | None:
        """The finish of progress that eases out, or None when the samples do not show it.

        Slowing step by step (not a plateau: that is `_stuck`), as p = 1 - (1 - f)^2 does: the distance left
        shrinks like a square, so its square root falls in a straight line, and any pace predicts the finish
        early (every poll there is a miss). Believed only when every step of the last `easing_samples` is
        slower than the one before and that root fell at one rate throughout: a step curve or a stall that
        begins mid-way does neither for long."""
        n = max(3, int(self.policy.easing_samples))
        if self._stuck or len(self._samples) < n:
            return None
        points = self._samples[-n:]
        paces = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(points)]
        if any(later >= self.policy.easing_ratio * earlier for earlier, later in itertools.pairwise(paces)):
            return None
        roots = [(b[0], math.sqrt(100.0 - b[1]), math.sqrt(100.0 - a[1]), b[0] - a[0])
                 for a, b in itertools.pairwise(points)]
        falls = [(before - after) / dt for _, after, before, dt in roots]
        mean = statistics.fmean(falls)
        if mean <= 0 or any(abs(f - mean) > self.policy.easing_tolerance * mean for f in falls):
            return None
        t1, s1 = roots[-1][0], roots[-1][1]
        return t1 + s1 / falls[-1]

    def _slowed_down(self) -> bool:
        """The last step of progress came far slower than the pace since the start: a plateau began (a stall,
        a step curve), and the finish is no longer where any straight line says."""
        if len(self._samples) < 2:
            return False
        start = min(self._not_started_s, self._samples[0][0])
        points = [(start, 0.0), *self._samples]
        rates = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(points) if b[0] > a[0]]
        return len(rates) >= 2 and rates[-1] < self.policy.slowdown_ratio * max(rates[:-1])

    def _one_sample_bound(self) -> float:
        """Latest finish consistent with one running sample: rendering started right after it was last
        seen queued (or at submit), at a constant rate since."""
        t1, p1 = self._samples[-1]
        start = min(self._not_started_s, t1)
        return start + (t1 - start) * 100.0 / p1

    def _planned(self, e: float) -> tuple[float, bool]:
        p = self.policy
        if self._full_at is not None:
            # 100 % and still running: the finish is close whatever the curve said before. Dense, widening
            # per poll that did not see it (never a loop at the floor), to a cap under the tutorial's interval.
            self._finishing += 1
            wait = min(p.finishing_cap_s, p.finishing_s * p.miss_growth ** (self._finishing - 1))
            return max(p.min_interval_s, wait) * self._jitter_up(), True
        eta = self.expected_finish_s()
        if eta is not None:
            if eta > e + p.min_interval_s:
                # Land just after the predicted finish; a far one is checked on the way (failures show up).
                t1, _ = self._samples[-1]
                spread = self._samples[-1][1] - self._samples[0][1]
                # Whole-percent progress moves the prediction by this many seconds per point of rounding.
                doubt = (eta - t1) / max(spread, 1.0)
                refine_at = min(eta - 3.0 * doubt, e + p.refine_fraction * (eta - e))
                if doubt > p.refine_doubt_s and refine_at > e + p.min_interval_s:
                    # A long extrapolation from a short stretch of progress: one more sample well before the
                    # finish makes the landing exact instead of seconds late (or early, and a poll wasted).
                    return min(p.far_cap_s, refine_at - e), False
                self._misses = 0
                wait = eta - e + p.landing_margin_s + 0.5 * doubt
                if wait > p.landing_long_s:
                    wait = max(p.landing_long_s, p.landing_fraction * wait)
                    return min(p.far_cap_s, wait) * self._jitter_down(), False
                return wait, True
            # Still running past the prediction: it was wrong, so widen the waits (never a loop at the floor).
            self._misses += 1
            wait = min(p.miss_cap_s, p.min_interval_s * p.miss_growth ** (self._misses - 1))
            return max(p.min_interval_s, wait) * self._jitter_up(), True
        if self._samples:
            bound = self._one_sample_bound()
            if bound > e + 2 * p.min_interval_s:
                # The second sample gives a real slope. Halfway to the latest possible finish, but no later
                # than the time the first sample's progress took at most: a render that began just before
                # that sample runs fast, and must not finish unseen long before we look.
                t1, _ = self._samples[-1]
                span = max(p.min_interval_s, t1 - min(self._not_started_s, t1))
                return min(p.far_cap_s, 0.5 * (bound - e), span), True
            return p.min_interval_s * self._jitter_up(), True
        if p.progress_hints and not self._running_seen:
            # Not rendering yet: the finish is at least as far away as the start, so back off with the wait.
            return min(p.far_cap_s, max(p.min_interval_s, p.queued_growth * e) * self._jitter()), False
        lo = self.render.quantile(p.dense_from_q)
        hi = self.render.quantile(p.dense_until_q)
        if lo - e > (p.silent_interval_s if p.progress_hints else p.dense_interval_s):
            # Jittered early by less than one dense step, so the poll it lands on already counts as dense.
            self._dense_step = 0
            return min(p.far_cap_s, lo - e) - self._rng.uniform(0.0, 0.2 * p.dense_interval_s), False
        if e < hi:
            # Narrow jitter: every extra second in a dense gap is a second of detection for the tasks ending in it.
            dense = p.silent_interval_s if p.progress_hints else p.dense_interval_s
            return dense * self._rng.uniform(1 - p.dense_jitter, 1 + p.dense_jitter), True
        interval = min(p.dense_cap_s, p.dense_interval_s * p.dense_growth ** self._dense_step)
        self._dense_step += 1
        return interval * self._jitter(), False

    def _jitter(self) -> float:
        return self._rng.uniform(self.policy.jitter_lo, self.policy.jitter_hi)

    def _jitter_up(self) -> float:
        return self._rng.uniform(1.0, self.policy.jitter_hi)

    def _jitter_down(self) -> float:
        return self._rng.uniform(self.policy.jitter_lo, 1.0)

    def _real(self, provider_s: float) -> float:
        return max(0.0, provider_s) * self.time_scale


def submit_retry_delay(attempt: int, retry_after_s: float | None, *, time_scale: float = 1.0,
                       rng: random.Random | None = None, cap_s: float = 60.0, base_s: float = 2.0) -> float:
    """Real seconds before a refused submit (429, a provider's "busy" code, never-sent network error) goes out again.

    The server's hint wins (a long one only delays the job; it stays queued, S4); else capped
    exponential backoff with full jitter, never below one second so a busy account is not hammered.
    """
    if retry_after_s is not None and math.isfinite(retry_after_s) and retry_after_s > 0:
        return min(retry_after_s, 3600.0) * time_scale
    exponent = min(max(attempt, 0), 16)
    ceiling = min(cap_s, base_s * 2.0 ** exponent)
    return max(1.0, (rng or random).uniform(0.5 * ceiling, ceiling)) * time_scale
