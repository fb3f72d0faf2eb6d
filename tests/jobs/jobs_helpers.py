"""Helpers shared by the engine tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np

from jobs.ledger import Job, JobState
from jobs.runner import Runner
from providers.client import Backend
from providers.recipe import ImageInput, ModelOptions, Recipe

SANDBOX_KEY = "sk-sandbox"


def job_spec(**kw: Any) -> dict[str, Any]:
    """The fields of one plain intent row for the ledger's own tests (a Kling take on a dead loopback port)."""
    base = {"run_id": "run1", "model_id": "kling-v1-6", "family": "kling", "backend": "sandbox",
            "base_url": "http://127.0.0.1:1", "key_fingerprint": "abc", "recipe_json": '{"prompt": "x"}',
            "est_low_usd": 0.5, "est_high_usd": 1.0}
    base.update(kw)
    return base


def backend_for(server: Any, *, base_url: str | None = None) -> Backend:
    return Backend(base_url=base_url or server.base_url, api_key=SANDBOX_KEY, sandbox=True,
                   time_scale=server.config.time_scale)


def recipe(prompt: str = "a red kite over a beach at dawn", **kw: Any) -> Recipe:
    return Recipe(prompt=prompt, **kw)


def no_options() -> ModelOptions:
    return ModelOptions()


def wait_state(runner: Runner, job_id: str, states: set[JobState] | JobState, timeout: float = 10.0) -> Job:
    wanted = {states} if isinstance(states, JobState) else set(states)
    found: list[Job] = []

    def done() -> bool:
        job = runner.ledger.get(job_id)
        if job is not None and job.state in wanted:
            found.append(job)
            return True
        return False

    if not runner.wait_for(done, timeout):
        job = runner.ledger.get(job_id)
        raise AssertionError(f"job {job_id} did not reach {sorted(wanted)} within {timeout} s; it is "
                             f"{job.state if job else None}: {job.error_kind if job else ''} "
                             f"{job.error_message if job else ''}")
    return found[-1]


def submits(server: Any) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r.get("route") == "submit"]


def polls(server: Any, task_id: str | None = None) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r.get("route") == "poll" and (task_id is None or r["task_id"] == task_id)]


def downloads(server: Any) -> list[dict[str, Any]]:
    return [r for r in server.requests() if r.get("route") in ("download", "content")]


def run_one(runner: Runner, server: Any, model: str = "sora-2", *, base_url: str | None = None, **kw: Any) -> str:
    """Submit one take of the standard recipe to `server` (or through a proxy at `base_url`); its job id."""
    (job_id,) = runner.submit_run(recipe_for(model), [(model, no_options())], backend_for(server, base_url=base_url),
                                  **kw)
    return job_id


def png_bytes(size: tuple[int, int] = (640, 360)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buf, format="PNG")
    return buf.getvalue()


def recipe_for(model_id: str, prompt: str = "a red kite over a beach at dawn") -> Recipe:
    """A recipe every model accepts: Runway needs a first frame, Kling and Runway 5 or 10 s."""
    if model_id.startswith("gen"):
        return Recipe(prompt=prompt, duration_s=5, first_frame=ImageInput(data=png_bytes(), mime="image/png",
                                                                           name="first.png"))
    if model_id.startswith("kling"):
        return Recipe(prompt=prompt, duration_s=5)
    return Recipe(prompt=prompt)


def encode_clip(path: Path, *, audio: bool, seconds: float = 1.0, width: int = 160, height: int = 90,
                color: tuple[int, int, int] = (40, 200, 80)) -> Path:
    """A tiny real H.264 MP4 (optionally with AAC), as a provider would return."""
    fps = 24
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"preset": "ultrafast"}
        a = c.add_stream("aac", rate=44100) if audio else None
        if a is not None:
            a.layout = "mono"
        frames = int(seconds * fps)
        for i in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[:, : (i + 1) * width // frames] = color
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        if a is not None:
            total, pts = int(seconds * 44100), 0
            while pts < total:
                n = min(1024, total - pts)
                wave = (0.2 * np.sin(np.arange(pts, pts + n) / 44100 * 2 * np.pi * 440)).astype(np.float32)
                frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 44100, pts
                pts += n
                for p in a.encode(frame):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return path


def orphan_part(folder: Path) -> Path:
    """A `.part` left by a writer that is gone (a process that has exited, on this host), as a download killed
    mid-way leaves it: the next start of anything that downloads must sweep it, whatever its age."""
    import subprocess
    import sys

    from jobs import clipstore

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"half.mp4.w{int(gone.stdout)}-{clipstore._host_tag()}.part"  # noqa: SLF001 - its naming rule
    part.write_bytes(b"half a clip")
    return part
