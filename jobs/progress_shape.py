"""What the shape of a render's progress says about its finish, when a straight line through it would not.

Pure functions of the running samples (elapsed provider seconds, progress 0-100) a poll schedule keeps; each says
None unless the samples clearly have its shape, and jobs/schedule.py then keeps its straight-line prediction.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence

from jobs.poll_policy import PollPolicy

Sample = tuple[float, float]


def eased_finish(samples: Sequence[Sample], policy: PollPolicy) -> float | None:
    """The finish of progress that eases out, or None when the samples do not show it.

    Slowing step by step (not a plateau: the schedule's `stuck`), as p = 1 - (1 - f)^2 does: the distance left
    shrinks like a square, so its square root falls in a straight line, and any pace predicts the finish early
    (every poll there is a miss). Believed only when every step of the last `easing_samples` is slower than the one
    before and that root fell at one rate throughout: a step curve or a stall that begins mid-way does neither for
    long."""
    n = max(3, int(policy.easing_samples))
    if len(samples) < n:
        return None
    points = samples[-n:]
    paces = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(points)]
    if any(later >= policy.easing_ratio * earlier for earlier, later in itertools.pairwise(paces)):
        return None
    roots = [(b[0], math.sqrt(100.0 - b[1]), math.sqrt(100.0 - a[1]), b[0] - a[0])
             for a, b in itertools.pairwise(points)]
    falls = [(before - after) / dt for _, after, before, dt in roots]
    mean = statistics.fmean(falls)
    if mean <= 0 or any(abs(f - mean) > policy.easing_tolerance * mean for f in falls):
        return None
    t1, s1 = roots[-1][0], roots[-1][1]
    return t1 + s1 / falls[-1]


def speeding_finish(samples: Sequence[Sample], not_started_s: float, policy: PollPolicy) -> float | None:
    """The finish of progress that speeds up, or None when the samples do not show it.

    Progress like p = f^2 (slow first, fast last) has a square root that rises in a straight line from the
    render's start: any pace seen so far predicts the finish late. Believed only when the last step was clearly
    faster than the one before, that root line starts where the render can have started (after `not_started_s`,
    the last answer that said queued, before the first running sample) and every sample kept sits on it: a step
    curve's jump after a plateau does not pass all three."""
    if len(samples) < 2:
        return None
    (t0, p0), (t1, p1) = samples[-2], samples[-1]
    if t1 <= t0 or t0 <= not_started_s:
        return None
    earlier = p0 / (t0 - not_started_s) if len(samples) == 2 else (
        (p0 - samples[-3][1]) / (t0 - samples[-3][0]))
    if (p1 - p0) / (t1 - t0) < earlier / policy.easing_ratio:
        return None
    r0, r1 = math.sqrt(p0 / 100.0), math.sqrt(p1 / 100.0)
    rate = (r1 - r0) / (t1 - t0)
    if rate <= 0:
        return None
    began = t0 - r0 / rate
    if not not_started_s - policy.speeding_slack_s <= began <= samples[0][0]:
        return None
    for t, p in samples[:-2]:  # within whole-percent rounding
        expected = 100.0 * (max(0.0, t - began) * rate) ** 2
        if abs(p - expected) > max(2.0, policy.easing_tolerance * p):
            return None
    return t1 + (1.0 - r1) / rate
