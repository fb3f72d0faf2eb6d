"""xAI Grok Imagine video under `/grok/v1`, as the reference (§8, CDOC `/api/video/xai/*`) describes it.

`POST /grok/v1/videos/generations` (JSON: prompt, model, duration 1-15, aspect_ratio, resolution, image
{url}) answers `{"request_id"}` only. `GET /grok/v1/videos/{request_id}` answers in one of the two documented
shapes (config `shapes["grok"]`):
- `bare` (xAI's own): `{"request_id"}` alone while queued, then `status` processing / done / failed /
  expired with `progress`, `video{url,duration,respect_moderation}`, `usage`, `error`;
- `wrapped` (CometAPI's envelope): `code:"success"`, the task state in `data.status`, xAI's object in
  `data.data`, and on success the video URL in `fail_reason` too, as in the sample.
A `content_policy` fault with `code: "expired"` ends a task as xAI's `expired`.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import wire
from .lifecycle import Phase
from .seedance import frame_size
from .store import Task
from .validate import Invalid, _choice, _store_image

if TYPE_CHECKING:
    from .app import Sandbox

FAMILY = "grok"
RESOLUTIONS = {"grok-imagine-video": ("480p", "720p"), "grok-imagine-video-1.5": ("480p", "720p", "1080p")}
RATIOS = {"1:1": (1, 1), "16:9": (16, 9), "9:16": (9, 16), "4:3": (4, 3), "3:4": (3, 4), "3:2": (3, 2),
          "2:3": (2, 3)}
DEFAULT_RESOLUTION = "480p"  # the page's live sample ran at 480p; none is documented as the default
TICKS_PER_SECOND = 500_000_000  # the sample's usage for its 1 s clip
_OUTER = {"queued": "QUEUED", "running": "IN_PROGRESS", "succeeded": "SUCCESS", "failed": "FAILURE",
          "cancelled": "FAILURE"}


def request(body: Any, inputs_dir: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise Invalid("prompt is required")
    model = _choice("model", body.get("model", "grok-imagine-video"), tuple(RESOLUTIONS))
    duration = body.get("duration", 1)
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= 15:
        raise Invalid(f"duration: {duration!r} is not allowed; allowed: integers 1-15")
    ratio = _choice("aspect_ratio", body.get("aspect_ratio", "16:9"), tuple(RATIOS))
    resolution = _choice("resolution", body.get("resolution", DEFAULT_RESOLUTION), RESOLUTIONS[model])
    image_path = None
    if body.get("image") is not None:
        image = body["image"]
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "data:image/")):
            raise Invalid("image: must be {\"url\": an https URL or a data:image/...;base64, URI}")
        if url.startswith("data:"):
            import base64
            import binascii

            try:
                data = base64.b64decode(url.split(",", 1)[1], validate=True)
            except (binascii.Error, ValueError, IndexError) as exc:
                raise Invalid("image.url: the data URI is not valid Base64") from exc
            image_path = _store_image(data, "image.url", inputs_dir)
    width, height = frame_size(RATIOS[ratio], resolution)
    return {"model": model, "prompt": prompt, "duration": duration, "aspect_ratio": ratio, "resolution": resolution,
            "width": width, "height": height, "render_seconds": duration, "image_path": image_path, "audio": False}


def _expired(phase: Phase) -> bool:
    return phase.state == "failed" and (phase.failure or {}).get("code") == "expired"


def bare(task: Task, phase: Phase, url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"request_id": task.id}
    if phase.state == "queued":
        return body  # "wait a few seconds and poll again; once `status` appears, use it"
    if phase.state == "running":
        body.update(status="processing", progress=int(phase.progress * 100))
    elif phase.state == "succeeded":
        seconds = task.params["render_seconds"]
        body.update(status="done", progress=100, model=task.model,
                    video={"url": url or "", "duration": seconds, "respect_moderation": True},
                    usage={"cost_in_usd_ticks": TICKS_PER_SECOND * seconds})
    else:
        failure = phase.failure or {}
        body["status"] = "expired" if _expired(phase) else "failed"
        if not _expired(phase):
            body["error"] = {"code": failure.get("code") or "failed",
                             "message": failure.get("message") or "video generation failed"}
    return body


def wrapped(task: Task, phase: Phase, url: str | None) -> dict[str, Any]:
    inner = {k: v for k, v in bare(task, phase, url).items() if k != "request_id"}
    inner.setdefault("model", task.model)
    failure = (phase.failure or {}).get("message") or ""
    data: dict[str, Any] = {
        "task_id": task.id, "action": "VIDEO_GENERATION",
        "status": "SUBMITTED" if phase.state == "queued" and task.polls <= 1 else _OUTER[phase.state],
        "fail_reason": (url or "") if phase.state == "succeeded" else failure,
        "submit_time": int(task.created_at), "start_time": int(phase.started_at) if phase.started_at else 0,
        "finish_time": int(phase.finished_at) if phase.finished_at else 0,
        "progress": f"{int(phase.progress * 100)}%", "data": inner,
    }
    return {"code": "success", "message": "", "data": data}


def routes(sb: Sandbox) -> list[Route]:
    async def create(request_: Request) -> Response:
        if (refused := sb._authorized(request_)) is not None:
            return refused
        try:
            try:
                body = await request_.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise Invalid("request body must be valid JSON") from exc
            params = await run_in_threadpool(request, body, sb.inputs_dir)
        except Invalid as exc:
            sb._mark(request_, "submit", FAMILY)
            return wire.envelope(400, str(exc))
        return await sb._submit(
            request_, FAMILY,
            lambda: sb._new_task(str(uuid.uuid4()), FAMILY, params["model"], "generations", params),
            lambda task: {"request_id": task.id})

    async def poll(request_: Request) -> Response:
        if (refused := sb._authorized(request_)) is not None:
            return refused
        task = sb.store.get(request_.path_params["task_id"])
        if task is not None and task.family != FAMILY:
            task = None

        def answer(t: Task, phase: Phase) -> dict[str, Any]:
            url = sb._url(request_, t, phase)[0]
            return (wrapped if sb.config.shapes[FAMILY] == "wrapped" else bare)(t, phase, url)

        return await sb._poll(request_, task, FAMILY, answer)

    return [Route("/grok/v1/videos/generations", create, methods=["POST"]),
            Route("/grok/v1/videos/{task_id}", poll, methods=["GET"])]
