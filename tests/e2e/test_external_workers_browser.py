"""DAILIES_ENGINE=external end to end: the app admits a prompt to two models, two `python -m jobs worker`
processes send, poll and download it, and the browser watches the queue fill in and plays both clips."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from app_process import ROOT, running_app

from tests.jobs.standalone import StandaloneSandbox

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
SCALE = "0.05"
"""Kling renders 2-16 s here, Veo 1-8 s: long enough for the live queue to show takes in flight."""


def test_the_app_in_external_mode_plays_clips_the_workers_made(browser, tmp_path: Path) -> None:
    server = StandaloneSandbox(tmp_path / "sandbox", time_scale=float(SCALE))
    data_dir, clips_dir = tmp_path / "data", ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    data_dir.mkdir()
    shared = {"DAILIES_ENGINE": "external", "DAILIES_DATA_DIR": str(data_dir), "DAILIES_CLIPS_DIR": str(clips_dir)}
    worker_env = {**os.environ, **shared, "COMETAPI_KEY": server.api_key, "COMETAPI_BASE_URL": server.base_url}
    worker_env.pop("DAILIES_CLIP_STORE", None)
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in range(2)]
    workers = [subprocess.Popen([sys.executable, "-m", "jobs", "worker", "--time-scale", SCALE, "--lease-ttl", "5",
                                 "--claim-batch", "1"],  # one take per rescan: the two split the run
                                cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        # The app finds the sandbox on its port (as it finds its own after a restart) and runs no engine.
        app_env = {**shared, "DAILIES_SANDBOX_PORT": str(server.port)}
        with running_app(data_dir, clips_dir, float(SCALE), app_env) as base:
            page = browser.new_page(viewport={"width": 1440, "height": 1600})
            page.goto(base)
            page.wait_for_selector(READY, timeout=60_000)
            prompt = page.get_by_role("textbox", name="Prompt", exact=True)
            prompt.fill("A paper airplane glides across a sunlit desk")
            prompt.press("Control+Enter")
            page.wait_for_selector(READY, timeout=30_000)
            page.get_by_role("button", name="Generate").click()
            # The live queue: the takes in flight, as the workers move them (the app itself sends nothing).
            page.get_by_role("button", name="Stop tracking").first.wait_for(state="visible", timeout=30_000)
            videos = page.locator("video")
            videos.nth(1).wait_for(state="attached", timeout=90_000)
            digests = set()
            for i in range(2):
                src = videos.nth(i).get_attribute("src")
                assert src and "/app/static/clips/" in src, src
                resp = page.request.get(base + src if src.startswith("/") else src, headers={"Range": "bytes=0-"})
                assert resp.status == 206 and resp.headers["content-type"] == "video/mp4"
                digests.add(hashlib.sha256(resp.body()).hexdigest())
            assert len(digests) == 2
            page.get_by_text("2 takes (2 ready)").first.wait_for(state="visible", timeout=10_000)
            page.evaluate("() => { for (const v of document.querySelectorAll('video')) { v.muted = true; v.play(); } }")
            page.wait_for_function(
                "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 3 && v.currentTime > 0.3)",
                timeout=20_000)
            videos.nth(0).scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "external.png"), full_page=True)
            page.close()
        # The workers sent everything: two POSTs, each naming the worker that sent it.
        ids = {line.split()[1] for i in range(2) for line in (tmp_path / f"worker{i}.log").read_text().splitlines()
               if " up: " in line}
        posts = server.posts()
        assert len(ids) == 2 and len(posts) == 2 and {p["worker"] for p in posts} <= ids
        assert sum((tmp_path / f"worker{i}.log").read_text().count("-> downloaded") for i in range(2)) == 2
    finally:
        for proc in workers:
            proc.terminate()
            proc.wait(20)
        for log in logs:
            log.close()
        server.stop()
