"""End to end in a real browser: a board of Veo, Kling, Runway, Seedance and Grok takes plays in sync; Settings
shows CometAPI's listing check; the Kling take offers Extend."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import running_app
from PIL import Image
from seeding import TIME_SCALE, seeding_engine

from jobs import settings
from providers.recipe import ImageInput, Recipe

pytestmark = pytest.mark.e2e

MODELS = ("veo3.1-fast", "kling-v1-6", "gen4_turbo", "doubao-seedance-2-0", "grok-imagine-video")
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
PLAYER = "iframe[title='Synchronised player']"
READ_ALL = """() => [...document.querySelectorAll('video.sync')].map(v => (
    {paused: v.paused, readyState: v.readyState, t: v.currentTime}))"""
SHOTS = Path(os.environ.get("DAILIES_SCREENSHOTS", "")) if os.environ.get("DAILIES_SCREENSHOTS") else None


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1280, 720), (30, 80, 150)).save(buf, "PNG")
    return buf.getvalue()


def seed_five(data_dir: Path, clips_dir: Path) -> str:
    """One run with a take of each family (a first frame for Runway; the others take the text)."""
    with seeding_engine(data_dir, clips_dir, workers=4) as seed:
        text = Recipe(prompt="a red kite over a beach at dawn", duration_s=5, aspect_ratio="16:9")
        ids = seed.submit(text, [m for m in MODELS if m != "gen4_turbo"])
        image = Recipe(prompt="a red kite over a beach at dawn", duration_s=5, aspect_ratio="16:9",
                       first_frame=ImageInput(data=_png(), mime="image/png", name="first.png"))
        ids += seed.submit(image, ["gen4_turbo"])
        seed.wait(ids, 90)
    return seed.run_id


@pytest.fixture(scope="module")
def five_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("e2e-five")
    clips_dir = settings.PROJECT_ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    run = seed_five(data_dir, clips_dir)
    before = os.environ.get("DAILIES_CATALOG_CHECK")
    os.environ["DAILIES_CATALOG_CHECK"] = "on"  # against the app's own sandbox listing (loopback)
    try:
        with running_app(data_dir, clips_dir, TIME_SCALE) as base:
            yield base, run
    finally:
        if before is None:
            os.environ.pop("DAILIES_CATALOG_CHECK", None)
        else:
            os.environ["DAILIES_CATALOG_CHECK"] = before


def _shot(page, tmp_path: Path, name: str) -> None:
    path = (SHOTS or tmp_path) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def test_five_families_play_in_sync(five_server, browser, tmp_path: Path) -> None:
    base, run = five_server
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    page.goto(f"{base}/compare?run={run}")
    page.wait_for_selector(READY, timeout=60_000)
    frame = page.wait_for_selector(PLAYER, timeout=30_000).content_frame()
    assert frame is not None
    frame.wait_for_function("() => { const v = [...document.querySelectorAll('video.sync')];"
                            " return v.length === 5 && v.every(x => x.readyState >= 3); }", timeout=30_000)
    before = frame.evaluate(READ_ALL)
    assert all(v["paused"] for v in before)
    frame.click("#sync-play")
    page.wait_for_timeout(2000)  # read all five two seconds after pressing play
    after = frame.evaluate(READ_ALL)
    assert not any(v["paused"] for v in after), after
    assert all(a["t"] - b["t"] >= 1.5 for a, b in zip(after, before, strict=True)), (before, after)
    times = [v["t"] for v in after]
    assert max(times) - min(times) <= 0.1, times
    frame.click("#sync-play")
    cards = page.locator("[data-testid='stMarkdownContainer'] strong").all_inner_texts()
    for name in ("Veo 3.1 Fast", "Kling v1.6", "Runway Gen-4 Turbo", "Seedance 2.0", "Grok Imagine Video"):
        assert name in cards, cards
    # Only the Kling take offers Extend.
    summaries = page.locator("[data-testid='stExpander'] summary").all_inner_texts()
    assert sum(1 for t in summaries if t.strip().endswith("Extend")) == 1, summaries
    _shot(page, tmp_path, "five-families-board.png")
    extend = page.locator("[data-testid='stExpander'] summary").filter(has_text="Extend")
    extend.click()
    page.get_by_text("What happens next").wait_for(timeout=10_000)
    extend.scroll_into_view_if_needed()
    page.screenshot(path=str((SHOTS or tmp_path) / "extend-open.png"))
    page.close()


def test_settings_shows_the_listing_check(five_server, browser, tmp_path: Path) -> None:
    base, _ = five_server
    page = browser.new_page(viewport={"width": 1440, "height": 1200})
    page.goto(f"{base}/settings")
    page.wait_for_selector(READY, timeout=60_000)
    # The check runs in the background at start: reload until its verdict shows.
    for _ in range(20):
        if page.get_by_text("Listed, not supported yet").count():
            break
        page.wait_for_timeout(500)
        page.reload()
        page.wait_for_selector(READY, timeout=60_000)
    assert page.get_by_text("Listed, not supported yet").count() == 1
    page.get_by_text("CometAPI catalog", exact=True).scroll_into_view_if_needed()
    _shot(page, tmp_path, "settings-catalog.png")
    page.close()


def test_generate_shows_the_new_cards_and_the_no_price_rule(five_server, browser, tmp_path: Path) -> None:
    base, _ = five_server
    page = browser.new_page(viewport={"width": 1440, "height": 2400})
    page.goto(f"{base}/")  # Generate is the main page
    page.wait_for_selector(READY, timeout=60_000)
    # The cards are drawn one after another as the page streams in: wait for each (a missing one still fails).
    for name in ("Seedance 2.0", "Seedance 1.5 Pro", "Grok Imagine Video 1.5", "Kling Omni (O1)"):
        page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
    assert page.get_by_text("No known price: sandbox runs only", exact=False).count() >= 5
    page.get_by_text("Grok Imagine Video 1.5", exact=True).first.scroll_into_view_if_needed()
    _shot(page, tmp_path, "generate-new-cards.png")
    page.close()
