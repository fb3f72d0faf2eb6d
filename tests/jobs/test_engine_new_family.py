"""A family the engine has never heard of: one catalog entry plus this module as its adapter, and a take of it
goes from intent row to downloaded clip against a small loopback provider, with no edit in jobs/ or providers/.

This module is the adapter (`parse_submit`, `parse_poll`, `build_request`, `result_urls`), named in the test
catalog by its own module name. Its provider speaks a dialect of its own: takes are "loading", "developing"
(with a percentage), "printed", and once "drying", a word no table knows, which must be polled on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from jobs_helpers import wait_state
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jobs.clipstore import ClipStore
from jobs.ledger import JobState, Ledger
from jobs.runner import Runner
from providers import families
from providers.catalog import CATALOG_PATH, load_catalog
from providers.client import Backend
from providers.errors import MalformedResponse
from providers.families.wire import WireParts
from providers.recipe import ModelOptions, Recipe
from providers.status import TaskState, TaskStatus
from providers.submission import WireRequest

FAMILY = "reel"
MODEL = "reel-1"
KEY = "sk-reel-test"
PHASES = {"loading": TaskState.QUEUED, "developing": TaskState.RUNNING, "printed": TaskState.SUCCEEDED,
          "spoiled": TaskState.FAILED}


# --- the adapter ----------------------------------------------------------------------------------------------

def _take(status_code: int, body: bytes) -> TaskStatus:
    if status_code != 200:
        raise MalformedResponse(f"HTTP {status_code}", status_code=status_code)
    data = json.loads(body)
    take = data["take"]
    return TaskStatus(task_id=take["ref"], state=PHASES.get(take["phase"], TaskState.UNKNOWN),
                      progress=take.get("percent"), raw=data)


def parse_submit(status_code: int, headers: Mapping[str, str], body: bytes) -> TaskStatus:
    return _take(status_code, body)


def parse_poll(status_code: int, headers: Mapping[str, str], body: bytes) -> TaskStatus:
    return _take(status_code, body)


def build_request(parts: WireParts) -> WireRequest:
    return WireRequest("POST", parts.route_submit, json={"stock": parts.spec.wire_model, "script": parts.prompt,
                                                         "reel_seconds": parts.duration, "frame": parts.wire_size})


def result_urls(status: TaskStatus, content_url: str | None) -> list[str]:
    return [content_url] if content_url else []


# --- the provider ---------------------------------------------------------------------------------------------

@dataclass
class Lab:
    """A loopback provider of the reel dialect: each take is answered loading, drying, developing, printed."""

    clip: bytes
    requests: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)

    def app(self) -> Starlette:
        async def submit(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {KEY}":
                return JSONResponse({"error": "who are you"}, status_code=401)
            self.requests.append(("submit", request.url.path))
            self.bodies.append(await request.json())
            ref = f"take-{len(self.bodies)}"
            self.polls[ref] = 0
            return JSONResponse({"take": {"ref": ref, "phase": "loading"}})

        async def poll(request: Request) -> Response:
            ref = request.path_params["ref"]
            self.requests.append(("poll", ref))
            self.polls[ref] += 1
            n = self.polls[ref]
            phase, percent = (("drying", None) if n == 1 else ("developing", 50) if n == 2 else ("printed", 100))
            return JSONResponse({"take": {"ref": ref, "phase": phase, "percent": percent}})

        async def print_(request: Request) -> Response:
            self.requests.append(("print", request.path_params["ref"]))
            return Response(self.clip, media_type="video/mp4")

        return Starlette(routes=[Route("/reel/v1/takes", submit, methods=["POST"]),
                                 Route("/reel/v1/takes/{ref}", poll), Route("/reel/v1/takes/{ref}/print", print_)])


@contextlib.contextmanager
def serve(app: Starlette) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        asyncio.run(asyncio.sleep(0.01))
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- the catalog ----------------------------------------------------------------------------------------------

def catalog_with_reel(tmp_path: Path) -> Path:
    raw = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    raw["families"][FAMILY] = {"adapter": __name__, "first_poll_s": 1, "min_interval_s": 1, "progress_hints": True}
    model = json.loads(json.dumps(raw["models"][0]))
    model.update({
        "id": MODEL, "family": FAMILY, "display_name": "Reel One", "wire_model": "reel-stock-1", "encoding": "json",
        "routes": {"t2v": {"submit": "/reel/v1/takes", "poll": "/reel/v1/takes/{task_id}"}},
        "content_path": "/reel/v1/takes/{task_id}/print", "modes": ["t2v"],
        "durations": {"allowed": [1], "default": 1, "approximate_within_s": 0, "wire_field": "reel_seconds"},
        "aspect_ratios": {"16:9": "320x180"}, "default_ratio": "16:9", "sizes": {"320x180": [320, 180]},
        "ratio_notes": {}, "audio": False,
        "price": {"kind": "per_task", "usd": 0.1, "source": "test", "as_of": "2026-12-03"},
        "render": {"p50_s": 4, "p90_s": 8, "first_poll_after_s": 1, "deadline_s": 600, "source": "test"},
        "availability": {"available": True},
    })
    raw["models"].append(model)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_a_new_family_from_the_catalog_and_one_adapter_module_delivers_a_clip(
        tmp_path: Path, ledger: Ledger, clips: ClipStore, small_clip: Path) -> None:
    catalog = load_catalog(catalog_with_reel(tmp_path))
    assert families.module_for(FAMILY).__name__ == __name__
    lab = Lab(clip=small_clip.read_bytes())
    with serve(lab.app()) as base_url:
        runner = Runner(ledger, clips, catalog, workers=2, concurrency_cap=2, rescan_interval_s=0.5).start()
        try:
            backend = Backend(base_url=base_url, api_key=KEY, sandbox=True, time_scale=0.02)
            (job_id,) = runner.submit_run(Recipe(prompt="a lighthouse in fog"), [(MODEL, ModelOptions())], backend)
            job = wait_state(runner, job_id, {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED,
                                              JobState.STALE}, timeout=20)
        finally:
            runner.stop(timeout=2)
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert lab.bodies == [{"stock": "reel-stock-1", "script": "a lighthouse in fog", "reel_seconds": 1,
                           "frame": "320x180"}]
    assert job.task_id == "take-1" and job.poll_path == "/reel/v1/takes/take-1"
    # The unknown "drying" answer was polled on; the clip came from the catalog's content route.
    assert [r for r in lab.requests if r[0] != "submit"] == [("poll", "take-1")] * 3 + [("print", "take-1")]
    states = [e["to_state"] for e in ledger.events(job_id)]
    assert JobState.FAILED not in states and JobState.RUNNING in states
    assert hashlib.sha256(clips.path_of(job.clip_path).read_bytes()).hexdigest() == hashlib.sha256(lab.clip).hexdigest()
    assert job.clip_meta["honoured"] == {"duration": True, "size": True, "audio": True}


@pytest.mark.parametrize("state", list(TaskState))
def test_every_task_state_has_a_case_in_the_poll_handler(state: TaskState, tmp_path: Path, ledger: Ledger,
                                                         clips: ClipStore, small_clip: Path) -> None:
    """The match in jobs.engine.poll.on_status is exhaustive: no state reaches assert_never, and an unknown
    provider status keeps the job queued and polled, never failed."""
    from jobs.engine import poll
    from jobs.engine.handle import TaskHandle

    catalog = load_catalog(catalog_with_reel(tmp_path))
    runner = Runner(ledger, clips, catalog)
    ctx = runner._ctx  # noqa: SLF001 - the step is driven directly, without a provider
    backend = Backend(base_url="http://127.0.0.1:9", api_key=KEY, sandbox=True, time_scale=0.02)
    runner.set_key(backend)
    (job_id,) = runner.submit_run(Recipe(prompt="x"), [(MODEL, ModelOptions())], backend)  # adopted, not sent
    assert ledger.begin_submit(job_id, owner=runner.owner, cap=1) is not None
    ledger.record_task_id(job_id, "take-9", submitted_at=time.time(), poll_path="/reel/v1/takes/take-9",
                          content_path="/reel/v1/takes/take-9/print")
    job = ledger.transition(job_id, JobState.QUEUED)
    track = ctx.track(job_id)
    assert track is not None
    track.handle = TaskHandle.from_job(job, backend)
    poll.start_polling(ctx, job, track)
    poll.on_status(ctx, job, track, TaskStatus(task_id="take-9", state=state, raw={"take": {"phase": "x"}}))
    after = ledger.get(job_id)
    expected = {TaskState.QUEUED: JobState.QUEUED, TaskState.UNKNOWN: JobState.QUEUED,
                TaskState.RUNNING: JobState.RUNNING, TaskState.SUCCEEDED: JobState.SUCCEEDED,
                TaskState.FAILED: JobState.FAILED, TaskState.CANCELED: JobState.CANCELED}
    assert after is not None and after.state == expected[state]
    if not state.terminal:
        assert ctx.sched.has_entry(job_id)  # polled on
