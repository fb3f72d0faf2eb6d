"""`python -m jobs worker` with DAILIES_PUBLIC_URL, against a sandbox in its own process: Kling takes admitted by
`jobs run --no-wait` are called back, polled at once, and cost at most 3 status GETs each (the sandbox's log)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from jobs.callbacks import CallbackConfig
from jobs.ledger import JobState, Ledger
from sandbox.pytest_plugin import wait_until
from tests.jobs.standalone import ROOT, StandaloneSandbox, free_port

SCALE = "0.05"
TAKES = 3


def _jobs(data: Path) -> list:
    ledger = Ledger(data / "ledger.sqlite3")
    try:
        return ledger.list_jobs(newest_first=False)
    finally:
        ledger.close()


def test_a_worker_with_a_public_url_is_called_back(tmp_path: Path, small_clip: Path):
    server = StandaloneSandbox(tmp_path / "sandbox", time_scale=float(SCALE), prerendered_clip=small_clip)
    port, secret = free_port(), secrets.token_hex(32)
    env = {**os.environ, "COMETAPI_BASE_URL": server.base_url, "COMETAPI_KEY": server.api_key,
           "DAILIES_DATA_DIR": str(tmp_path / "data"), "DAILIES_CLIPS_DIR": str(tmp_path / "clips"),
           "DAILIES_ENGINE": "external", "PYTHONUNBUFFERED": "1",
           "DAILIES_PUBLIC_URL": f"http://127.0.0.1:{port}", "DAILIES_CALLBACK_SECRET": secret}
    env.pop("DAILIES_CLIP_STORE", None)
    log = tmp_path / "worker.log"
    worker = None
    try:
        server.post("/_sandbox/config", {"render_times": {"kling": [100, 100]}})
        with log.open("w") as out:
            worker = subprocess.Popen([sys.executable, "-m", "jobs", "worker", "--port", str(port), "--time-scale",
                                       SCALE, "--no-checks", "--lease-ttl", "5"], cwd=ROOT, env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
            wait_until(lambda: " up: " in log.read_text() or worker.poll() is not None, timeout=20)
            assert worker.poll() is None, log.read_text()
            rows = tmp_path / "prompts.csv"
            rows.write_text("prompt\na paper boat on a pond\n")
            done = subprocess.run([sys.executable, "-m", "jobs", "run", "--csv", str(rows), "--model", "kling-v1-6",
                                   "--takes", str(TAKES), "--no-wait", "--time-scale", SCALE], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
            wait_until(lambda: (jobs := _jobs(tmp_path / "data")) and all(j.state.terminal for j in jobs),
                       timeout=60)
        jobs = _jobs(tmp_path / "data")
        assert [j.state for j in jobs] == [JobState.DOWNLOADED] * TAKES, [j.error_message for j in jobs]
        # The sandbox logs a delivery once the worker has answered it, which can be after the poll it caused.
        wait_until(lambda: len(server.get("/_sandbox/callbacks")) >= len(jobs), timeout=10)
        callbacks = server.get("/_sandbox/callbacks")
        assert sorted(c["task_id"] for c in callbacks) == sorted(j.task_id for j in jobs)
        assert {(c["outcome"], c["status"]) for c in callbacks} == {("delivered", 202)}
        requests = server.requests()
        for job in jobs:
            task_polls = [r for r in requests if r["route"] == "poll" and r["task_id"] == job.task_id]
            assert len(task_polls) <= 3, (job.task_id, len(task_polls))
        text = log.read_text()
        config = CallbackConfig(f"http://127.0.0.1:{port}", secret.encode())
        assert "callbacks at http://127.0.0.1:" in text
        assert not any(config.token(j.id) in text for j in jobs) and secret not in text
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(30)
        server.stop()


def test_a_public_url_without_the_shared_secret_is_refused(tmp_path: Path):
    env = {**os.environ, "COMETAPI_BASE_URL": "http://127.0.0.1:9", "COMETAPI_KEY": "sk-sandbox",
           "DAILIES_DATA_DIR": str(tmp_path / "data"), "DAILIES_PUBLIC_URL": "https://workers.example"}
    env.pop("DAILIES_CALLBACK_SECRET", None)
    done = subprocess.run([sys.executable, "-m", "jobs", "worker", "--port", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "DAILIES_CALLBACK_SECRET: not set" in done.stderr
