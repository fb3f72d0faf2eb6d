"""Every request that reached the sandbox, recorded before the client sees the answer (tests count on it)."""

from __future__ import annotations

import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestLog:
    """Every request that reached the app, so tests can count polls and prove nothing was submitted twice."""

    def __init__(self) -> None:
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(record)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._records]

    def reset(self) -> None:
        with self._lock:
            self._records.clear()


class LogMiddleware:
    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        logged = False

        def record(status: int) -> None:
            self.log.add({
                "time": time.time(), "method": scope["method"], "path": scope["path"], "status": status,
                "task_id": state.get("task_id"), "family": state.get("family"), "route": state.get("route"),
                "fault": state.get("fault"), "worker": _header(scope, b"x-dailies-worker"),
            })

        async def send_logged(message: Message) -> None:
            nonlocal logged
            if message["type"] == "http.response.start" and not logged:
                logged = True
                record(message["status"])  # before the client can see the answer
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if not logged:
                record(500)


def _header(scope: Scope, name: bytes) -> str | None:
    """One request header, decoded (a client's `X-Dailies-Worker` names which engine process sent it)."""
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
