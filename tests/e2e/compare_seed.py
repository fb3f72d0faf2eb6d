"""A running app whose ledger already holds one run of three sandbox-rendered takes (for the Compare browser test).

Seeding drives a real Runner against a real sandbox before the app starts, so the browser test spends its
time on playback, not on waiting for renders.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import running_app

from components.runtime import clips_url_prefix
from jobs import settings
from jobs.clipstore import ClipStorage, ClipStore
from jobs.ledger import JobState, Ledger
from jobs.runner import Runner
from providers.catalog import load_catalog
from providers.client import Backend
from providers.recipe import ModelOptions, Recipe
from sandbox import SandboxConfig, SandboxServer

ROOT = settings.PROJECT_ROOT
TIME_SCALE = 0.01
TAKES = (("veo3.1-fast", 8), ("veo3.1", 8), ("kling-v1-6", 10))


def seed_three_takes(data_dir: Path, clips_dir: Path, takes: tuple[tuple[str, int], ...] = TAKES, *,
                     clips: ClipStorage | None = None) -> str:
    """One run of `takes` (model, seconds): by default three clips of 8, 8 and 10 s, in `clips` (default the
    local folder `clips_dir`); returns its run id."""
    srv = SandboxServer(SandboxConfig(time_scale=TIME_SCALE, data_dir=data_dir / "seed-sandbox",
                                      render_times={"*": (20, 40)}), port=0).start()
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    clips = clips or ClipStore(clips_dir, url_prefix=clips_url_prefix(clips_dir))
    runner = Runner(ledger, clips, load_catalog(), workers=3, concurrency_cap=8, rescan_interval_s=0.5).start()
    backend = Backend(base_url=srv.base_url, api_key="sk-sandbox", sandbox=True, time_scale=TIME_SCALE)
    run = uuid.uuid4().hex
    try:
        ids: list[str] = []
        for i, (model, seconds) in enumerate(takes):
            ids += runner.submit_run(Recipe(prompt="a red kite over a beach at dawn", duration_s=seconds,
                                            aspect_ratio="16:9"), [(model, ModelOptions())], backend,
                                     run_id=run, request_id=f"{run}:{i}")
        assert runner.wait_for(lambda: all(j.state == JobState.DOWNLOADED for j in ledger.get_many(ids)), 60)
    finally:
        runner.stop(timeout=5)
        srv.stop()
        ledger.close()
    return run


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, run id) of an app in sandbox mode with a seeded three-take board."""
    data_dir = tmp_path_factory.mktemp("e2e-compare")
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    run = seed_three_takes(data_dir, clips_dir)
    with running_app(data_dir, clips_dir, TIME_SCALE) as base:
        yield base, run
