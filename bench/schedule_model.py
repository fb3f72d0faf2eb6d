"""The poll schedule against the tutorial's fixed loop on a model of the sandbox: no HTTP, no threads, seconds to run.

    python -m bench.schedule_model                  # 200 tasks x 20 repetitions, the poll_efficiency workload
    python -m bench.schedule_model --reps 100 --set kling.dense_interval_s=6.0 --set '*.refine_doubt_s=4'

Use it to try a rule before paying for `bench.poll_efficiency` (minutes, real sockets). It drives the pure
`jobs.schedule.PollSchedule` with the answers the sandbox would give: queued for the first 20 % of the render
(the sandbox's `queue_fraction`), then whole-percent progress rising linearly (Veo, Sora, Runway) or no progress
(Kling). Each request costs a fixed round trip (`--round-trip`, simulated seconds). Render times are drawn per
model exactly as `bench.poll_efficiency` asks the sandbox to. The tutorial polls every 10 s (Runway 5 s) after
one initial sleep. The table has the same columns as poll_efficiency's; its figures are a model, the real ones
come from poll_efficiency.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import statistics
from collections.abc import Callable, Sequence

from bench.poll_efficiency import (
    TUTORIAL_DEFAULT_INTERVAL_S,
    TUTORIAL_INTERVAL_S,
    bench_catalog,
    plan_workload,
    render_ranges,
)
from jobs.schedule import PollPolicy, PollSchedule, RenderTime

QUEUE_FRACTION = 0.2  # sandbox.config.SandboxConfig.queue_fraction
NO_PROGRESS = frozenset({"kling"})


@dataclasses.dataclass
class Take:
    family: str
    polls: int
    detect_s: float


def tutorial_take(family: str, render_s: float, round_trip_s: float) -> Take:
    interval = TUTORIAL_INTERVAL_S.get(family, TUTORIAL_DEFAULT_INTERVAL_S)
    polls = math.floor(render_s / (interval + round_trip_s)) + 1
    return Take(family, polls, polls * (interval + round_trip_s) - render_s)


def runner_take(family: str, render_s: float, prior: RenderTime, policy: PollPolicy, rng: random.Random,
                round_trip_s: float) -> Take:
    schedule = PollSchedule(policy, prior, rng=rng)
    t = schedule.first_delay()
    polls = 0
    while True:
        t += round_trip_s
        polls += 1
        if t >= render_s:
            return Take(family, polls, t - render_s)
        started = render_s * QUEUE_FRACTION
        running = t >= started
        progress = None
        if running and family not in NO_PROGRESS:
            progress = float(int(100 * (t - started) / (render_s - started)))
        schedule.observe(t, progress, running=running)
        t += schedule.next_delay(t)


def policy_for(family: str, overrides: dict[str, dict[str, float]]) -> PollPolicy:
    policy = PollPolicy.for_family(family)
    changes = {**overrides.get("*", {}), **overrides.get(family, {})}
    return dataclasses.replace(policy, **changes) if changes else policy


def simulate(tasks: int, reps: int, seed: int, overrides: dict[str, dict[str, float]],
             round_trip_s: float) -> tuple[list[Take], list[Take]]:
    catalog = bench_catalog()
    ranges = render_ranges(catalog)
    draws = random.Random(seed)
    tutorial: list[Take] = []
    runner: list[Take] = []
    for rep in range(reps):
        for i, spec in enumerate(plan_workload(catalog, tasks)):
            render_s = draws.uniform(*ranges[spec.id])
            prior = RenderTime(p50_s=spec.render.p50_s, p90_s=spec.render.p90_s)
            tutorial.append(tutorial_take(spec.family, render_s, round_trip_s))
            # Each take its own jitter stream: changing one family's rule leaves the others' draws alone.
            jitter = random.Random(f"{seed}:{rep}:{i}")
            runner.append(runner_take(spec.family, render_s, prior, policy_for(spec.family, overrides), jitter,
                                      round_trip_s))
    return tutorial, runner


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(tutorial: list[Take], runner: list[Take], out: Callable[[str], None]) -> None:
    def row(name: str, takes: list[Take]) -> str:
        det = [t.detect_s for t in takes]
        return (f"| {name} | {statistics.mean(t.polls for t in takes):.1f} | {quantile(det, 0.5):.1f} | "
                f"{quantile(det, 0.95):.1f} |")

    out("| approach | status req/task | detect p50 s | detect p95 s |")
    out("|---|---|---|---|")
    out(row("tutorial", tutorial))
    out(row("runner", runner))
    req = statistics.mean(t.polls for t in runner) / statistics.mean(t.polls for t in tutorial)
    p95 = quantile([t.detect_s for t in runner], 0.95) / quantile([t.detect_s for t in tutorial], 0.95)
    out(f"| runner/tutorial | {req:.2f}x | | {p95:.2f}x |")
    out("")
    out("| family | tutorial req/task | runner req/task | runner p50 s | runner p80 s | runner p95 s |")
    out("|---|---|---|---|---|---|")
    for family in sorted({t.family for t in runner}):
        tut = [t for t in tutorial if t.family == family]
        run = [t for t in runner if t.family == family]
        det = [t.detect_s for t in run]
        out(f"| {family} | {statistics.mean(t.polls for t in tut):.1f} | {statistics.mean(t.polls for t in run):.1f}"
            f" | {quantile(det, 0.5):.1f} | {quantile(det, 0.8):.1f} | {quantile(det, 0.95):.1f} |")


def parse_overrides(items: Sequence[str]) -> dict[str, dict[str, float]]:
    """`family.field=value` (family `*` for all) into {family: {field: value}}, checked against PollPolicy."""
    fields = {f.name for f in dataclasses.fields(PollPolicy)}
    out: dict[str, dict[str, float]] = {}
    for item in items:
        key, _, value = item.partition("=")
        family, _, name = key.partition(".")
        if name not in fields or not value:
            allowed = ', '.join(sorted(fields))
            raise SystemExit(f"--set {item!r}: expected family.field=value with field one of {allowed}")
        out.setdefault(family, {})[name] = float(value)
    return out


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.schedule_model", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--reps", type=int, default=20, help="repetitions of the workload (default 20)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--round-trip", type=float, default=0.2, help="simulated seconds per request (default 0.2)")
    ap.add_argument("--set", action="append", default=[], metavar="FAMILY.FIELD=VALUE",
                    help="override a PollPolicy field for one family (or * for all); repeatable")
    args = ap.parse_args(argv)
    tutorial, runner = simulate(args.tasks, args.reps, args.seed, parse_overrides(args.set), args.round_trip)
    out(f"schedule model: {args.tasks} tasks x {args.reps}, round trip {args.round_trip:g} s, "
        f"overrides {args.set or 'none'}")
    report(tutorial, runner, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
