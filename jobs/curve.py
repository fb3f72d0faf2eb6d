"""A model's progress curve, learned from the progress its past renders showed: what a progress value says
about when the render ends.

Real providers' progress is not a straight line (it eases in or out, jumps, stalls), so a line through two
samples mispredicts the finish. Each finished render of the model instead tells where in its render each progress
value was first seen: the *share* of its render time (since submit) that had passed. A new render first seen at
progress p at elapsed t ends, by each past render's share s at p, at t / s; the earliest and latest of those bound
the finish. A curve that is the same for every render (linear, ease-in, ease-out, a stall at fixed points) bounds
it to a second or two from one sample; one that differs per render (jumps at random moments) gives a wide window,
honestly. Shares count from submit, as the samples do: a queue that varies from render to render widens the window
rather than hiding in it.

Samples are stored as events in the ledger (`progress N` on each change while running, jobs/engine/poll.py) and
read back by `Ledger.progress_samples`. Pure: no clock, no store.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

CURVE_MIN_RENDERS = 5
"""Past renders that must speak for a progress value before the curve's window replaces the schedule's rules."""
CURVE_HISTORY = 50
"""Newest finished renders of a model read for its curve."""
EVENT_PREFIX = "progress "
"""An event's detail that records a progress sample: `progress 42` (the value first seen at the event's time)."""


def progress_detail(progress: int) -> str:
    return f"{EVENT_PREFIX}{int(progress)}"


def parse_progress_detail(detail: str | None) -> int | None:
    """The progress value of a sample event's detail; None for any other event."""
    if not detail or not detail.startswith(EVENT_PREFIX):
        return None
    try:
        value = int(detail[len(EVENT_PREFIX):])
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


class Window(NamedTuple):
    lo: float
    hi: float
    agrees: bool = True
    """No two values of the render put its finish far apart."""
    confirmed: bool = False
    """An earlier value's window overlaps the latest one's: the render moves as the past ones did."""


@dataclass
class Sighting:
    """One progress value of a render in flight: first and last seen at these elapsed provider seconds."""

    progress: float
    first_s: float
    last_s: float


@dataclass(frozen=True)
class RenderCurve:
    """One finished render: (progress, share of its render time elapsed when that progress was first seen),
    progress ascending, ending at (100, share first seen at 100 while running, else 1.0: done)."""

    points: tuple[tuple[float, float], ...]

    def share_at(self, progress: float) -> float | None:
        """The share at which this render first showed `progress`, interpolated between its samples; None below its
        first sample (it says nothing about where it was before)."""
        values = [p for p, _ in self.points]
        if not values or progress < values[0]:
            return None
        i = bisect.bisect_left(values, progress)
        if i < len(values) and values[i] == progress:
            return self.points[i][1]
        (p0, s0), (p1, s1) = self.points[i - 1], self.points[i]
        return s0 + (s1 - s0) * (progress - p0) / (p1 - p0)

    def share_before(self, progress: float) -> float | None:
        """The share by which this render had certainly not reached `progress`: when a lower value was first seen
        (None when no sample lies below it)."""
        values = [p for p, _ in self.points]
        i = bisect.bisect_left(values, progress)
        return self.points[i - 1][1] if i > 0 else None

    def share_past(self, progress: float) -> float | None:
        """The share by which this render had certainly moved past `progress`: when a higher value was first seen
        (or the render ended). Not interpolated: a plateau ends with a jump no sample in between shows."""
        values = [p for p, _ in self.points]
        if not values or progress < values[0]:
            return None
        i = bisect.bisect_right(values, progress)
        return self.points[i][1] if i < len(values) else None


