"""Runs the sandbox on uvicorn in a background thread, for tests and for the app's offline mode."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

import uvicorn

from .app import Sandbox
from .config import SandboxConfig
from .faults import FaultRegistry


class _PromptServer(uvicorn.Server):
    """uvicorn checks should_exit every 0.1 s; waking on an event makes each test's teardown that much quicker."""

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter) and not self.should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)

    def request_exit(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._wake.set)


class SandboxServer:
    """`SandboxServer(SandboxConfig(...), port=0).start()`; `.base_url`; `.stop()` (also a context manager)."""

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 8765) -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.sandbox: Sandbox | None = None
        self._server: _PromptServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def faults(self) -> FaultRegistry:
        return self._require().faults

    def requests(self) -> list[dict[str, Any]]:
        """Every request received so far: time, method, path, status, task_id, family, route, fault."""
        return self._require().log.all()

    def callbacks(self) -> list[dict[str, Any]]:
        """Every callback the sandbox decided on: time, task_id, path, outcome, status, fault."""
        return self._require().callbacks.records()

    def reset_log(self) -> None:
        self._require().log.reset()

    def update_config(self, **changes: Any) -> None:
        """Change settings at runtime, e.g. update_config(shapes={"runway": "bare"}, url_ttl_s=5)."""
        self.config.update(changes)
        if "seed" in changes:
            self._require().reseed()

    def _require(self) -> Sandbox:
        if self.sandbox is None:
            raise RuntimeError("the sandbox is not started; call start() first")
        return self.sandbox

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Serve in a daemon thread; returns once the port accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        self.sandbox = Sandbox(self.config)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            self.sandbox.store.close()
            self.sandbox = None
            raise
        self.port = sock.getsockname()[1]
        uv_config = uvicorn.Config(self.sandbox.app, log_level="warning", access_log=False, lifespan="off",
                                   timeout_graceful_shutdown=0.5)
        self._server = _PromptServer(uv_config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"sandbox:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        tick = threading.Event()
        while self._thread.is_alive() and not self._server.started and time.monotonic() < deadline:
            tick.wait(0.005)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"sandbox failed to start on {self.host}:{self.port}")
        sock_probe = socket.create_connection((self.host, self.port), timeout=timeout)
        sock_probe.close()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
        self._server = None
        if self.sandbox is not None:
            self.sandbox.callbacks.stop()
            self.sandbox.store.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
