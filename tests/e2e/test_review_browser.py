"""A blind review in a real browser: before the vote nothing in the page or its frames names a model, both
clips play over the same length with no clock, and the categories typed at the start are offered on the vote."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import running_app
from compare_seed import ROOT, TIME_SCALE, seed_three_takes

from providers.catalog import load_catalog

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
PLAYER = "iframe[title='Blind pair']"
TAKES = (("veo3.1-fast", 8), ("kling-v1-6", 10))  # two families, two lengths
# Every element's text, every attribute value (src, srcdoc, title, aria-*, data-*...) and the document URL.
EVERYTHING = """() => {
  const out = [document.URL];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) out.push(a.value);
    if (el.childNodes) for (const n of el.childNodes) if (n.nodeType === 3) out.push(n.textContent);
  }
  for (const v of document.querySelectorAll('video, source, img')) out.push(v.currentSrc || v.src || '');
  return out.join('\\n');
}"""


@pytest.fixture(scope="module")
def review_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("e2e-review")
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    seed_three_takes(data_dir, clips_dir, TAKES)
    with running_app(data_dir, clips_dir, TIME_SCALE) as base:
        yield base


def forbidden_words() -> list[str]:
    catalog = load_catalog()
    words = set()
    for model_id, _ in TAKES:
        spec = catalog.get(model_id)
        words |= {model_id, spec.display_name, spec.family, spec.wire_model}
    return sorted(w.lower() for w in words if w)


def test_blind_review_names_no_model_before_the_vote(review_server: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())  # nothing off the machine
    page.goto(f"{review_server}/blind_review")
    page.wait_for_selector(READY, timeout=60_000)
    page.get_by_role("combobox", name="Boards").click()
    page.get_by_role("option").first.click()
    page.keyboard.press("Escape")
    # The pick has reached the script once Start is enabled (and the categories field is the picked board's).
    page.wait_for_function("() => [...document.querySelectorAll('button')].some(b => b.innerText.trim() === "
                           "'Start review' && !b.disabled)", timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)
    categories = page.get_by_role("textbox", name="Categories (comma-separated)")
    categories.fill("Product, motion")
    categories.press("Enter")
    page.wait_for_selector(READY, timeout=30_000)
    page.get_by_role("button", name="Start review").click()
    frame_el = page.wait_for_selector(PLAYER, timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)
    frame = frame_el.content_frame()
    assert frame is not None
    frame.wait_for_function("() => { const v = [...document.querySelectorAll('video.sync')];"
                            " return v.length === 2 && v.every(x => x.readyState >= 3); }", timeout=30_000)

    # Nothing in the page or in any of its frames names a model, a family or a provider model id.
    texts = [page.evaluate(EVERYTHING)] + [f.evaluate(EVERYTHING) for f in page.frames]
    leaks = [(w, i) for i, text in enumerate(texts) for w in forbidden_words() if w in text.lower()]
    assert not leaks, f"a model is named before the vote: {leaks}"

    # No clock: no native controls, no time label, no "n s" / "m:ss" anywhere in the player.
    assert frame.evaluate("() => [...document.querySelectorAll('video')].every(v => !v.controls)")
    player_text = frame.evaluate("() => document.body.innerText")
    assert not re.search(r"\d+(\.\d+)?\s*s\b|\d:\d\d", player_text), player_text
    # The same length for both: the clip files differ (8 s and 10 s), the player's span is the shorter one.
    durations = frame.evaluate("() => window.dailiesSync.videos.map(v => v.duration)")
    assert abs(durations[0] - durations[1]) > 1.5, durations
    frame.click("#sync-play")
    frame.locator("#sync-seek").fill("990")  # near the end of the common length: both loop back together
    frame.wait_for_function("() => { const v = window.dailiesSync.videos;"
                            " return v.every(x => !x.paused && x.currentTime > 0.2 && x.currentTime < 2); }",
                            timeout=20_000)
    times = frame.evaluate("() => window.dailiesSync.videos.map(v => v.currentTime)")
    assert max(times) - min(times) < 0.15, times
    # One sound toggle switches both clips alike.
    frame.click("#sync-sound")
    assert frame.evaluate("() => window.dailiesSync.videos.map(v => v.muted)") == [False, False]

    # The vote screen offers the categories typed at the start.
    offered = page.get_by_role("toolbar", name="Categories this verdict is about")
    assert offered.get_by_role("button").all_inner_texts() == ["motion", "product"]
    page.screenshot(path=str(tmp_path / "review-before-vote.png"), full_page=True)
    offered.get_by_role("button", name="motion").click()
    page.wait_for_selector(READY, timeout=30_000)
    page.get_by_role("button", name="A is better").click()
    page.wait_for_selector("text=/A was /", timeout=30_000)
    page.screenshot(path=str(tmp_path / "review-after-vote.png"), full_page=True)
    page.close()
