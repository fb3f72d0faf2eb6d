"""The sandbox the poll benches measure against, in a child process of its own: its uvicorn threads and CPU do not
count against either client, and its request log and task records are one call away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _sandbox_main() -> None:
    """Child side: serve the sandbox and answer one JSON command per stdin line (requests, tasks, stop)."""
    from sandbox.config import SandboxConfig
    from sandbox.server import SandboxServer

    server = SandboxServer(SandboxConfig(**json.loads(sys.stdin.readline())), port=0).start()
    print(json.dumps(server.base_url), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "tasks":
            store = server.sandbox.store  # type: ignore[union-attr]
            found = {tid: store.get(tid) for tid in command["ids"]}
            answer: Any = {tid: [t.created_at, t.render_s] for tid, t in found.items() if t is not None}
        elif command["cmd"] == "requests":
            answer = server.requests()
        elif command["cmd"] == "reseed":
            server.update_config(seed=command["seed"])
            answer = True
        else:
            break
        print(json.dumps(answer), flush=True)
    server.stop()


class SandboxProcess:
    """The sandbox on loopback in a child process, with its request log and task records one call away."""

    def __init__(self, config: dict[str, Any]) -> None:
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from bench.poll_sandbox import _sandbox_main; _sandbox_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root, env=env)
        self.time_scale: float = config["time_scale"]
        self.base_url: str = self._ask(config)

    def _ask(self, message: dict[str, Any]) -> Any:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(message, default=str) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox process exited (code {self._proc.poll()})")
        return json.loads(line)

    def requests(self) -> list[dict[str, Any]]:
        return self._ask({"cmd": "requests"})

    def reseed(self, seed: int) -> None:
        """Restart the per-model render-time streams, so the next phase draws what the previous one drew."""
        self._ask({"cmd": "reseed", "seed": seed})

    def finished_at(self, task_ids: Sequence[str]) -> dict[str, float]:
        """Real Unix time at which the sandbox considers each task done."""
        tasks = self._ask({"cmd": "tasks", "ids": list(task_ids)})
        return {tid: created + render * self.time_scale for tid, (created, render) in tasks.items()}

    def stop(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
            self._proc.stdin.close()
        try:
            self._proc.wait(15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
