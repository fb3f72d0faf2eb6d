"""Rankings in a real browser, with enough votes for a chart: it renders on the dark theme (screenshot kept)."""

from __future__ import annotations

import itertools
import re
import uuid
from pathlib import Path

import pytest
from app_process import ROOT, running_app

from components.runtime import clips_url_prefix
from jobs import settings
from jobs.clipstore import ClipStore
from jobs.ledger import Ledger
from review.store import ReviewStore
from tests.review.review_helpers import finished_job

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
MODELS = ("veo3.1-fast", "kling-v1-6", "gen3a_turbo", "sora-2")
WINS = {"veo3.1-fast": 3, "kling-v1-6": 2, "gen3a_turbo": 1, "sora-2": 2}  # who tends to win a pair


def seed_votes(data_dir: Path, clips_dir: Path) -> None:
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    clips = ClipStore(clips_dir, url_prefix=clips_url_prefix(clips_dir))
    jobs = {m: finished_job(ledger, clips, m, "A paper airplane glides across a desk", run_id="run-1",
                            work_dir=data_dir) for m in MODELS}
    ledger.close()
    store = ReviewStore.in_data_dir(data_dir)
    pairs = [(jobs[a].id, jobs[b].id) for a, b in itertools.combinations(MODELS, 2)]
    review = store.create_review("seeded", pairs, {j.id: uuid.uuid4().hex * 2 for j in jobs.values()})
    for n, (a, b) in enumerate(itertools.combinations(MODELS, 2)):
        for reviewer in range(4):
            winner = "a" if (WINS[a] + reviewer + n) % 4 >= WINS[b] else "b"
            store.add_vote(review.id, jobs[a].id, jobs[b].id, a, b, winner, reviewer=f"r{reviewer}")
    store.close()


def test_rankings_chart_renders_on_the_dark_theme(browser, tmp_path_factory: pytest.TempPathFactory,
                                                  tmp_path: Path) -> None:
    data_dir = tmp_path_factory.mktemp("e2e-rankings")
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    seed_votes(data_dir, clips_dir)
    with running_app(data_dir, clips_dir, 0.02) as base:
        page = browser.new_page(viewport={"width": 1440, "height": 1400})
        page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
        page.goto(f"{base}/rankings")
        page.wait_for_selector(READY, timeout=60_000)
        page.get_by_text("Against price").wait_for(timeout=30_000)
        chart = page.locator("[data-testid='stVegaLiteChart']").first
        chart.wait_for(timeout=30_000)
        chart.scroll_into_view_if_needed()
        chart.locator("canvas, svg").first.wait_for(timeout=30_000)
        assert not page.locator("[data-testid='stException']").count()
        page.screenshot(path=str(tmp_path / "rankings.png"), full_page=True)
        chart.screenshot(path=str(tmp_path / "rankings-chart.png"))
        page.close()
