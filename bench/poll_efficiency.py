"""Measures what the job runner saves over the tutorial's fixed-interval polling loop, on the same sandbox workload.

    python -m bench.poll_efficiency                      # 200 tasks, time scale 0.25 (4x faster than real)
    python -m bench.poll_efficiency --tasks 400 --time-scale 0.05
    python -m bench.poll_efficiency --smoke              # 8 tasks, very fast: checks the harness, not the numbers
    python -m bench.poll_efficiency --callbacks          # a third row: the runner with callback URLs (Kling)

Both approaches run, one after the other, against one sandbox in its own process (so the sandbox's threads and
CPU don't count against either client), on one scaled clock: `time_scale` real seconds per simulated second,
applied to the sandbox's render times, to the tutorial's sleeps and to the runner's schedule alike. Every figure
is reported in unscaled (simulated) seconds. Render times are drawn per model from the catalog priors. The
sandbox serves one pre-rendered clip, so encoding never distorts timing. The runner gets a concurrency cap equal
to the task count (all in flight at once), its default status limit and `--workers` threads; the tutorial has
neither cap nor limit. The settings used are printed with the table (bench/README.md explains the figures).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.poll_phases import PhaseResult, measure, run_runner, run_tutorial
from bench.poll_report import _quantile, drift_lines, family_table, table, tutorial_drift, verdict
from bench.poll_sandbox import SandboxProcess
from bench.poll_workload import (
    API_KEY,
    FAMILIES_OF_TODAY,
    MAX_TUTORIAL_DRIFT,
    RENDER_CAP_SHARE,
    TARGET_P95_RATIO,
    TARGET_REQUEST_RATIO,
    TUTORIAL_DEFAULT_INTERVAL_S,
    TUTORIAL_INTERVAL_S,
    bench_catalog,
    make_clip,
    plan_workload,
    recipe_for,
    render_caps,
    render_priors,
    render_ranges,
    tiny_png,
)
from providers.recipe import ImageInput
from sandbox.curves import CURVES

__all__ = ["API_KEY", "FAMILIES_OF_TODAY", "MAX_TUTORIAL_DRIFT", "TARGET_P95_RATIO", "TARGET_REQUEST_RATIO",
           "TUTORIAL_DEFAULT_INTERVAL_S", "TUTORIAL_INTERVAL_S", "PhaseResult", "SandboxProcess", "_quantile",
           "bench_catalog", "drift_lines", "family_table", "main", "make_clip", "measure", "plan_workload",
           "recipe_for", "render_caps", "render_priors", "render_ranges", "run_runner", "run_tutorial", "table",
           "tutorial_drift", "verdict"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.poll_efficiency", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=None, help="concurrent tasks per approach (default 200; smoke 8)")
    ap.add_argument("--time-scale", type=float, default=None,
                    help="real seconds per simulated second (default 0.25 = 4x faster; smoke 0.002)")
    ap.add_argument("--workers", type=int, default=8,
                    help="the runner's HTTP thread pool (default 8: at 10x compression each loopback round trip "
                         "costs ten times its share of a simulated second)")
    ap.add_argument("--poll-rate", type=float, default=None,
                    help="the runner's process-wide status requests per (unscaled) second (default: the runner's)")
    ap.add_argument("--seed", type=int, default=7, help="seed for the sandbox's render times")
    ap.add_argument("--renders", choices=("uniform", "lognormal", "tail"), default="uniform",
                    help="uniform: ranges around each catalog p50 without the p90 tail (default); lognormal (or "
                         "tail): through each model's p50 and p90, capped at its 99th percentile and below "
                         f"{RENDER_CAP_SHARE:g}x its deadline")
    ap.add_argument("--progress", choices=CURVES, default="linear",
                    help="how the sandbox's progress rises while rendering (sandbox/curves.py; default linear); "
                         "Kling reports none whatever this says")
    ap.add_argument("--smoke", action="store_true", help="a tiny, very fast run that checks the harness only")
    ap.add_argument("--tutorial-only", action="store_true", help="skip the runner (baseline only)")
    ap.add_argument("--callbacks", action="store_true",
                    help="a third phase: the runner as a worker with DAILIES_PUBLIC_URL (callback URLs on the routes "
                         "that take one; the sandbox calls back on loopback)")
    ap.add_argument("--dump", type=Path, default=None,
                    help="write the sandbox's request log and task timings to this JSON file (for diagnosis)")
    args = ap.parse_args(argv)
    if args.tasks is None:
        args.tasks = 8 if args.smoke else 200
    if args.time_scale is None:
        args.time_scale = 0.002 if args.smoke else 0.25
    if args.tasks < 1 or args.time_scale <= 0:
        ap.error("--tasks must be >= 1 and --time-scale > 0")
    if args.renders == "tail":
        args.renders = "lognormal"
    return args


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parse_args(argv)
    catalog = bench_catalog()
    workload = plan_workload(catalog, args.tasks)
    families = sorted({s.family for s in workload})
    ranges = render_ranges(catalog)
    slowest = max(hi for lo, hi in ranges.values())
    if args.renders == "lognormal":  # the 99th percentile of the slowest prior, or its cap
        slowest = min(max(p50 * (p90 / p50) ** (2.3263 / 1.2816) for p50, p90 in render_priors(catalog).values()),
                      max(render_caps(catalog).values()))
    # Generous: the slowest render plus a minute of slack, in real seconds.
    give_up_s = (slowest + 60) * args.time_scale * 3 + 30
    image = ImageInput(data=tiny_png(), mime="image/png", name="first.png")
    with tempfile.TemporaryDirectory(prefix="dailies-bench-") as tmp:
        tmp_path = Path(tmp)
        config = {
            "time_scale": args.time_scale,
            "data_dir": tmp_path / "sandbox",
            "render_times": ranges,
            "render_lognormal": render_priors(catalog) if args.renders == "lognormal" else {},
            "render_cap_s": render_caps(catalog) if args.renders == "lognormal" else {},
            "progress_curves": {"*": args.progress},
            "prerendered_clip": make_clip(tmp_path / "prerendered.mp4"),
            "seed": args.seed,
        }
        out(f"poll efficiency: {args.tasks} tasks per approach across {', '.join(families)}; "
            f"progress {args.progress}, renders {args.renders}, seed {args.seed}; "
            f"time scale {args.time_scale:g} ({1 / args.time_scale:g}x faster than real); "
            "figures below are unscaled seconds")
        sandbox = SandboxProcess(config)
        try:
            (tmp_path / "tutorial").mkdir()
            sandbox.reseed(args.seed)
            tutorial = run_tutorial(sandbox, catalog, workload, image, tmp_path / "tutorial", give_up_s)
            runner: PhaseResult | None = None
            runner_error = ""
            if not args.tutorial_only:
                sandbox.reseed(args.seed)
                try:
                    runner = run_runner(sandbox, catalog, workload, image, tmp_path / "runner", give_up_s,
                                        args.workers, args.poll_rate)
                except ImportError as e:
                    runner_error = f"runner not available yet: {e}"
            hooked: PhaseResult | None = None
            if args.callbacks and runner is not None:
                from bench.callback_phase import wire_callbacks

                sandbox.reseed(args.seed)
                hooked = run_runner(sandbox, catalog, workload, image, tmp_path / "hooked", give_up_s,
                                    args.workers, args.poll_rate, name="runner+callbacks", wire=wire_callbacks)
            log = sandbox.requests()
            measure(tutorial, sandbox, log)
            if runner is not None:
                measure(runner, sandbox, log)
            if hooked is not None:
                measure(hooked, sandbox, log)
            if args.dump is not None:
                ids = tutorial.task_ids + (runner.task_ids if runner else [])
                tasks = sandbox._ask({"cmd": "tasks", "ids": ids})
                args.dump.write_text(json.dumps({
                    "time_scale": args.time_scale, "log": log, "tasks": tasks,
                    "phases": {r.name: r.family_of for r in (tutorial, runner) if r is not None}}, default=str))
        finally:
            sandbox.stop()
    out(table(tutorial, runner, args.tasks, hooked))
    if runner is not None:
        out(f"runner: {runner.settings}; tutorial: one thread per task, no cap")
    out(f"wall time: tutorial {tutorial.wall_s:.1f} s, runner {runner.wall_s:.1f} s (real)" if runner else
        f"wall time: tutorial {tutorial.wall_s:.1f} s (real)")
    if runner is not None:
        out(family_table(tutorial, runner, hooked))
        for line in verdict(tutorial, runner):
            out(line)
    for line in drift_lines(tutorial):
        out(line)
    if hooked is not None:
        from bench.callback_phase import callback_verdict

        for line in callback_verdict(hooked):
            out(line)
    for r in (tutorial, runner, hooked):
        if r is not None and r.failures:
            out(f"{r.name}: {len(r.failures)} task(s) did not end downloaded, e.g. {r.failures[0]}")
    if runner_error:
        out(runner_error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
