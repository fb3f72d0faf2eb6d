"""Kling Omni and Extend under `/kling/v1/videos`, as the reference (§8) describes them.

- `POST /kling/v1/videos/omni-video`: `model_name` kling-video-o1, `prompt` (≤ 2,500), `mode`, `duration`
  (5 or 10 for text-only and first-frame video), `aspect_ratio` (16:9, 9:16, 1:1; required without a first
  frame), `image_list` of `{image_url, type: first_frame | end_frame}` (an end frame alone is refused).
  `GET .../omni-video/{task_id}` answers the native Kling envelope or, with `shapes["kling_omni"] = "wrapped"`,
  CometAPI's wrapper (`code: "success"`, outer SUCCESS / FAILURE, `action: "OMNI_VIDEO"`, Kling's task inside).
- `POST /kling/v1/videos/video-extend`: `video_id` of a finished Kling video (any Kling-dialect task here) and
  `prompt` (≤ 500); the task shows `task_info.parent_video`. Its poll route is undocumented: `native` answers
  `GET .../video-extend/{task_id}`, `no_poll_route` answers that with the edge's HTML 404.
An extension renders the parent's length plus 5 s (Kling adds about that; not documented on CometAPI's page).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from . import dialects, wire
from .lifecycle import Phase
from .store import Task
from .validate import Invalid, _choice, _image_aspect, _kling_image

if TYPE_CHECKING:
    from .app import Sandbox

OMNI, EXTEND = "kling_omni", "kling_extend"
RATIOS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}
EXTENSION_S = 5
_OUTER = {"queued": "SUBMITTED", "running": "IN_PROGRESS", "succeeded": "SUCCESS", "failed": "FAILURE",
          "cancelled": "FAILURE"}


def _json(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    return body


def _size(aspect: float, mode: str) -> tuple[int, int]:
    height = 1080 if mode == "pro" else 720
    if aspect >= 1:
        return round(height * aspect / 2) * 2, height
    return height, round(height / aspect / 2) * 2


def omni_request(body: Any, inputs_dir: Any) -> dict[str, Any]:
    body = _json(body)
    model = _choice("model_name", body.get("model_name", "kling-video-o1"), ("kling-video-o1",))
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise Invalid("prompt is required")
    if len(prompt) > 2500:
        raise Invalid(f"prompt: {len(prompt)} characters; the limit is 2500")
    mode = _choice("mode", body.get("mode", "std"), ("std", "pro"))
    images = body.get("image_list") or []
    if not isinstance(images, list) or not all(isinstance(i, dict) for i in images):
        raise Invalid("image_list: must be a list of {image_url, type} objects")
    kinds = [_choice("image_list[].type", i.get("type", "first_frame"), ("first_frame", "end_frame")) for i in images]
    if "end_frame" in kinds and "first_frame" not in kinds:
        raise Invalid("image_list: an end frame alone is not supported; add a first_frame")
    paths = {k: _kling_image(i.get("image_url"), "image_list[].image_url", inputs_dir) for i, k in zip(images, kinds,
                                                                                                      strict=True)}
    duration = str(body.get("duration", "5"))
    if duration not in ("5", "10"):
        raise Invalid(f"duration: {duration!r} is not allowed for text or first-frame video; allowed: 5, 10")
    if "first_frame" in kinds:
        aspect, label = _image_aspect(paths.get("first_frame")) or 16 / 9, None
    else:
        label = _choice("aspect_ratio", body.get("aspect_ratio"), tuple(RATIOS))
        aspect = RATIOS[label]
    width, height = _size(aspect, mode)
    return {"model": model, "prompt": prompt, "mode": mode, "duration": duration, "render_seconds": int(duration),
            "aspect_ratio": label, "width": width, "height": height, "image_path": paths.get("first_frame"),
            "audio": False, "external_task_id": None}


def extend_request(sb: Sandbox, body: Any) -> tuple[Task, dict[str, Any]]:
    body = _json(body)
    video_id, prompt = body.get("video_id"), body.get("prompt", "")
    if not isinstance(video_id, str) or not video_id:
        raise Invalid("video_id is required (the id of a finished Kling video)")
    if not isinstance(prompt, str) or len(prompt) > 500:
        raise Invalid("prompt: must be a string of at most 500 characters")
    parent = sb.store.by_kling_video_id(video_id)
    if parent is None or sb._phase(parent).state != "succeeded":
        raise Invalid(f"video_id: {video_id!r} is not a finished video of this account")
    callback = body.get("callback_url")
    if callback is not None and (not isinstance(callback, str) or not callback.strip() or len(callback) > 2048):
        raise Invalid("callback_url: must be a non-empty URL string of at most 2048 characters")
    p = parent.params
    seconds = int(p["render_seconds"]) + EXTENSION_S
    return parent, {"prompt": prompt, "mode": p.get("mode", "std"), "render_seconds": seconds, "width": p["width"],
                    "height": p["height"], "image_path": None, "audio": False, "external_task_id": None,
                    "parent_video": {"id": video_id, "duration": f"{p['render_seconds']}.1"}, "callback_url": callback}


def native(task: Task, phase: Phase, url: str | None) -> dict[str, Any]:
    body = dialects.kling_poll(task, phase, url)
    if task.params.get("parent_video"):
        body["data"]["task_info"]["parent_video"] = task.params["parent_video"]
    return body


def wrapped(task: Task, phase: Phase, url: str | None) -> dict[str, Any]:
    inner = native(task, phase, url)["data"]
    failure = (phase.failure or {}).get("message") or ""
    return {"code": "success", "message": "", "data": {
        "task_id": task.id, "action": "OMNI_VIDEO", "status": _OUTER[phase.state],
        "fail_reason": (url or "") if phase.state == "succeeded" else failure,
        "submit_time": int(task.created_at), "start_time": int(phase.started_at) if phase.started_at else 0,
        "finish_time": int(phase.finished_at) if phase.finished_at else 0,
        "progress": f"{int(phase.progress * 100)}%", "data": inner}}


def routes(sb: Sandbox) -> list[Route]:
    async def body_of(request: Request) -> Any:
        try:
            return await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Invalid("request body must be valid JSON") from exc

    async def omni_create(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        try:
            params = await run_in_threadpool(omni_request, await body_of(request), sb.inputs_dir)
        except Invalid as exc:
            sb._mark(request, "submit", OMNI)
            return wire.envelope(400, str(exc))
        return await sb._submit(
            request, OMNI, lambda: sb._new_task(wire.kling_task_id(), OMNI, params["model"], "omni-video", params),
            dialects.kling_submit)

    async def extend_create(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        try:
            parent, params = extend_request(sb, await body_of(request))
        except Invalid as exc:
            sb._mark(request, "submit", EXTEND)
            return wire.envelope(400, str(exc))

        def submitted(task: Task) -> dict[str, Any]:
            body = dialects.kling_submit(task)
            body["data"]["task_info"]["parent_video"] = params["parent_video"]
            return body

        return await sb._submit(
            request, EXTEND,
            lambda: sb._arm_callback(
                request, sb._new_task(wire.kling_task_id(), EXTEND, parent.model, "video-extend", params),
                lambda t, phase, url: native(t, phase, url)["data"]),
            submitted)

    def poller(family: str) -> Any:
        async def poll(request: Request) -> Response:
            if (refused := sb._authorized(request)) is not None:
                return refused
            if family == EXTEND and sb.config.shapes[EXTEND] == "no_poll_route":
                sb._mark(request, "poll", EXTEND, request.path_params["task_id"])
                return HTMLResponse("<html><body><h1>404</h1><p>Not Found</p></body></html>", status_code=404)
            task = sb.store.get(request.path_params["task_id"])
            if task is not None and task.family != family:
                task = None

            def answer(t: Task, phase: Phase) -> dict[str, Any]:
                url = sb._url(request, t, phase)[0]
                return (wrapped if family == OMNI and sb.config.shapes[OMNI] == "wrapped" else native)(t, phase, url)

            return await sb._poll(request, task, family, answer)
        return poll

    return [Route("/kling/v1/videos/omni-video", omni_create, methods=["POST"]),
            Route("/kling/v1/videos/omni-video/{task_id}", poller(OMNI), methods=["GET"]),
            Route("/kling/v1/videos/video-extend", extend_create, methods=["POST"]),
            Route("/kling/v1/videos/video-extend/{task_id}", poller(EXTEND), methods=["GET"])]
