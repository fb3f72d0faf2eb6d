"""The rules a poll schedule follows, per family (jobs/schedule.py says why each rule is there)."""

from __future__ import annotations

from dataclasses import dataclass

from providers import families
from providers.catalog import FamilySpec

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
    speeding_slack_s: float = 2.0
    """Progress that speeds up (its root rising in a line) is believed when that line starts no earlier than this
    before the last answer that said queued (whole-percent rounding moves it)."""
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
    window_dense_s: float = 5.0
    """Inside the window a learned progress curve gives (jobs/curve.py), a poll every this many seconds: a finish
    there is seen within it."""
    window_dense_width_s: float = 30.0
    """...when the window is at most this wide and the render's progress never stood still. A step curve's windows
    span minutes: polling them every 5 s cost more than the loop (1.03-1.05x on steps in the model's matrix);
    they keep the plateau caps."""
    window_land_s: float = 4.0
    """A learned window at most this wide is landed on: one poll just after its end, none inside it."""
    window_fraction: float = 0.8
    """Far from a learned window (more than `landing_long_s` to its start), a sleep covers at most this share of
    the way: the curve is what past renders did, not a promise, and a later sample narrows the window."""
    late_weight: float = 8.0
    """Without progress, once the render times are learned from `hazard_min_samples` renders or more: how many
    status requests one second of detection delay is worth. The dense gap is then sqrt(2 / (weight x hazard))
    (the gap that minimises requests plus weighted delay where renders end at that rate), between
    `window_dense_s` and the dense interval: polls go where finishes are likely, sparser in the tails. 0: a fixed
    dense interval."""
    hazard_min_samples: int = 20
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
