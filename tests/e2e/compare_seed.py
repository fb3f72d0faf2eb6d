"""A running app whose ledger already holds one run of three sandbox-rendered takes (for the Compare browser test).

Seeding drives a real Runner against a real sandbox before the app starts, so the browser test spends its
time on playback, not on waiting for renders.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from components.runtime import clips_url_prefix
from jobs import settings
from jobs.clipstore import ClipStore
from jobs.ledger import JobState, Ledger
from jobs.runner import Runner
from providers.catalog import load_catalog
from providers.client import Backend
from providers.recipe import ModelOptions, Recipe
from sandbox import SandboxConfig, SandboxServer

ROOT = settings.PROJECT_ROOT
TIME_SCALE = 0.01
TAKES = (("veo3.1-fast", 8), ("veo3.1", 8), ("kling-v1-6", 10))


def seed_three_takes(data_dir: Path, clips_dir: Path) -> str:
    """One run of three clips (8, 8 and 10 s); returns its run id."""
    srv = SandboxServer(SandboxConfig(time_scale=TIME_SCALE, data_dir=data_dir / "seed-sandbox",
                                      render_times={"*": (20, 40)}), port=0).start()
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    clips = ClipStore(clips_dir, url_prefix=clips_url_prefix(clips_dir))
    runner = Runner(ledger, clips, load_catalog(), workers=3, concurrency_cap=8, rescan_interval_s=0.5).start()
    backend = Backend(base_url=srv.base_url, api_key="sk-sandbox", sandbox=True, time_scale=TIME_SCALE)
    run = uuid.uuid4().hex
    try:
        ids: list[str] = []
        for i, (model, seconds) in enumerate(TAKES):
            ids += runner.submit_run(Recipe(prompt="a red kite over a beach at dawn", duration_s=seconds,
                                            aspect_ratio="16:9"), [(model, ModelOptions())], backend,
                                     run_id=run, request_id=f"{run}:{i}")
        assert runner.wait_for(lambda: all(j.state == JobState.DOWNLOADED for j in ledger.get_many(ids)), 60)
    finally:
        runner.stop(timeout=5)
        srv.stop()
        ledger.close()
    return run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, run id) of an app in sandbox mode with a seeded three-take board."""
    data_dir = tmp_path_factory.mktemp("e2e-compare")
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    run = seed_three_takes(data_dir, clips_dir)
    port = _free_port()
    env = {**os.environ, "DAILIES_DATA_DIR": str(data_dir), "DAILIES_CLIPS_DIR": str(clips_dir),
           "DAILIES_SANDBOX_PORT": "0", "DAILIES_SANDBOX_TIME_SCALE": str(TIME_SCALE)}
    env.pop("COMETAPI_KEY", None)
    log = (data_dir / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy:\n" + (data_dir / "streamlit.log").read_text())
            time.sleep(0.2)
        yield base, run
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(clips_dir, ignore_errors=True)
