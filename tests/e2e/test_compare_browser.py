"""End to end in a real browser: a board of three clips plays in sync from one shared control bar."""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_seed import compare_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
PLAYER = "iframe[title='Synchronised player']"
READ_ALL = """() => [...document.querySelectorAll('video.sync')].map(v => (
    {paused: v.paused, readyState: v.readyState, t: v.currentTime, seeking: v.seeking}))"""


def test_three_clips_play_and_seek_together(compare_server, browser, tmp_path: Path) -> None:  # noqa: F811
    base, run = compare_server
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{base}/compare?run={run}")
    page.wait_for_selector(READY, timeout=60_000)
    frame = page.wait_for_selector(PLAYER, timeout=30_000).content_frame()
    assert frame is not None
    frame.wait_for_function("() => { const v = [...document.querySelectorAll('video.sync')];"
                            " return v.length === 3 && v.every(x => x.readyState >= 3); }", timeout=30_000)
    before = frame.evaluate(READ_ALL)
    assert all(v["paused"] for v in before)

    frame.click("#sync-play")
    page.wait_for_timeout(2000)  # the spec: read all three two seconds after pressing play
    after = frame.evaluate(READ_ALL)
    assert not any(v["paused"] for v in after), after
    assert all(v["readyState"] >= 3 for v in after), after
    assert all(a["t"] - b["t"] >= 1.5 for a, b in zip(after, before, strict=True)), (before, after)
    times = [v["t"] for v in after]
    assert max(times) - min(times) <= 0.1, times

    frame.click("#sync-play")  # pause, then seek to a quarter of the longest clip (10 s → 2.5 s)
    frame.locator("#sync-seek").fill("250")
    frame.wait_for_function("() => [...document.querySelectorAll('video.sync')]"
                            ".every(v => !v.seeking && Math.abs(v.currentTime - 2.5) < 0.05)", timeout=10_000)
    seeked = frame.evaluate(READ_ALL)
    assert all(abs(s["t"] - a["t"]) > 0.2 for s, a in zip(seeked, after, strict=True)), (after, seeked)
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)

    # Drawn with inline SVG, not font glyphs: every control button holds an icon and no text.
    buttons = frame.evaluate("() => [...document.querySelectorAll('button.icon')]"
                             ".map(b => ({svg: !!b.querySelector('svg'), text: b.innerText.trim()}))")
    assert buttons and all(b["svg"] and not b["text"] for b in buttons), buttons
    # No empty band: the iframe is as tall as the player.
    box = page.locator(PLAYER).bounding_box()
    assert box is not None and abs(box["height"] - frame.evaluate("() => document.body.scrollHeight")) <= 4

    # One tile enlarged: it grows, the iframe grows with it, and all three keep playing together.
    frame.click("#sync-play")
    frame.click(".tile-focus[data-index='2']")
    frame.wait_for_function("() => document.querySelectorAll('video.sync')[2].getBoundingClientRect().height > 400")
    page.wait_for_function("() => document.querySelector(\"iframe[title='Synchronised player']\")"
                           ".getBoundingClientRect().height > 600", timeout=10_000)
    page.wait_for_timeout(1000)  # play on for a second in the new layout, then read all three
    focused = frame.evaluate(READ_ALL)
    assert not any(v["paused"] for v in focused), focused
    assert max(v["t"] for v in focused) - min(v["t"] for v in focused) <= 0.1, focused
    page.screenshot(path=str(tmp_path / "compare-focus.png"), full_page=True)
    page.close()
