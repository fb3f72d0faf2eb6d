"""The tables and verdicts bench/poll_efficiency.py prints: both approaches side by side, per family, the ratios
against the targets and the tutorial loop's drift (a starved baseline is named, not compared)."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from bench.poll_workload import (
    MAX_TUTORIAL_DRIFT,
    TARGET_P95_RATIO,
    TARGET_REQUEST_RATIO,
    TUTORIAL_DEFAULT_INTERVAL_S,
    TUTORIAL_INTERVAL_S,
)

if TYPE_CHECKING:
    from bench.poll_phases import PhaseResult


def table(tutorial: PhaseResult, runner: PhaseResult | None, tasks: int, hooked: PhaseResult | None = None) -> str:
    def row(r: PhaseResult) -> list[str]:
        return [r.name, f"{r.downloaded}/{tasks}", f"{r.requests_per_task:.1f}", f"{r.p(0.5):.1f}",
                f"{r.p(0.95):.1f}", str(r.peak_threads)]

    header = ["approach", "downloaded", "status req/task", "detect p50 s", "detect p95 s", "peak threads"]
    rows = [header, row(tutorial)]
    if runner is not None:
        rows.append(row(runner))
        rows.append([
            "runner/tutorial", "",
            _ratio(runner.requests_per_task, tutorial.requests_per_task),
            _ratio(runner.p(0.5), tutorial.p(0.5)),
            _ratio(runner.p(0.95), tutorial.p(0.95)),
            _ratio(runner.peak_threads, tutorial.peak_threads),
        ])
    if hooked is not None:
        rows.append(row(hooked))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def family_table(tutorial: PhaseResult, runner: PhaseResult, hooked: PhaseResult | None = None) -> str:
    """Where the figures come from: requests and detection per family (Kling reports no progress); with
    --callbacks, the callback row's figures beside them (only Kling's routes take a callback URL)."""
    head = "| family | tasks | tutorial req/task | runner req/task | tutorial p95 s | runner p50 s | runner p95 s |"
    rule = "|---|---|---|---|---|---|---|"
    if hooked is not None:
        head += " callbacks req/task | callbacks p50 s | callbacks p95 s |"
        rule += "---|---|---|"
    lines = [head, rule]
    for family in sorted(set(tutorial.by_family) | set(runner.by_family)):
        t_req, t_lat = tutorial.by_family.get(family, (float("nan"), []))
        r_req, r_lat = runner.by_family.get(family, (float("nan"), []))
        line = (f"| {family} | {len(r_lat)} | {t_req:.1f} | {r_req:.1f} | {_quantile(t_lat, 0.95):.1f} | "
                f"{_quantile(r_lat, 0.5):.1f} | {_quantile(r_lat, 0.95):.1f} |")
        if hooked is not None:
            h_req, h_lat = hooked.by_family.get(family, (float("nan"), []))
            line += f" {h_req:.1f} | {_quantile(h_lat, 0.5):.1f} | {_quantile(h_lat, 0.95):.1f} |"
        lines.append(line)
    return "\n".join(lines)


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


quantile = _quantile


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def verdict(tutorial: PhaseResult, runner: PhaseResult) -> list[str]:
    req = runner.requests_per_task / tutorial.requests_per_task if tutorial.requests_per_task else float("inf")
    p95 = runner.p(0.95) / tutorial.p(0.95) if tutorial.p(0.95) else float("inf")
    return [
        f"requests/task ratio {req:.2f} (target <= {TARGET_REQUEST_RATIO}): {_met(req, TARGET_REQUEST_RATIO)}",
        f"p95 detection ratio {p95:.2f} (target <= {TARGET_P95_RATIO}): {_met(p95, TARGET_P95_RATIO)}",
        f"peak threads: runner {runner.peak_threads}, tutorial {tutorial.peak_threads}, "
        f"for {len(runner.task_ids)} tasks each",
    ]


def tutorial_drift(tutorial: PhaseResult) -> dict[str, float]:
    """Per family, the tutorial's median gap between polls over the interval it was written with.

    Its loop is `sleep(interval)` then a GET, so on a healthy machine the gap is the interval plus one round
    trip (a ratio just above 1). Well above that, the baseline is starved (threads and the sandbox share the
    CPU under time compression): it makes fewer requests and sees finishes later than the loop it stands for,
    and the ratios against it mean nothing."""
    return {family: statistics.median(gaps) / TUTORIAL_INTERVAL_S.get(family, TUTORIAL_DEFAULT_INTERVAL_S)
            for family, gaps in sorted(tutorial.poll_gaps_s.items()) if gaps}


def drift_lines(tutorial: PhaseResult) -> list[str]:
    drift = tutorial_drift(tutorial)
    if not drift:
        return []
    worst = max(drift.values())
    lines = ["tutorial loop: median gap between polls / written interval: "
             + ", ".join(f"{family} {ratio:.2f}" for family, ratio in drift.items())]
    if worst > MAX_TUTORIAL_DRIFT:
        lines.append(f"BASELINE SATURATED: the tutorial's loop ran {worst:.2f}x slower than written (limit "
                     f"{MAX_TUTORIAL_DRIFT}); the ratios above are not comparable. Run with a larger --time-scale.")
    return lines


def _met(ratio: float, target: float) -> str:
    return "met" if ratio <= target else "MISSED"
