"""The two phases of bench/poll_efficiency.py, and what is measured of each from the sandbox's own records: (a) the
tutorial's fixed loop, one thread per task; (b) the project's runner. Neither client grades itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.poll_report import quantile
from bench.poll_sandbox import SandboxProcess
from bench.poll_workload import API_KEY, TUTORIAL_DEFAULT_INTERVAL_S, TUTORIAL_INTERVAL_S, recipe_for
from providers.catalog import Catalog, ModelSpec
from providers.errors import DailiesError
from providers.families import poll_parser, submit_parser
from providers.http import auth_headers
from providers.mapping import prepare
from providers.recipe import ImageInput, ModelOptions
from providers.status import TaskState
from providers.submission import Submission


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
        return quantile(self.latencies_s, q)


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
