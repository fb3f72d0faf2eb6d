"""Seedance on `/v1/videos`, as the reference (§8, CDOC `/api/video/seedance/create`, `/query`) describes it.

Multipart create with `model`, `prompt`, `seconds` (an integer in each model's range, default 5), `size` (an
aspect ratio; the webhook guide's `1280x720` spelling is accepted too), `resolution` (480p / 720p, plus
1080p on 1.5 Pro and 1.0 Pro) and `input_reference` (2.0 models only). Answers are the video object with
capital statuses: SUBMITTED, IN_PROGRESS, SUCCESS, FAILED (ERROR for a task the provider errored on).
Refusals are HTTP 400 with code `InvalidParameter`, worded like the documented one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import wire
from .lifecycle import Phase
from .store import Task
from .validate import Invalid, _store_image

if TYPE_CHECKING:
    from .app import Sandbox

FAMILY = "seedance"
# model -> (seconds lo, hi, resolutions, takes input_reference)
MODELS: dict[str, tuple[int, int, tuple[str, ...], bool]] = {
    "doubao-seedance-2-0": (4, 15, ("480p", "720p"), True),
    "doubao-seedance-2-0-fast": (4, 15, ("480p", "720p"), True),
    "doubao-seedance-1-5-pro": (4, 12, ("480p", "720p", "1080p"), False),
    "doubao-seedance-1-0-pro": (2, 10, ("480p", "720p", "1080p"), False),
}
RATIOS = {"21:9": (21, 9), "16:9": (16, 9), "4:3": (4, 3), "1:1": (1, 1), "3:4": (3, 4), "9:16": (9, 16)}
DEFAULT_RESOLUTION = "720p"  # undocumented; what the sandbox renders when none is sent
STATUS = {"queued": "SUBMITTED", "running": "IN_PROGRESS", "succeeded": "SUCCESS", "failed": "FAILED",
          "cancelled": "FAILED"}


def frame_size(ratio: tuple[int, int], resolution: str) -> tuple[int, int]:
    """Pixels for an aspect ratio at a "720p"-style resolution (the short side), even on both sides."""
    short = int(resolution.rstrip("p"))
    rw, rh = ratio
    if rw >= rh:
        return round(short * rw / rh / 2) * 2, short
    return short, round(short * rh / rw / 2) * 2


def _short_name(model: str) -> str:
    return model.removeprefix("doubao-")


def request(form: dict[str, str], files: list[tuple[str, bytes]], inputs_dir: Path) -> dict[str, Any]:
    model = form.get("model", "")
    lo, hi, resolutions, takes_image = MODELS[model]
    prompt = form.get("prompt", "")
    if not prompt.strip():
        raise Invalid("prompt is required")
    raw_seconds = form.get("seconds", "5")
    if not raw_seconds.isdigit() or not lo <= int(raw_seconds) <= hi:
        raise Invalid(f"seconds: {raw_seconds!r} is not allowed for {model}; allowed: integers {lo}-{hi}")
    size = form.get("size", "16:9")
    resolution = form.get("resolution") or None
    if size in RATIOS:
        if resolution is not None and resolution not in resolutions:
            raise Invalid(f"resolution: {resolution!r} is not allowed for {model}; allowed: {', '.join(resolutions)}")
        width, height = frame_size(RATIOS[size], resolution or DEFAULT_RESOLUTION)
    elif "x" in size and all(p.isdigit() for p in size.split("x", 1)):
        width, height = (int(p) for p in size.split("x", 1))  # the webhook guide's spelling
    else:
        raise Invalid(f"size: {size!r} is not allowed; allowed: {', '.join(RATIOS)}")
    images = [data for name, data in files if name == "input_reference"]
    if images and not takes_image:
        raise Invalid(f"the specified task_type i2v does not support model {_short_name(model)}")
    if len(images) > 1:
        raise Invalid(f"input_reference: at most 1 image for {model}, got {len(images)}")
    image_path = _store_image(images[0], "input_reference", inputs_dir) if images else None
    return {"prompt": prompt, "seconds": int(raw_seconds), "size": size, "resolution": resolution,
            "width": width, "height": height, "render_seconds": int(raw_seconds), "image_path": image_path,
            "audio": False}


def video_object(task: Task, phase: Phase, url: str | None) -> dict[str, Any]:
    p = task.params
    body: dict[str, Any] = {
        "id": task.id, "task_id": task.id, "object": "video", "model": task.model,
        "status": STATUS[phase.state], "progress": int(phase.progress * 100), "created_at": int(task.created_at),
        "seconds": str(p["seconds"]), "size": p["size"],
    }
    if p.get("resolution"):
        body["resolution"] = p["resolution"]
    if phase.finished_at:
        body["completed_at"] = int(phase.finished_at)
    if phase.state == "succeeded" and url:
        body["video_url"] = url
    if phase.state in ("failed", "cancelled"):
        failure = phase.failure or {}
        body["error"] = {"code": failure.get("code") or "InternalError",
                         "message": failure.get("message") or "the task failed"}
    return body


async def create(sb: Sandbox, request_: Request, fields: dict[str, str], files: list[tuple[str, bytes]]) -> Response:
    from starlette.concurrency import run_in_threadpool

    try:
        params = await run_in_threadpool(request, fields, files, sb.inputs_dir)
    except Invalid as exc:
        sb._mark(request_, "submit", FAMILY)
        return wire.envelope(400, str(exc), code="InvalidParameter")
    model = fields["model"]
    return await sb._submit(
        request_, FAMILY, lambda: sb._new_task(wire.task_id(), FAMILY, model, "videos", params),
        lambda task: video_object(task, sb._phase(task), None))
