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
from seeding import TIME_SCALE, seeding_engine

from jobs import settings
from jobs.clipstore import ClipStorage
from providers.recipe import Recipe

ROOT = settings.PROJECT_ROOT
TAKES = (("veo3.1-fast", 8), ("veo3.1", 8), ("kling-v1-6", 10))
__all__ = ["ROOT", "TAKES", "TIME_SCALE", "compare_server", "seed_three_takes"]


def seed_three_takes(data_dir: Path, clips_dir: Path, takes: tuple[tuple[str, int], ...] = TAKES, *,
                     clips: ClipStorage | None = None) -> str:
    """One run of `takes` (model, seconds): by default three clips of 8, 8 and 10 s, in `clips` (default the
    local folder `clips_dir`); returns its run id."""
    with seeding_engine(data_dir, clips_dir, workers=3, clips=clips) as seed:
        ids: list[str] = []
        for model, seconds in takes:
            ids += seed.submit(Recipe(prompt="a red kite over a beach at dawn", duration_s=seconds,
                                      aspect_ratio="16:9"), [model])
        seed.wait(ids, 60)
    return seed.run_id


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, run id) of an app in sandbox mode with a seeded three-take board."""
    data_dir = tmp_path_factory.mktemp("e2e-compare")
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    run = seed_three_takes(data_dir, clips_dir)
    with running_app(data_dir, clips_dir, TIME_SCALE) as base:
        yield base, run
