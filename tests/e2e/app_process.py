"""The real app in a subprocess: sandbox mode, its own data dir and clips namespace, no key in its environment."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from jobs.settings import PROJECT_ROOT as ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(data_dir: Path, clips_dir: Path, time_scale: float,
                extra_env: dict[str, str] | None = None, port: int | None = None) -> Iterator[str]:
    """Start `streamlit run app.py`, yield its base URL once `/_stcore/health` answers, then stop it and remove
    its clips. A server that dies or stays unhealthy for 60 s fails with its log. `port`: when the test must know
    it before the start (an OIDC redirect URI names it); a free one otherwise."""
    env = {**os.environ, "DAILIES_DATA_DIR": str(data_dir), "DAILIES_CLIPS_DIR": str(clips_dir),
           "DAILIES_SANDBOX_PORT": "0", "DAILIES_SANDBOX_TIME_SCALE": str(time_scale)}
    env.pop("COMETAPI_KEY", None)
    env.update(extra_env or {})
    port = port or free_port()
    log_path = data_dir / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/_stcore/health", timeout=1).text == "ok":
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not become healthy:\n" + log_path.read_text())
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            shutil.rmtree(clips_dir, ignore_errors=True)


@contextmanager
def two_apps(root: Path, time_scale: float, env: dict[str, str]) -> Iterator[tuple[str, str, list[Path]]]:
    """Two app processes on one shared store (two replicas of a team deployment), each with its own data folder
    and clips folder as two hosts would have; yields both base URLs and the two data folders."""
    import uuid

    dirs = [root / "host-a", root / "host-b"]
    for d in dirs:
        d.mkdir()
    clips = [ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}" for _ in dirs]
    with running_app(dirs[0], clips[0], time_scale, extra_env=env) as a, \
            running_app(dirs[1], clips[1], time_scale, extra_env=env) as b:
        yield a, b, dirs
