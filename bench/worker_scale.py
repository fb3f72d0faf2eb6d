"""1 against 3 `python -m jobs worker` processes on one PostgreSQL ledger: requests, detection and CPU per task.

    python -m bench.worker_scale                       # 1,000 takes per phase, time scale 0.2 (~3 min)
    python -m bench.worker_scale --takes 400 --time-scale 0.1
    python -m bench.worker_scale --smoke               # 8 takes, very fast: checks the harness, not the numbers

Each phase gets a fresh PostgreSQL database (DAILIES_TEST_PG_URL names the server, as for the tests; without it
scripts/ensure-postgres.sh finds or starts one), a local clips folder and the same sandbox, in its own process,
serving one pre-rendered clip. The takes are admitted with `python -m jobs run --no-wait` (DAILIES_ENGINE=external)
before any worker starts, then N workers start at once and run until every take is downloaded. Every figure comes
from outside the workers: status requests from the sandbox's request log, detection from the sandbox's own finish
time of each task against the ledger's `detected_at`, CPU from /proc/<pid>/stat of each worker process (start-up
excluded). Times are unscaled (simulated) seconds. bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.poll_efficiency import API_KEY, SandboxProcess, make_clip

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("sora-2", "veo3-fast")
"""Text-to-video models that report progress: the bench measures the engine's cost, not Kling's blind schedule."""
RENDER_S = (30.0, 90.0)
"""Every take renders uniformly in this range (simulated seconds), whatever the model."""
LEASE_S = 6.0
"""No worker is killed here; a worker rescans every lease/3 s, so this sets how fast 1,000 takes are claimed."""
DRIFT_LIMIT = 1.10
"""A worker whose median submit → first poll gap exceeds the schedule's written first delay (the family's
max(first_poll_s, min_interval_s), jittered ±20 % around it) by more than 10 % is behind its own schedule: its
HTTP threads, not its rules, set when it polls (the same rule as poll_efficiency's tutorial drift)."""
STARVED_CPU_SHARE = 0.85
"""A single worker busy on more than this share of one core for its whole run is a starved baseline: one Python
process cannot go faster, so its polls and downloads queue behind each other."""
IDLE_S = 3.0
"""After the last take settles, each worker's CPU over this long, idle: its fixed cost per second (rescans, lease
heartbeats, the ledger watch), which a worker pays whether it drives 200 takes or 1,000."""
TARGET_CPU_RATIO = 1.25
"""CPU per task "flat": 3 workers spend at most this much more per task than one."""


@dataclass
class Phase:
    workers: int
    threads: int = 0
    takes: int = 0
    downloaded: int = 0
    polls: int = 0
    latencies_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)  # per worker, start-up excluded
    tasks: list[int] = field(default_factory=list)  # per worker: takes it submitted (the sandbox's log)
    wall_s: float = 0.0
    idle_share: list[float] = field(default_factory=list)  # per worker: CPU s per s with nothing to do
    requests: int = 0  # every request the workers sent for these takes (submits, polls, downloads)
    first_poll_drift: float = 0.0  # median submit → first poll gap over the schedule's written first delay
    failures: list[str] = field(default_factory=list)

    def p(self, q: float) -> float:
        values = sorted(self.latencies_s)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]

    @property
    def requests_per_task(self) -> float:
        return self.polls / max(1, self.takes)

    @property
    def cpu_per_task(self) -> list[float]:
        return [cpu / n for cpu, n in zip(self.cpu_s, self.tasks, strict=True) if n]

    @property
    def net_cpu_per_task(self) -> list[float]:
        """CPU per task less what the worker would have spent idle over the same wall time."""
        return [(cpu - idle * self.wall_s) / n
                for cpu, idle, n in zip(self.cpu_s, self.idle_share, self.tasks, strict=True) if n]

    @property
    def cpu_per_request(self) -> float:
        return sum(self.cpu_s) / max(1, self.requests)

    @property
    def busiest_core_share(self) -> float:
        return max(self.cpu_s, default=0.0) / self.wall_s if self.wall_s else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far, from /proc (fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, args: argparse.Namespace) -> None:
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobs", "worker", "--lease-ttl", f"{LEASE_S:g}", "--time-scale",
             f"{args.time_scale:g}", "--concurrency", str(args.takes), "--claim-batch", str(args.claim_batch),
             "--threads", str(args.threads), "--no-checks"],
            cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT)
        self.id = ""
        self.cpu_at_start = 0.0

    def up(self) -> bool:
        line = next((x for x in self.log.read_text().splitlines() if " up: " in x), None)
        if line is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"a worker exited ({self.proc.returncode}):\n{self.log.read_text()}")
            return False
        self.id = line.split()[1]
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def _admit(env: dict[str, str], tmp: Path, args: argparse.Namespace) -> int:
    """`jobs run --no-wait`: prompts × models × takes rows in the ledger, nothing sent."""
    per_prompt = len(MODELS) * args.takes_per_prompt
    prompts = -(-args.takes // per_prompt)
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["prompt"])
    writer.writerows([f"shot {i} of a paper boat"] for i in range(prompts))
    (tmp / "prompts.csv").write_text(rows.getvalue())
    models = [a for m in MODELS for a in ("--model", m)]
    done = subprocess.run([sys.executable, "-m", "jobs", "run", "--csv", str(tmp / "prompts.csv"), *models,
                           "--takes", str(args.takes_per_prompt), "--no-wait", "--time-scale", f"{args.time_scale:g}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or "queued for the workers" not in done.stdout:
        raise RuntimeError(f"jobs run --no-wait failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return prompts * per_prompt


def run_phase(n: int, sandbox: SandboxProcess, base_env: dict[str, str], pg_base: str, tmp: Path,
              args: argparse.Namespace) -> Phase:
    from jobs.ledger import JobState, Ledger
    from tests import pg_helpers

    phase = Phase(workers=n, threads=args.threads)
    tmp.mkdir()
    database = pg_helpers.create_database(f"bench_workers_{n}", base=pg_base)
    env = {**base_env, "DAILIES_DATABASE_URL": database, "DAILIES_DATA_DIR": str(tmp / "data"),
           "DAILIES_CLIPS_DIR": str(tmp / "clips")}
    ledger = Ledger(database)
    workers: list[WorkerProcess] = []
    try:
        phase.takes = _admit(env, tmp, args)
        workers = [WorkerProcess(env, tmp / f"worker{i}.log", args) for i in range(n)]
        _wait(lambda: all(w.up() for w in workers), 60, "the workers to start")
        started = time.monotonic()
        for w in workers:
            w.cpu_at_start = cpu_seconds(w.proc.pid)

        def settled() -> bool:
            jobs = ledger.list_jobs(newest_first=False)
            return all(not j.state.active for j in jobs)

        _wait(settled, args.give_up_s, f"{phase.takes} takes to settle with {n} worker(s)")
        phase.wall_s = time.monotonic() - started
        phase.cpu_s = [cpu_seconds(w.proc.pid) - w.cpu_at_start for w in workers]
        time.sleep(IDLE_S)  # a measuring window, not a wait for a condition
        phase.idle_share = [(cpu_seconds(w.proc.pid) - w.cpu_at_start - cpu) / IDLE_S
                            for w, cpu in zip(workers, phase.cpu_s, strict=True)]
        jobs = ledger.list_jobs(newest_first=False)
    finally:
        for w in workers:
            w.stop()
        ledger.close()
        pg_helpers.drop_database(database)
    ids = {j.task_id for j in jobs if j.task_id}
    log = [r for r in sandbox.requests() if r.get("task_id") in ids]
    phase.polls = sum(1 for r in log if r.get("route") == "poll")
    phase.requests = sum(1 for r in log if r.get("worker"))
    phase.first_poll_drift = first_poll_drift(log, args.time_scale)
    submitted = [r.get("worker") for r in log if r.get("route") == "submit"]
    phase.tasks = [submitted.count(w.id) for w in workers]
    finished = sandbox.finished_at(sorted(ids))
    for job in jobs:
        if job.state != JobState.DOWNLOADED:
            phase.failures.append(f"{job.id[:8]} {job.model_id} {job.state.value} {job.error_kind or ''}".strip())
            continue
        phase.downloaded += 1
        if job.detected_at and job.task_id in finished:
            phase.latencies_s.append(max(0.0, job.detected_at - finished[job.task_id]) / args.time_scale)
    return phase


def first_poll_drift(log: list[dict], time_scale: float) -> float:
    """Median over tasks of (first poll − submit) / the first delay the schedule wrote for the task's family."""
    from providers import families

    submitted: dict[str, float] = {}
    ratios = []
    for r in log:  # arrival order
        tid = r.get("task_id")
        if r.get("route") == "submit":
            submitted[tid] = r["time"]
        elif r.get("route") == "poll" and tid in submitted:
            rules = families.rules(r["family"])
            written = max(rules.first_poll_s, rules.min_interval_s)
            ratios.append((r["time"] - submitted.pop(tid)) / time_scale / written)
    ratios.sort()
    return ratios[len(ratios) // 2] if ratios else float("nan")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def table(one: Phase, many: Phase) -> str:
    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    def row(p: Phase) -> list[str]:
        per = p.cpu_per_task
        spread = f"{min(per) * 1000:.1f}-{max(per) * 1000:.1f}" if len(per) > 1 else f"{mean(per) * 1000:.1f}"
        return [str(p.workers), f"{p.downloaded}/{p.takes}", "/".join(str(t) for t in p.tasks),
                f"{p.requests_per_task:.2f}", f"{p.p(0.5):.2f}", f"{p.p(0.95):.2f}", f"{mean(per) * 1000:.1f}",
                spread, f"{mean(p.net_cpu_per_task) * 1000:.1f}", f"{p.cpu_per_request * 1000:.2f}",
                f"{mean(p.idle_share):.1%}", f"{p.first_poll_drift:.2f}",
                f"{p.busiest_core_share:.0%}", f"{p.requests / max(p.wall_s, 1e-9) / p.workers:.0f}",
                f"{p.wall_s:.1f}"]

    head = ["workers", "downloaded", "takes per worker", "status req/task", "detect p50 s", "detect p95 s",
            "CPU ms/task/worker", "range", "net of idle", "CPU ms/request", "idle CPU", "first-poll drift",
            "busiest worker CPU",
            "req/s per worker", "wall s"]
    rows = [head, ["---"] * len(head), row(one), row(many)]
    rows.append([f"{many.workers}/{one.workers}", "", "", _ratio(many.requests_per_task, one.requests_per_task),
                 _ratio(many.p(0.5), one.p(0.5)), _ratio(many.p(0.95), one.p(0.95)),
                 _ratio(mean(many.cpu_per_task), mean(one.cpu_per_task)), "",
                 _ratio(mean(many.net_cpu_per_task), mean(one.net_cpu_per_task)),
                 _ratio(many.cpu_per_request, one.cpu_per_request), "", "", "", "",
                 _ratio(many.wall_s, one.wall_s)])
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def one_threads(p: Phase) -> str:
    return f"{p.threads} HTTP threads" if p.threads else "HTTP threads"


def verdict(one: Phase, many: Phase) -> list[str]:
    cpu_one = sum(one.cpu_per_task) / max(1, len(one.cpu_per_task))
    cpu_many = sum(many.cpu_per_task) / max(1, len(many.cpu_per_task))
    p95 = "met" if many.p(0.95) <= one.p(0.95) else "MISSED"
    flat = "met" if cpu_one and cpu_many / cpu_one <= TARGET_CPU_RATIO else "MISSED"
    lines = [f"target p95 with {many.workers} workers <= 1 worker's: {p95} "
             f"({many.p(0.95):.2f} s against {one.p(0.95):.2f} s)",
             f"target CPU per task flat (<= {TARGET_CPU_RATIO:g}x): {flat} "
             f"({cpu_many * 1000:.1f} against {cpu_one * 1000:.1f} ms per task)"]
    starved = False
    if one.busiest_core_share > STARVED_CPU_SHARE:
        starved = True
        lines.append(f"BASELINE STARVED: the single worker used {one.busiest_core_share:.0%} of a core for its "
                     f"whole run (> {STARVED_CPU_SHARE:.0%}); its detection is bounded by its CPU, not its schedule")
    if one.first_poll_drift > DRIFT_LIMIT:
        starved = True
        lines.append(f"BASELINE SATURATED: the single worker's first polls came {one.first_poll_drift:.2f}x the "
                     f"schedule's first delay (> {DRIFT_LIMIT:g}x): its {one_threads(one)} fell behind, so its "
                     "detection and its requests per task are bounded by them, not by its schedule")
    if not starved:
        lines.append(f"baseline not starved: the single worker used {one.busiest_core_share:.0%} of a core "
                     f"(starved above {STARVED_CPU_SHARE:.0%}), first-poll drift {one.first_poll_drift:.2f}x "
                     f"(saturated above {DRIFT_LIMIT:g}x)")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.worker_scale", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--takes", type=int, default=None, help="takes per phase (default 1000; smoke 8)")
    ap.add_argument("--workers", type=int, default=3, help="workers in the second phase (default 3)")
    ap.add_argument("--time-scale", type=float, default=None,
                    help="real seconds per simulated second (default 0.2 = 5x faster; smoke 0.01)")
    ap.add_argument("--threads", type=int, default=4, help="HTTP threads per worker (default 4, the worker's)")
    ap.add_argument("--claim-batch", type=int, default=200,
                    help="jobs a worker claims per rescan (default 200: every take is sent within seconds)")
    ap.add_argument("--seed", type=int, default=7, help="seed for the sandbox's render times")
    ap.add_argument("--smoke", action="store_true", help="a tiny, very fast run that checks the harness only")
    args = ap.parse_args(argv)
    if args.takes is None:
        args.takes = 8 if args.smoke else 1000
    if args.time_scale is None:
        args.time_scale = 0.01 if args.smoke else 0.2
    if args.takes < 1 or args.time_scale <= 0 or args.workers < 2:
        ap.error("--takes must be >= 1, --time-scale > 0 and --workers >= 2")
    args.takes_per_prompt = 4 if args.takes >= 8 else 1
    args.give_up_s = (RENDER_S[1] + 120) * args.time_scale * 4 + 60
    return args


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parse_args(argv)
    from tests import pg_helpers

    pg_base = pg_helpers.server_url()
    with tempfile.TemporaryDirectory(prefix="dailies-bench-workers-") as tmp:
        tmp_path = Path(tmp)
        config = {"time_scale": args.time_scale, "data_dir": tmp_path / "sandbox", "render_times": {"*": RENDER_S},
                  "prerendered_clip": make_clip(tmp_path / "prerendered.mp4"), "seed": args.seed}
        sandbox = SandboxProcess(config)
        base_env = {**os.environ, "COMETAPI_BASE_URL": sandbox.base_url, "COMETAPI_KEY": API_KEY,
                    "DAILIES_ENGINE": "external", "PYTHONUNBUFFERED": "1"}
        for name in ("DAILIES_CLIP_STORE", "DAILIES_PUBLIC_URL", "DAILIES_DATABASE_URL"):
            base_env.pop(name, None)
        out(f"worker scale: {args.takes} takes per phase ({', '.join(MODELS)}, renders {RENDER_S[0]:g}-"
            f"{RENDER_S[1]:g} s), 1 then {args.workers} workers on PostgreSQL, {args.threads} HTTP threads each, "
            f"claim batch {args.claim_batch}; time scale {args.time_scale:g} ({1 / args.time_scale:g}x faster "
            f"than real); load before: {Path('/proc/loadavg').read_text().split()[0]}; "
            "figures below are unscaled seconds")
        try:
            sandbox.reseed(args.seed)
            one = run_phase(1, sandbox, base_env, pg_base, tmp_path / "one", args)
            sandbox.reseed(args.seed)
            many = run_phase(args.workers, sandbox, base_env, pg_base, tmp_path / "many", args)
        finally:
            sandbox.stop()
    out(table(one, many))
    for line in verdict(one, many):
        out(line)
    for p in (one, many):
        if p.failures:
            out(f"{p.workers} worker(s): {len(p.failures)} take(s) did not end downloaded, e.g. {p.failures[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
