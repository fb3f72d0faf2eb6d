"""How a simulated render reports its progress, as a function of the running fraction f in [0, 1].

Real providers' progress is not a straight line: these curves let a client's poll schedule be measured on
shapes it was not tuned on. `steps` jumps at moments drawn per task (the same task always reports the same
steps); `none` reports no progress field at all. Pure functions: the benchmark's model imports them too.
"""

from __future__ import annotations

import bisect
import functools
import random

CURVES = ("linear", "ease-in", "ease-out", "steps", "stall", "none")
STALL_AT = 0.4
STALL_UNTIL = 0.95


@functools.lru_cache(maxsize=4096)
def _steps(seed: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Jumps of 10-30 points at random moments: (sorted moments in (0, 1), level reached at each)."""
    rng = random.Random(f"steps:{seed}")
    levels: list[float] = []
    level = 0.0
    while level < 1.0:
        level = min(1.0, level + rng.uniform(0.10, 0.30))
        levels.append(level)
    moments = sorted(rng.uniform(0.02, 0.98) for _ in levels)
    return tuple(moments), tuple(levels)


def progress(curve: str, f: float, seed: str = "") -> float | None:
    """The progress (0..1) shown at running fraction `f`; None for `none` (no progress field)."""
    f = min(1.0, max(0.0, f))
    if curve == "linear":
        return f
    if curve == "ease-in":
        return f * f
    if curve == "ease-out":
        return 1.0 - (1.0 - f) ** 2
    if curve == "steps":
        moments, levels = _steps(seed)
        reached = bisect.bisect_right(moments, f)
        return levels[reached - 1] if reached else 0.0
    if curve == "stall":
        if f < STALL_AT:
            return f
        return STALL_AT if f < STALL_UNTIL else 1.0
    if curve == "none":
        return None
    raise ValueError(f"progress curve: {curve!r} not allowed; allowed: {', '.join(CURVES)}")
