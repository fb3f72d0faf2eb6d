"""A sandbox in its own process (`python -m sandbox`), as a user runs it next to the batch CLI; its
request log is the witness of what was sent (POSTs counted there, not in the client)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from sandbox.pytest_plugin import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandaloneSandbox:
    def __init__(self, data_dir: Path, *, time_scale: float = 0.01, api_key: str = "sk-sandbox",
                 prerendered_clip: Path | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        cmd = [sys.executable, "-m", "sandbox", "--port", str(self.port), "--time-scale", str(time_scale),
               "--data-dir", str(data_dir), "--api-key", api_key]
        if prerendered_clip is not None:
            cmd += ["--prerendered-clip", str(prerendered_clip)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._healthy, timeout=20)

    def _healthy(self) -> bool:
        try:
            return bool(self.get("/_sandbox/health").get("ok"))
        except OSError:
            return False

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=5) as resp:  # noqa: S310 - loopback
            return json.loads(resp.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback
            return json.loads(resp.read())

    def posts(self) -> list[dict[str, Any]]:
        """Every submit POST the sandbox received (its request log)."""
        return [r for r in self.get("/_sandbox/requests") if r.get("route") == "submit"]

    def requests(self) -> list[dict[str, Any]]:
        return list(self.get("/_sandbox/requests"))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
