"""A model's render-time distribution: the catalog's prior (p50, p90), or what this deployment's ledger saw.

The poll schedule reads quantiles from it: for a family without progress, where its renders begin to end and
where most have ended. Pure: no clock, no store.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

HISTORY_MIN_SAMPLES = 5
_Z90 = 1.2816  # standard normal quantile of 0.9


@dataclass(frozen=True)
class RenderTime:
    """A model's render-time distribution in provider seconds."""

    p50_s: float
    p90_s: float
    source: str = "catalog"
    samples: int = 0
    p10_s: float | None = None
    """Learned from history; for a prior, p50²/p90 (a log-symmetric spread, as render times tend to have)."""
    seen: tuple[float, ...] = field(default=(), repr=False)
    """The learned render times, sorted: quantiles come from them, not from a log-normal guess (a uniform spread
    has no early tail; a log-normal through its p50 and p90 puts the 18th percentile well inside it)."""
    prior: RenderTime | None = field(default=None, repr=False)
    """The catalog's prior behind a learned distribution: beyond what a few samples can tell (below the lowest
    of n renders is a share of about 1/(n+1)), the wider of the two answers."""

    @property
    def window(self) -> tuple[float, float]:
        """Where most renders finish: the 10th to the 90th percentile."""
        hi = max(self.p90_s, self.p50_s)
        lo = self.p10_s if self.p10_s is not None else self.quantile_below_median(_Z90)
        return min(lo, self.p50_s), hi

    def quantile_below_median(self, z: float) -> float:
        """The render time `z` standard deviations below the median, on a log-normal through p50 and p90."""
        if self.p50_s <= 0 or self.p90_s <= self.p50_s:
            return max(self.p50_s, 0.0)  # no spread known: the median is the best guess either side
        sigma = math.log(self.p90_s / self.p50_s) / _Z90
        return self.p50_s * math.exp(-z * sigma)

    def quantile(self, q: float) -> float:
        """The render time below which a share `q` of renders finish: from history when learned, else on a
        log-normal through p50 and p90."""
        q = min(1.0, max(0.0, q))
        if self.seen:
            n = len(self.seen)
            pos = q * (n - 1)
            i = min(int(pos), n - 1)
            j = min(i + 1, n - 1)
            seen = self.seen[i] + (self.seen[j] - self.seen[i]) * (pos - i)
            if self.prior is not None and q * (n + 1) < 1:
                return min(seen, self.prior.quantile(q))  # earlier than any render seen: five renders are no proof
            if self.prior is not None and (1 - q) * (n + 1) < 1:
                return max(seen, self.prior.quantile(q))
            return seen
        z = statistics.NormalDist().inv_cdf(min(1 - 1e-9, max(1e-9, q)))
        return self.quantile_below_median(-z)


    def cdf(self, seconds: float) -> float:
        """The share of renders done within `seconds`: the inverse of `quantile` (from history when learned,
        with the prior's tails beyond it; else the log-normal through p50 and p90)."""
        if not seconds > 0:  # NaN included
            return 0.0
        if math.isinf(seconds):
            return 1.0
        lo, hi = 0.0, 1.0
        for _ in range(40):  # quantile() is monotone in q: bisect it, one definition for both directions
            mid = (lo + hi) / 2
            if self.quantile(mid) <= seconds:
                lo = mid
            else:
                hi = mid
        return lo

    def hazard(self, seconds: float, span_s: float = 10.0) -> float:
        """Per second, the chance that a render still running at `seconds` ends within the next `span_s`."""
        a = self.cdf(seconds)
        if a >= 1.0 or span_s <= 0:
            return 0.0
        return max(0.0, self.cdf(seconds + span_s) - a) / ((1.0 - a) * span_s)


def learn_render_time(samples: Sequence[float], prior: RenderTime, *,
                      min_samples: int = HISTORY_MIN_SAMPLES) -> RenderTime:
    """p50/p90 of observed render times once there are enough of them, else the prior."""
    clean = sorted(s for s in samples if math.isfinite(s) and s > 0)
    if len(clean) < min_samples:
        return prior
    p50 = statistics.median(clean)
    p90 = clean[min(len(clean) - 1, math.ceil(0.9 * len(clean)) - 1)]
    p10 = clean[max(0, math.ceil(0.1 * len(clean)) - 1)]
    return RenderTime(p50_s=p50, p90_s=max(p90, p50), source="history", samples=len(clean), p10_s=min(p10, p50),
                      seen=tuple(clean), prior=prior.prior if prior.prior is not None else prior)
