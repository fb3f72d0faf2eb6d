"""End to end in a real browser: a board with a clip the sandbox made defective shows the flag the engine's
checks raised, and clicking it seeks every player to where the defect starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import running_app
from browser_guard import guarded_page
from seeding import TIME_SCALE, seeding_engine

from jobs import settings
from providers.recipe import Recipe

pytestmark = pytest.mark.e2e

FREEZE_START = 1.5
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
PLAYER = "iframe[title='Synchronised player']"
SHOTS = Path("/tmp/dailies-shots")


def _seed(data_dir: Path, clips_dir: Path) -> str:
    """Two takes of one run; the first has a frozen stretch baked in by the sandbox. Checks run as in the app."""
    recipe = Recipe(prompt="a red kite over a beach at dawn", duration_s=4, aspect_ratio="16:9")
    with seeding_engine(data_dir, clips_dir, workers=2, concurrency_cap=4) as seed:
        seed.sandbox.faults.add(route="submit", kind="defect", count=1, defect="freeze", start_s=FREEZE_START,
                                duration_s=1.5)
        (frozen,) = seed.submit(recipe, ["veo3.1-fast"])
        # The defect went to this take before the second is sent.
        assert seed.runner.wait_for(lambda: bool(seed.ledger.get(frozen).task_id), 30)
        ids = [frozen, *seed.submit(recipe, ["veo3.1"])]
        seed.wait(ids, 90, checked=True)
        assert [f["kind"] for f in seed.ledger.get(frozen).flags] == ["freeze"]
        assert seed.ledger.get(ids[1]).flags == []
    return seed.run_id


@pytest.fixture(scope="module")
def flagged_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("e2e-flags")
    clips_dir = settings.PROJECT_ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    run = _seed(data_dir, clips_dir)
    with running_app(data_dir, clips_dir, TIME_SCALE) as base:
        yield base, run


def test_a_flag_is_shown_and_its_click_seeks_every_player_to_its_start(flagged_board, browser) -> None:
    base, run = flagged_board
    page, guard = guarded_page(browser, base, height=1300)
    page.goto(f"{base}/compare?run={run}")
    page.wait_for_selector(READY, timeout=60_000)
    frame = page.wait_for_selector(PLAYER, timeout=30_000).content_frame()
    assert frame is not None
    frame.wait_for_function("() => { const v = [...document.querySelectorAll('video.sync')];"
                            " return v.length === 2 && v.every(x => x.readyState >= 2); }", timeout=30_000)
    flags = frame.locator("button.flag")
    assert flags.count() == 1
    assert flags.first.inner_text().startswith("The picture freezes 1.5–")
    # The take card says it too, in words, under the clip that has it.
    page.get_by_text("The picture freezes 1.5–").first.wait_for(timeout=10_000)

    frame.click("#sync-play")  # playing from 0: the click must stop and seek, not just seek
    frame.wait_for_function("() => document.querySelector('video.sync').currentTime > 0.3", timeout=10_000)
    flags.first.click()
    frame.wait_for_function(
        f"() => [...document.querySelectorAll('video.sync')].every(v => v.paused && !v.seeking"
        f" && Math.abs(v.currentTime - {FREEZE_START}) < 0.05)", timeout=10_000)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "compare-flag.png"), full_page=True)
    assert guard.blocked == []
    page.context.close()
