"""An exported demo pack opened from disk (file://, no server) in headless Chromium: all clips load and play in sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from exports.demopack import check_pack, export_demo_pack
from jobs.clipstore import ClipStore
from jobs.ledger import Ledger
from providers.catalog import load_catalog
from tests.review.review_helpers import finished_job

pytestmark = pytest.mark.e2e

MODELS = ("veo3.1-fast", "kling-v1-6", "gen4_turbo")
READ_ALL = """() => [...document.querySelectorAll('video')].map(v => ({
    t: v.currentTime, ready: v.readyState, paused: v.paused, err: v.error ? v.error.code : null, src: v.src}))"""


def test_demo_pack_plays_offline_in_sync(browser, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    clips = ClipStore(tmp_path / "clips")
    catalog = load_catalog()
    jobs = [finished_job(ledger, clips, m, "A paper airplane glides across a desk", run_id="run-1",
                         seconds=5.0, work_dir=tmp_path) for m in MODELS]
    ledger.close()
    pack = export_demo_pack(jobs, tmp_path / "demo pack", title="Paper plane",
                            model_name=lambda m: catalog.get(m).display_name, clips=clips)
    assert check_pack(pack.folder) == []
    # Moved after export, as a customer would unzip it anywhere: only relative references can survive this.
    moved = pack.folder.rename(tmp_path / "elsewhere")

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("requestfailed", lambda r: errors.append(r.url))
    page.goto((moved / "index.html").as_uri())
    page.wait_for_function("() => { const v = [...document.querySelectorAll('video')];"
                           " return v.length === 3 && v.every(x => x.readyState >= 3); }", timeout=20_000)
    before = page.evaluate(READ_ALL)
    assert all(v["src"].startswith("file://") and v["err"] is None for v in before), before

    page.click("#sync-play")
    page.wait_for_function("() => window.dailiesSync.leader().currentTime >= 2.0", timeout=20_000)
    after = page.evaluate(READ_ALL)
    times = [v["t"] for v in after]
    assert all(not v["paused"] and v["ready"] >= 3 for v in after), after
    assert all(t - b["t"] >= 1.5 for t, b in zip(times, before, strict=True)), (before, after)
    assert max(times) - min(times) <= 0.1, times

    page.fill("#sync-seek", "100")  # the shared seek moves every clip together
    page.wait_for_function("() => window.dailiesSync.videos.every(v => v.currentTime < 1.5)", timeout=10_000)
    assert not errors, errors
    page.screenshot(path=str(tmp_path / "demopack.png"))
    page.close()