def render_curve(render_s: float, samples: Iterable[tuple[float, float]]) -> RenderCurve | None:
    """A finished render's curve from its (elapsed provider seconds, progress) samples; None when they do not fit
    the render (no render time, or nothing sampled while it ran)."""
    if not (math.isfinite(render_s) and render_s > 0):
        return None
    first: dict[float, float] = {}
    for elapsed, progress in samples:
        if not (math.isfinite(elapsed) and 0 <= elapsed <= render_s * 1.001 and 0 <= progress <= 100):
            continue
        share = min(1.0, elapsed / render_s)
        first[float(progress)] = min(first.get(float(progress), share), share)
    first.setdefault(100.0, 1.0)
    points: list[tuple[float, float]] = []
    for progress in sorted(first):
        share = first[progress]
        if points and share < points[-1][1]:
            continue  # seen at a higher value earlier than at a lower one: a sample out of order, dropped
        points.append((progress, share))
    if len(points) < 2:
        return None
    return RenderCurve(tuple(points))


@dataclass(frozen=True)
class ProgressCurve:
    """A model's curve: the past renders' curves, newest first."""

    renders: tuple[RenderCurve, ...] = field(default=())
    min_renders: int = CURVE_MIN_RENDERS
    point_spread: float = 0.1
    apart_share: float = 0.02
    """Past renders first seen at a value within this share of each other (relative to their median) mark a point
    of the curve; wider, the value is a plateau or a step reached at random moments."""

    def finish_window(self, first_s: float, progress: float, last_s: float | None = None) -> tuple[float, float] | None:
        """(earliest, latest) provider seconds from submit at which a render ends that first showed `progress` at
        elapsed `first_s` and still showed it at `last_s`, by the past renders that showed that value; None when
        fewer than `min_renders` did.

        Where every past render was first seen at p at about the same share (the curve moves there, and p marks a
        point of it), the earliest and latest of those shares bound the finish closely. Where they differ widely
        (p is a plateau, or a step reached at random moments: when a poll first saw it says little), only what
        each render proves: it had moved past p no later than its next higher sample, and had not reached p
        before its last lower one."""
        if first_s <= 0:
            return None
        reached = sorted(s for r in self.renders if (s := r.share_at(progress)) is not None and s > 0)
        if len(reached) < self.min_renders:
            return None
        last_s = max(first_s, last_s or first_s)
        if reached[-1] - reached[0] <= self.point_spread * reached[len(reached) // 2]:
            return max(first_s / reached[-1], last_s / reached[-1]), first_s / reached[0]
        past = [s for r in self.renders if (s := r.share_past(progress)) is not None and s > 0]
        before = [s for r in self.renders if (s := r.share_before(progress)) is not None and s > 0]
        earliest = last_s / max(past) if past else last_s
        latest = first_s / min(before) if before else first_s / reached[0]
        return earliest, max(earliest, latest)

    def window(self, seen: Sequence[Sighting]) -> Window | None:
        """The finish window of a render in flight: where every value it showed puts it (the windows' overlap).
        None when the latest value has too few past renders behind it. Values that put the finish in windows
        apart by more than `apart_share` of the later one's start do not agree: this render moves unlike the
        past ones (`agrees` False, the latest value's window)."""
        if not seen:
            return None
        latest = self.finish_window(seen[-1].first_s, seen[-1].progress, seen[-1].last_s)
        if latest is None:
            return None
        lo, hi = latest
        agrees, confirmed = True, False
        for s in seen[:-1]:
            earlier = self.finish_window(s.first_s, s.progress, s.last_s)
            if earlier is None:
                continue
            if max(lo, earlier[0]) <= min(hi, earlier[1]):
                lo, hi = max(lo, earlier[0]), min(hi, earlier[1])
                confirmed = True
            elif max(lo, earlier[0]) - min(hi, earlier[1]) > self.apart_share * max(lo, earlier[0]):
                agrees = False
        return Window(lo, hi, agrees, confirmed)


def learn_curve(renders: Sequence[tuple[float, Sequence[tuple[float, float]]]], *,
                min_renders: int = CURVE_MIN_RENDERS) -> ProgressCurve | None:
    """The curve of (render seconds, [(elapsed s, progress)]) per finished render; None with too few renders that
    showed progress."""
    curves = tuple(c for render_s, samples in renders if (c := render_curve(render_s, samples)) is not None)
    if len(curves) < min_renders:
        return None
    return ProgressCurve(curves, min_renders=min_renders)
