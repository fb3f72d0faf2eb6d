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
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from providers.catalog import Catalog, ModelSpec, load_catalog
from providers.errors import DailiesError
from providers.families import poll_parser, submit_parser
from providers.http import auth_headers
from providers.mapping import prepare
from providers.recipe import ImageInput, ModelOptions, Recipe
from providers.status import TaskState
from providers.submission import Submission
from sandbox.curves import CURVES

API_KEY = "sk-sandbox"
TUTORIAL_INTERVAL_S = {"runway": 5.0}
TUTORIAL_DEFAULT_INTERVAL_S = 10.0
FASTEST_RENDER_SHARE = 0.25
"""No simulated render is faster than this share of the model's catalog p50."""

FAMILIES_OF_TODAY = ("veo", "sora", "kling", "runway")
"""The bench's workload: families added later don't move its figures (compare runs across versions)."""
RENDER_CAP_SHARE = 0.9
"""Long-tailed draws are capped at this share of the model's deadline, so no task is lost to `stale`."""

TARGET_REQUEST_RATIO = 0.7
TARGET_P95_RATIO = 0.6
MAX_TUTORIAL_DRIFT = 1.1
"""A tutorial whose median poll gap exceeds its written interval by more than 10 % is a starved baseline."""


# -- the workload ------------------------------------------------------------------------------------------------


def bench_catalog() -> Catalog:
    """Every model switched on: the sandbox renders the ones live CometAPI has retired too."""
    base = load_catalog()
    return load_catalog(overrides={m.id: {"available": True} for m in base.models()})


def render_ranges(catalog: Catalog) -> dict[str, tuple[float, float]]:
    """Per model, a uniform range whose median is the catalog's p50, as wide as it can be without a render faster
    than FASTEST_RENDER_SHARE of p50 (the sandbox draws uniformly; the priors' long p90 tail is left out)."""
    ranges = {}
    for spec in catalog.models():
        p50, p90 = spec.render.p50_s, spec.render.p90_s
        lo = max(FASTEST_RENDER_SHARE * p50, p50 - (p90 - p50))
        ranges[spec.id] = (lo, 2 * p50 - lo)
    return ranges


def render_priors(catalog: Catalog) -> dict[str, tuple[float, float]]:
    """Per model, the catalog's (p50, p90) for `--renders tail`: a log-normal through both, with its long tail."""
    return {spec.id: (spec.render.p50_s, spec.render.p90_s) for spec in catalog.models()}


def render_caps(catalog: Catalog) -> dict[str, float]:
    """Per model, the longest render the sandbox may draw: below the deadline, so nothing goes stale."""
    return {spec.id: RENDER_CAP_SHARE * spec.render.deadline_s for spec in catalog.models()}


def plan_workload(catalog: Catalog, tasks: int, families: Sequence[str] = FAMILIES_OF_TODAY) -> list[ModelSpec]:
    """`tasks` takes spread round-robin across the models of `families`, so every family is in every run."""
    models = sorted((m for m in catalog.models() if m.family in families), key=lambda m: (m.family, m.id))
    return [models[i % len(models)] for i in range(tasks)]


def tiny_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1280, 720), (90, 120, 160)).save(buf, format="PNG")
    return buf.getvalue()


def recipe_for(spec: ModelSpec, image: ImageInput) -> Recipe:
    # Runway only does image-to-video; everything else gets the text-only recipe.
    first = image if "t2v" not in spec.modes else None
    return Recipe(prompt="A lighthouse at dusk, slow dolly in", first_frame=first, aspect_ratio="16:9")


def make_clip(path: Path, seconds: float = 2.0) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w", options={"movflags": "+faststart"}) as c:
        v = c.add_stream("libx264", rate=24)
        v.width, v.height, v.pix_fmt = 320, 180, "yuv420p"
        v.options = {"preset": "ultrafast"}
        for i in range(int(seconds * 24)):
            img = np.full((180, 320, 3), (i * 5) % 255, np.uint8)
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return path


