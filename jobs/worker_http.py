"""A worker's `GET /healthz` and `GET /metrics` (Prometheus text), Starlette on uvicorn in a thread; with
callbacks on, the same server answers `POST /callbacks/{job_id}` (jobs/callbacks.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from jobs.ledger import JobState, Ledger


def metrics_text(ledger: Ledger, worker: str, counters: dict[str, int]) -> str:
    """Jobs by state in the shared ledger (every worker sees the same), and this worker's own counts."""
    lines = ["# HELP dailies_jobs Jobs in the ledger by state.", "# TYPE dailies_jobs gauge"]
    for state in JobState:
        lines.append(f'dailies_jobs{{state="{state.value}"}} {ledger.count_jobs(states=[state.value])}')
    label = f'worker="{worker}"'
    for name in ("polls", "submits", "errors", "state_changes"):
        lines += [f"# TYPE dailies_worker_{name}_total counter",
                  f"dailies_worker_{name}_total{{{label}}} {counters.get(name, 0)}"]
    return "\n".join(lines) + "\n"


class MetricsServer:
    def __init__(self, ledger: Ledger, worker: str, counters: Callable[[], dict[str, int]],
                 running: Callable[[], bool], routes: Sequence[Route] = ()) -> None:
        self.ledger, self.worker, self.counters, self.running = ledger, worker, counters, running
        app = Starlette(routes=[Route("/healthz", self.healthz, methods=["GET"]),
                                Route("/metrics", self.metrics, methods=["GET"]), *routes])
        # No access log: a callback's URL carries its job's token in the query string.
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._thread: threading.Thread | None = None

    async def healthz(self, request: Request) -> Response:
        ok = self.running()
        held = await asyncio.to_thread(self._held)
        return JSONResponse({"ok": ok, "worker": self.worker, "leases": held}, status_code=200 if ok else 503)

    def _held(self) -> int:
        return sum(1 for j in self.ledger.list_jobs(states=[s.value for s in JobState if s.active])
                   if j.lease_owner == self.worker)

    async def metrics(self, request: Request) -> Response:
        text = await asyncio.to_thread(metrics_text, self.ledger, self.worker, self.counters())
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    def start(self, sock: socket.socket) -> None:
        # Off the main thread uvicorn installs no signal handlers: SIGTERM stays the worker's.
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="dailies-worker-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
