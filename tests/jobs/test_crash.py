"""Crash tests with real processes: the sandbox and the engine each in their own process, the engine SIGKILLed.

1. Kill after 16 task ids are recorded: a restarted engine lands every clip, verified, and the sandbox
   never saw a task submitted twice.
2. Kill inside the submit window (POST received, answer withheld): after restart the job is
   `submit_unknown`, and there was exactly one POST.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.clipstore import ClipStore
from jobs.ledger import JobState, Ledger
from sandbox.faultproxy import FaultProxy
from sandbox.pytest_plugin import wait_until

ROOT = Path(__file__).resolve().parents[2]
SCALE = "0.01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback sandbox
        return json.loads(resp.read())


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), "--time-scale", SCALE,
                             "--data-dir", str(tmp_path / "sandbox")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return bool(_get_json(base + "/_sandbox/health").get("ok"))
        except OSError:
            return False

    try:
        wait_until(healthy, timeout=20)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def _env(tmp_path: Path, base_url: str) -> dict[str, str]:
    return {"COMETAPI_BASE_URL": base_url, "COMETAPI_KEY": "sk-sandbox",
            "DAILIES_DATA_DIR": str(tmp_path / "data"), "DAILIES_CLIPS_DIR": str(tmp_path / "clips")}


def _engine(tmp_path: Path, base_url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs", *args, "--time-scale", SCALE, "--quiet"], cwd=ROOT,
                            env={**os.environ, **_env(tmp_path, base_url)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _rows(tmp_path: Path) -> list[dict]:
    path = tmp_path / "data" / "ledger.sqlite3"
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT id, state, task_id FROM jobs")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _submits(base_url: str) -> list[dict]:
    return [r for r in _get_json(base_url + "/_sandbox/requests") if r.get("route") == "submit"]


def test_sigkill_after_task_ids_are_recorded_loses_nothing_and_submits_nothing_twice(tmp_path, sandbox_process):
    models = ["veo3.1-fast", "veo3.1", "sora-2", "kling-v1-6"]
    takes = 4  # the most a run allows, as in the app
    total = len(models) * takes
    engine = _engine(tmp_path, sandbox_process, "run", "--concurrency", str(total), "--takes", str(takes),
                     "--prompt", "a lighthouse in a storm", *[a for m in models for a in ("--model", m)])
    try:
        wait_until(lambda: len([r for r in _rows(tmp_path) if r["task_id"]]) == total, timeout=30)
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait(10)
    before = {r["id"]: r["task_id"] for r in _rows(tmp_path)}
    assert len(before) == total and all(before.values())
    assert any(r["state"] != "downloaded" for r in _rows(tmp_path)), "nothing left to resume: kill came too late"

    restarted = _engine(tmp_path, sandbox_process, "resume", "--timeout", "60")
    out, _ = restarted.communicate(timeout=90)
    assert restarted.returncode == 0, out

    ledger = Ledger(tmp_path / "data" / "ledger.sqlite3")
    store = ClipStore(tmp_path / "clips")
    jobs = ledger.list_jobs()
    assert len(jobs) == total
    for job in jobs:
        assert job.state == JobState.DOWNLOADED, (job.state, job.error_message)
        assert job.task_id == before[job.id]
        clip = store.path_of(job.clip_path)
        assert store.verify(clip, job.clip_sha256, clip.stat().st_size)
    submitted = _submits(sandbox_process)
    assert len(submitted) == total
    task_ids = [r["task_id"] for r in submitted]
    assert len(set(task_ids)) == total and set(task_ids) == set(before.values())
    ledger.close()


def _kill_inside_the_submit_window(tmp_path: Path, sandbox_process: str, proxy: FaultProxy) -> None:
    """A run whose one POST reached the sandbox, killed while its answer was withheld: one job `submitting`."""
    proxy.hang_next_n(1, match=r"^POST ")
    engine = _engine(tmp_path, proxy.base_url, "run", "--model", "sora-2", "--prompt", "a quiet harbour")
    try:
        wait_until(lambda: len(_submits(sandbox_process)) == 1, timeout=20)  # the provider has the POST
        wait_until(lambda: proxy.applied("hang") == 1, timeout=20)  # ... and its answer is withheld
        assert [r["state"] for r in _rows(tmp_path)] == ["submitting"]
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait(10)


def test_sigkill_inside_the_submit_window_leaves_submit_unknown_and_one_post(tmp_path, sandbox_process):
    proxy = FaultProxy(int(sandbox_process.rsplit(":", 1)[1])).start()
    try:
        _kill_inside_the_submit_window(tmp_path, sandbox_process, proxy)
        restarted = _engine(tmp_path, proxy.base_url, "resume", "--timeout", "30")
        out, _ = restarted.communicate(timeout=60)
        assert restarted.returncode == 1, out  # something needs attention
        (job,) = Ledger(tmp_path / "data" / "ledger.sqlite3").list_jobs()
        assert job.state == JobState.SUBMIT_UNKNOWN
        assert job.error_kind == "submit_unknown" and "never resent" in job.error_message
        assert len(_submits(sandbox_process)) == 1
    finally:
        proxy.stop()


def test_resume_reports_a_leftover_its_engine_ends_before_the_first_look(tmp_path, sandbox_process, monkeypatch):
    """The engine marks the unclear submit `submit_unknown` the moment it starts, which on a busy machine came before
    `resume` first looked at the ledger: it printed '0 job(s)' and exited 0 with a take needing attention. Here the
    engine's start returns only once the leftover has ended, so the first look always comes after."""
    from jobs import cli
    from jobs.runner import Runner

    proxy = FaultProxy(int(sandbox_process.rsplit(":", 1)[1])).start()
    try:
        _kill_inside_the_submit_window(tmp_path, sandbox_process, proxy)
        real_start = Runner.start

        def start_and_let_the_leftover_end(self: Runner) -> Runner:
            started = real_start(self)
            wait_until(lambda: not self.ledger.list_jobs()[0].state.active, timeout=20)
            return started

        monkeypatch.setattr(Runner, "start", start_and_let_the_leftover_end)
        for name, value in _env(tmp_path, proxy.base_url).items():
            monkeypatch.setenv(name, value)
        out = io.StringIO()
        assert cli.main(["resume", "--timeout", "30", "--time-scale", SCALE, "--quiet"], out=out) == 1, out.getvalue()
        assert "1 job(s): 1 submit_unknown" in out.getvalue()
        assert len(_submits(sandbox_process)) == 1
    finally:
        proxy.stop()
