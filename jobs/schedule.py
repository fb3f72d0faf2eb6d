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
  (progress that speeds up) and the pace since the render began (progress that slows down); progress that
  speeds up from its start (p = f^2: its square root rises in one line from a start between the last queued
  answer and the first running sample) ends where that line reaches 100 %, well before any pace says. A doubtful
  one is re-sampled within `refine_fraction` of the remaining time, never by one jump to a far finish. A task
  still running past its prediction was mispredicted: the waits widen from the floor (x1.5 per miss, to a 4 s
  cap), never a loop at the floor. Progress is evidence only while it moves: running at 0 %, stuck, or a step
  far slower than the pace before it (a stall, a step curve's plateau) caps every wait at `stuck_cap_s` (8 s,
  under the tutorial's 10 s) until it moves again, and once it has stood still no wait is longer than
  `plateau_cap_s` (20 s: a step curve's next jump is anywhere); 100 % while still running means the finish is close
  (3 s waits, widening to 5 s). A task of such a family that runs without a progress field is polled from the
  render-time distribution, as a family without progress (at `silent_interval_s`);
* with a learned progress curve (jobs/curve.py: where in their renders the model's finished renders showed each
  value), every value seen puts the finish in a window; the windows of one render's values overlap. A narrow
  window (at most `window_land_s`) is landed on: one poll just after its end, reached by sleeps of at most
  `window_fraction` of the way while far. A wide one (a plateau, jumps at random moments) only bounds the rules
  above: no poll before a finish is possible, none after the latest finish it allows, and while the render's
  progress keeps moving and the window is under `window_dense_width_s`, a poll every `window_dense_s` inside it
  (a finish there is never seen more than 5 s late). The curve is what past
  renders did, not a promise: until two values of this render agree with it, the render's own pace bounds every
  wait; values that disagree, or a render still running past its window, drop the curve for that render;
* without progress (a family with `progress_hints: false`), from the model's render-time distribution:
  quantiles of the renders learned from the ledger (not a log-normal guessed through their p50 and p90: a
  uniform spread has no early tail), else a log-normal through the catalog's prior. One sleep to its 2nd
  percentile (nothing to see before but a failure, so at most 45 s), then a fixed dense interval
  (9.5 s +-5 %, under the tutorial's 10 s: about its loop's polls, finishes seen as soon) to the 97th,
  then x1.5 growth to a 15 s cap. With render times learned from at least `hazard_min_samples` renders, the
  dense gap follows their hazard (the rate at which renders still running end): sqrt(2 / (`late_weight` x
  hazard)), between `window_dense_s` (5 s) and the dense interval, so the polls go where finishes are likely:
  four in five Kling finishes seen within 5 s for about 1.1-1.3x the loop's polls, paid for in a mixed batch by
  what the progress families save (bench/README.md). On the catalog's guess alone the fixed interval stays.
  Other waits get x U(0.8, 1.2) jitter so sessions don't poll in lockstep
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

from jobs.curve import ProgressCurve, Sighting
from jobs.poll_policy import DEFAULT_DEADLINE_S, DEFAULT_MIN_INTERVAL_S, PollPolicy
from jobs.progress_shape import eased_finish, speeding_finish
from jobs.render_time import HISTORY_MIN_SAMPLES, RenderTime, learn_render_time

__all__ = ["DEFAULT_DEADLINE_S", "DEFAULT_MIN_INTERVAL_S", "HISTORY_MIN_SAMPLES", "PollPolicy", "PollSchedule",
           "RenderTime", "learn_render_time", "submit_retry_delay"]


class PollSchedule:
    """The poll plan of one job. Feed it each answer with `observe`, ask it `next_delay`."""

    def __init__(self, policy: PollPolicy, render: RenderTime, *, time_scale: float = 1.0,
                 rng: random.Random | None = None, curve: ProgressCurve | None = None) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.policy = policy
        self.render = render
        self.time_scale = time_scale
        self._rng = rng or random.Random()
        self.curve = curve
        """The model's learned progress curve (jobs/curve.py), or None: the rules below then go by the samples alone.
        The engine may replace it between polls as more renders finish."""
        self._seen: list[Sighting] = []
        """Each progress value seen while running: when first and last seen (the curve's evidence)."""
        self._curve_missed = False
        self._confirmed = False
        """Still running past the end of the curve's window: this render is not like the past ones."""
        self._window: tuple[float, float] | None = None
        self._landing = False
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
        if running and progress is not None and math.isfinite(progress) and 0 <= progress <= 100:
            if not self._seen or progress > self._seen[-1].progress:
                self._seen.append(Sighting(float(progress), elapsed_s, elapsed_s))
            elif progress == self._seen[-1].progress:
                self._seen[-1].last_s = elapsed_s
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
        if self._stuck:
            return linear
        eased = eased_finish(self._samples, self.policy)
        if eased is not None:
            return max(linear, eased)
        speeding = None if self._plateaued else speeding_finish(self._samples, self._not_started_s, self.policy)
        return linear if speeding is None else min(linear, speeding)

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
        if self._landing:
            pass  # a narrow learned window already says where a plateau or a jump ends the render
        elif self._stuck and self._full_at is None:
            # Progress that stopped moving no longer predicts the finish: look at least as often as a fixed
            # loop would, so a render that jumps to its end is seen as soon (stall, steps; never at the floor).
            delay = min(delay, p.stuck_cap_s * self._jitter_down())
        elif self._plateaued and self._full_at is None:
            delay = min(delay, p.plateau_cap_s * self._jitter_down())
        if self._window is not None and not self._landing:
            delay = self._bounded(elapsed_s, delay, *self._window)
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

    def curve_window(self, e: float) -> tuple[float, float] | None:
        """Where the learned curve puts the finish, by every progress value seen, never before now; None without
        a curve that speaks for the latest value, or once this render ran past such a window (it is unlike the
        past renders: the rules that assume nothing take over for the rest of it)."""
        if self.curve is None or not self._seen or self._curve_missed:
            return None
        window = self.curve.window(self._seen)
        if window is None:
            return None
        if not window.agrees or e > window.hi + self.policy.window_dense_s:
            self._curve_missed = True
            return None
        self._confirmed = window.confirmed
        return max(window.lo, e), max(window.hi, e)

    def _planned(self, e: float) -> tuple[float, bool]:
        p = self.policy
        self._window = self.curve_window(e)
        self._landing = self._window is not None and self._window[1] - self._window[0] <= p.window_land_s
        if self._window is not None and self._landing:
            return self._land(e, *self._window)
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
            dense = p.silent_interval_s if p.progress_hints else self._dense_gap(e)
            return dense * self._rng.uniform(1 - p.dense_jitter, 1 + p.dense_jitter), True
        interval = min(p.dense_cap_s, p.dense_interval_s * p.dense_growth ** self._dense_step)
        self._dense_step += 1
        return interval * self._jitter(), False

    def _dense_gap(self, e: float) -> float:
        """Without progress, the dense interval, shaped by the hazard of the learned render times when there are
        enough of them. (A progress family's task that runs silent keeps its fixed `silent_interval_s`: shaping it
        bought no row of the model's matrix anything.)"""
        p = self.policy
        widest = p.dense_interval_s
        if p.late_weight <= 0 or self.render.samples < p.hazard_min_samples:
            return widest
        rate = self.render.hazard(e)
        if rate <= 0:
            return widest
        return min(widest, max(p.window_dense_s, math.sqrt(2.0 / (p.late_weight * rate))))

    def _earliest(self, e: float, lo: float) -> float:
        """The earliest finish to plan for: the learned window's start, or, until two values of this render put
        the finish in overlapping windows, the render's own pace when that says sooner (a render that runs ahead
        of the past ones is not waited for where they ended; one that moves like them shows it by its second
        value)."""
        if self._confirmed:
            return lo
        pace = self.expected_finish_s()
        if pace is None and self._samples:
            pace = self._one_sample_bound()
        return lo if pace is None else min(lo, max(e, pace))

    def _land(self, e: float, lo: float, hi: float) -> tuple[float, bool]:
        """A finish the learned curve puts in a narrow window between `lo` and `hi`: one poll just after it ends,
        reached by sleeps of at most `window_fraction` of the way while it is far."""
        p = self.policy
        start = self._earliest(e, lo)
        to_start = start - e
        if to_start > p.landing_long_s:
            # Far: most of the way, not all of it (failures show up, and a later sample narrows the window).
            return min(p.far_cap_s, max(p.landing_long_s, p.window_fraction * to_start)), False
        if start + p.window_land_s < lo:
            return max(p.min_interval_s, to_start + p.landing_margin_s), True  # the pace's finish, checked
        own = self.expected_finish_s()
        if own is not None and max(lo, e + p.min_interval_s) <= own < hi:
            # This render's own prediction falls inside the window: look just after it first (if it was early,
            # the next poll lands after the window's end), rather than after the slowest past render's finish.
            return own - e + p.landing_margin_s, True
        return max(0.0, hi - e) + p.landing_margin_s, True

    def _bounded(self, e: float, delay: float, lo: float, hi: float) -> float:
        """A wide learned window bounds the rules' wait: no poll before a finish is possible (up to `far_cap_s`),
        none later than just after the last finish the curve allows, and inside one of at most
        `window_dense_width_s` no gap longer than `window_dense_s`."""
        p = self.policy
        start = self._earliest(e, lo)
        if start - e > delay:
            delay = min(p.far_cap_s, start - e)
        elif not self._plateaued and hi - lo <= p.window_dense_width_s:
            # The finish can come at any poll inside a window of progress that keeps moving: one every
            # `window_dense_s`, so none is seen later. A wider window (plateaus, jumps) would make that a tight loop.
            delay = min(delay, max(0.0, start - e) + p.window_dense_s)
        return min(delay, max(p.min_interval_s, hi - e + p.landing_margin_s))

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
