"""End to end in a real browser: one prompt to two models in sandbox mode, two clips that really play."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def test_prompt_to_two_models_gives_two_playing_clips(app_server: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(app_server)
    page.wait_for_selector(READY, timeout=60_000)

    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("A paper airplane glides across a sunlit desk")
    prompt.press("Control+Enter")  # commit the text area
    page.wait_for_selector(READY, timeout=30_000)
    # Default selection is Veo 3.1 Fast + Kling v1.6: both toggles are on.
    assert page.get_by_role("switch", name="Veo 3.1 Fast").is_checked()
    assert page.get_by_role("switch", name="Kling v1.6").is_checked()

    page.get_by_role("button", name="Generate").click()
    videos = page.locator("video")
    videos.nth(1).wait_for(state="attached", timeout=90_000)
    assert videos.count() == 2

    digests = set()
    for i in range(2):
        src = videos.nth(i).get_attribute("src")
        assert src and "/app/static/clips/" in src, src
        resp = page.request.get(app_server + src if src.startswith("/") else src, headers={"Range": "bytes=0-"})
        assert resp.status == 206
        assert resp.headers["content-type"] == "video/mp4"
        digests.add(hashlib.sha256(resp.body()).hexdigest())
    assert len(digests) == 2, "each model must deliver its own clip"

    page.evaluate("() => { for (const v of document.querySelectorAll('video')) { v.muted = true; v.play(); } }")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 3 && v.currentTime > 0.3)",
        timeout=20_000)
    page.screenshot(path=str(tmp_path / "generate.png"), full_page=True)
    page.close()
