"""The real app in a subprocess (sandbox mode, its own data and clips namespace) and headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("e2e-data")
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    port = _free_port()
    env = {**os.environ, "DAILIES_DATA_DIR": str(data_dir), "DAILIES_CLIPS_DIR": str(clips_dir),
           "DAILIES_SANDBOX_PORT": "0", "DAILIES_SANDBOX_TIME_SCALE": "0.02"}
    env.pop("COMETAPI_KEY", None)
    log = (data_dir / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/_stcore/health", timeout=1).text == "ok":
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError((data_dir / "streamlit.log").read_text())
        time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not become healthy in 60 s")
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(clips_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (scripts/ensure-chromium.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