# -- the sandbox, in its own process -----------------------------------------------------------------------------


def _sandbox_main() -> None:
    """Child side: serve the sandbox and answer one JSON command per stdin line (requests, tasks, stop)."""
    from sandbox.config import SandboxConfig
    from sandbox.server import SandboxServer

    server = SandboxServer(SandboxConfig(**json.loads(sys.stdin.readline())), port=0).start()
    print(json.dumps(server.base_url), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "tasks":
            store = server.sandbox.store  # type: ignore[union-attr]
            found = {tid: store.get(tid) for tid in command["ids"]}
            answer: Any = {tid: [t.created_at, t.render_s] for tid, t in found.items() if t is not None}
        elif command["cmd"] == "requests":
            answer = server.requests()
        elif command["cmd"] == "reseed":
            server.update_config(seed=command["seed"])
            answer = True
        else:
            break
        print(json.dumps(answer), flush=True)
    server.stop()


class SandboxProcess:
    """The sandbox on loopback in a child process, with its request log and task records one call away."""

    def __init__(self, config: dict[str, Any]) -> None:
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from bench.poll_efficiency import _sandbox_main; _sandbox_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root, env=env)
        self.time_scale: float = config["time_scale"]
        self.base_url: str = self._ask(config)

    def _ask(self, message: dict[str, Any]) -> Any:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(message, default=str) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox process exited (code {self._proc.poll()})")
        return json.loads(line)

    def requests(self) -> list[dict[str, Any]]:
        return self._ask({"cmd": "requests"})

    def reseed(self, seed: int) -> None:
        """Restart the per-model render-time streams, so the next phase draws what the previous one drew."""
        self._ask({"cmd": "reseed", "seed": seed})

    def finished_at(self, task_ids: Sequence[str]) -> dict[str, float]:
        """Real Unix time at which the sandbox considers each task done."""
        tasks = self._ask({"cmd": "tasks", "ids": list(task_ids)})
        return {tid: created + render * self.time_scale for tid, (created, render) in tasks.items()}

    def stop(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
            self._proc.stdin.close()
        try:
            self._proc.wait(15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# -- measuring ---------------------------------------------------------------------------------------------------


class ThreadSampler:
    """Peak `threading.active_count()` above the count when sampling started."""

    def __init__(self, every_s: float = 0.005) -> None:
        self.every_s = every_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="thread-sampler", daemon=True)
        self._base = 0

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak = max(self.peak, threading.active_count() - self._base)

    def __enter__(self) -> ThreadSampler:
        self._base = threading.active_count() + 1  # + the sampler itself
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class PhaseResult:
    name: str
    task_ids: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    peak_threads: int = 0
    wall_s: float = 0.0
    requests_per_task: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    downloaded: int = 0
    settings: str = ""
    family_of: dict[str, str] = field(default_factory=dict)  # task id -> family
    by_family: dict[str, tuple[float, list[float]]] = field(default_factory=dict)  # requests/task, latencies
    poll_gaps_s: dict[str, list[float]] = field(default_factory=dict)  # family -> gaps between a task's polls

    def p(self, q: float) -> float:
        return _quantile(self.latencies_s, q)


def measure(result: PhaseResult, sandbox: SandboxProcess, log: list[dict[str, Any]]) -> None:
    """Status requests per task and provider-finished → download-started latency, both from the sandbox's own
    records, so neither client grades itself."""
    ids = set(result.task_ids)
    polls = [r for r in log if r.get("route") == "poll" and r.get("task_id") in ids]
    result.requests_per_task = len(polls) / max(1, len(ids))
    first_download: dict[str, float] = {}
    for r in log:
        tid = r.get("task_id")
        if r.get("route") in ("download", "content") and tid in ids and tid not in first_download:
            first_download[tid] = r["time"]
    finished = sandbox.finished_at(sorted(ids))
    result.downloaded = len(first_download)
    latency = {tid: max(0.0, (first_download[tid] - finished[tid]) / sandbox.time_scale)
               for tid in first_download if tid in finished}
    result.latencies_s = sorted(latency.values())
    for family in sorted(set(result.family_of.values())):
        tids = {tid for tid, fam in result.family_of.items() if fam == family and tid in ids}
        requests = sum(1 for r in polls if r.get("task_id") in tids) / max(1, len(tids))
        result.by_family[family] = (requests, sorted(latency[t] for t in tids if t in latency))
    last_poll: dict[str, float] = {}
    for r in polls:  # the log is in arrival order
        tid = r["task_id"]
        if tid in last_poll:
            family = result.family_of.get(tid, "?")
            result.poll_gaps_s.setdefault(family, []).append((r["time"] - last_poll[tid]) / sandbox.time_scale)
        last_poll[tid] = r["time"]


def tutorial_drift(tutorial: PhaseResult) -> dict[str, float]:
    """Per family, the tutorial's median gap between polls over the interval it was written with.

    Its loop is `sleep(interval)` then a GET, so on a healthy machine the gap is the interval plus one round
    trip (a ratio just above 1). Well above that, the baseline is starved (threads and the sandbox share the
    CPU under time compression): it makes fewer requests and sees finishes later than the loop it stands for,
    and the ratios against it mean nothing."""
    return {family: statistics.median(gaps) / TUTORIAL_INTERVAL_S.get(family, TUTORIAL_DEFAULT_INTERVAL_S)
            for family, gaps in sorted(tutorial.poll_gaps_s.items()) if gaps}


# -- (a) the tutorial's loop -------------------------------------------------------------------------------------


def tutorial_take(client: httpx.Client, sub: Submission, scale: float, out_dir: Path, give_up_at: float,
                  task_ids: list[str], failures: list[str], family_of: dict[str, str]) -> None:
    """The tutorial's shape: submit, then `time.sleep(10)` (5 s for Runway) and GET, in this thread, until done."""
    req = sub.request
    kwargs: dict[str, Any] = {"headers": dict(req.headers)}
    if req.form or req.files:
        kwargs["files"] = [(k, (None, v)) for k, v in (req.form or {}).items()] + [
            (f.field, (f.filename, f.content, f.mime)) for f in req.files]
    else:
        kwargs["json"] = req.json
    try:
        resp = client.request(req.method, req.path, **kwargs)
        task_id = submit_parser(sub.family)(resp.status_code, resp.headers, resp.content).task_id
    except (DailiesError, httpx.HTTPError) as e:
        failures.append(f"{sub.model_id}: submit failed: {e}")
        return
    task_ids.append(task_id)
    family_of[task_id] = sub.family
    interval = TUTORIAL_INTERVAL_S.get(sub.family, TUTORIAL_DEFAULT_INTERVAL_S) * scale
    while time.time() < give_up_at:
        time.sleep(interval)
        try:
            r = client.get(sub.poll_path_template.format(task_id=task_id))
            status = poll_parser(sub.family)(r.status_code, r.headers, r.content)
        except (DailiesError, httpx.HTTPError):
            continue
        if status.state == TaskState.SUCCEEDED and status.video_url:
            try:
                with client.stream("GET", status.video_url) as dl, open(out_dir / f"{task_id}.mp4", "wb") as f:
                    for chunk in dl.iter_bytes():
                        f.write(chunk)
            except (httpx.HTTPError, OSError) as e:
                failures.append(f"{task_id}: download failed: {e}")
            return
        if status.state in (TaskState.FAILED, TaskState.CANCELED):
            failures.append(f"{task_id}: {status.state}")
            return
    failures.append(f"{task_id}: still not done at the bench's deadline")


def run_tutorial(sandbox: SandboxProcess, catalog: Catalog, workload: list[ModelSpec], image: ImageInput,
                 out_dir: Path, give_up_s: float) -> PhaseResult:
    result = PhaseResult("tutorial")
    subs = [prepare(recipe_for(spec, image), spec.id, None, catalog) for spec in workload]
    limits = httpx.Limits(max_connections=len(subs) + 10, max_keepalive_connections=len(subs) + 10)
    started = time.monotonic()
    give_up_at = time.time() + give_up_s
    with httpx.Client(base_url=sandbox.base_url, headers=auth_headers(API_KEY), limits=limits,
                      timeout=httpx.Timeout(60.0)) as client, ThreadSampler() as sampler:
        threads = [threading.Thread(target=tutorial_take, name=f"tutorial-{i}", daemon=True,
                                    args=(client, sub, sandbox.time_scale, out_dir, give_up_at, result.task_ids,
                                          result.failures, result.family_of))
                   for i, sub in enumerate(subs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    result.wall_s = time.monotonic() - started
    result.peak_threads = sampler.peak
    return result


# -- (b) the project's runner ------------------------------------------------------------------------------------


def run_runner(sandbox: SandboxProcess, catalog: Catalog, workload: list[ModelSpec], image: ImageInput,
               work_dir: Path, give_up_s: float, workers: int, poll_rate: float | None = None, *,
               name: str = "runner", wire: Callable[[Any, Any], Callable[[], None]] | None = None) -> PhaseResult:
    """`wire(runner, ledger)`, when given, sets the started runner up further (bench/callback_phase.py) and
    returns what undoes it."""
    from jobs.clipstore import ClipStore
    from jobs.ledger import JobState, Ledger
    from jobs.runner import Runner
    from providers.client import Backend

    # Jobs that stop needing the runner: finished, or parked for a human (stale, submit_unknown).
    settled = {JobState.DOWNLOADED, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED, JobState.STALE,
               JobState.SUBMIT_UNKNOWN}
    result = PhaseResult(name)
    backend = Backend(sandbox.base_url, API_KEY, sandbox=True, time_scale=sandbox.time_scale)
    ledger = Ledger(work_dir / "ledger.sqlite3")
    clips = ClipStore(work_dir / "clips", min_free_bytes=0)
    takes: dict[str, int] = {}
    for spec in workload:
        takes[spec.id] = takes.get(spec.id, 0) + 1
    by_id = {spec.id: spec for spec in workload}
    started = time.monotonic()
    try:
        with ThreadSampler() as sampler:
            tuning = {"poll_rate": poll_rate} if poll_rate is not None else {}
            runner = Runner(ledger, clips, catalog, workers=workers, concurrency_cap=len(workload), check_clips=False,
                            **tuning)
            runner.start()
            unwire = wire(runner, ledger) if wire is not None else (lambda: None)
            rate, burst = runner.status_limit
            result.settings = (f"{workers} HTTP workers + 1 scheduler thread, concurrency cap {len(workload)}, "
                               f"process-wide status limit {rate:g}/s (burst {burst}) in simulated seconds")
            try:
                runner.set_key(backend)
                job_ids: list[str] = []
                for model_id, n in takes.items():
                    job_ids += runner.submit_run(recipe_for(by_id[model_id], image), [(model_id, ModelOptions())],
                                                 backend, takes=n)
                runner.wait_for(lambda: all(j.state in settled for j in runner.snapshot(job_ids)), give_up_s)
                for job in runner.snapshot(job_ids):
                    if job.task_id:
                        result.task_ids.append(job.task_id)
                        result.family_of[job.task_id] = job.family
                    if job.state != JobState.DOWNLOADED:
                        result.failures.append(f"{job.model_id} {job.task_id or job.id}: {job.state} "
                                               f"{job.error_message or ''}".strip())
            finally:
                runner.stop()
                unwire()
    finally:
        ledger.close()
    result.wall_s = time.monotonic() - started
    result.peak_threads = sampler.peak
    return result


# -- the report --------------------------------------------------------------------------------------------------


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
