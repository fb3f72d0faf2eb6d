"""Veo and Sora on `/v1/videos` (OpenAI's video object), as the reference (§8) describes them.

- `POST /v1/videos` (multipart: `model`, `prompt`, `seconds`, `size`, `input_reference`): a Seedance model id is
  handed to sandbox/seedance.py (same route, its own dialect); Veo and Sora answer the video object in the
  shape `shapes["veo"]` / `shapes["sora"]` (sandbox/dialects.py). Sora ids are `video_<hex>` or `task_<alnum>`
  (`sora_id_style`).
- `GET /v1/videos/{id}` polls Veo, Sora and Seedance tasks; with `poll_after_ms` set every answer (errors too)
  carries OpenAI's `openai-poll-after-ms` hint.
- `GET /v1/videos/{id}/content` serves a finished Veo or Sora clip (`variant=video` only).
- `POST /v1/videos/{id}/remix` (Sora, JSON `{"prompt"}`): a new task from a completed one.
- `GET /v1/video/generations/{id}`: new-api's legacy poll (`succeeded` + `output[]`), any family.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import dialects, seedance, wire
from .lifecycle import Phase
from .store import Task
from .validate import Invalid, videos_request

if TYPE_CHECKING:
    from .app import Sandbox


def routes(sb: Sandbox) -> list[Route]:
    async def create(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        async with request.form(max_files=10, max_part_size=16 * 1024 * 1024) as form:
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            uploads = [(k, await v.read()) for k, v in form.multi_items() if not isinstance(v, str)]
        files = [(k, data) for k, data in uploads if k == "input_reference"]
        if fields.get("model") in seedance.MODELS:
            return await seedance.create(sb, request, fields, files)
        try:
            family, params = await run_in_threadpool(
                videos_request, fields, files, sb.config.shapes["veo"], sb.inputs_dir)
        except Invalid as exc:
            sb._mark(request, "submit")
            return wire.envelope(400, str(exc))
        model = fields["model"]
        if family == "sora" and sb.config.sora_id_style == "video":
            new_id = wire.sora_video_id()
        else:
            new_id = wire.task_id()
        shape = sb.config.shapes[family]
        return await sb._submit(
            request, family, lambda: sb._new_task(new_id, family, model, "videos", params),
            lambda task: dialects.video_object(task, sb._phase(task), shape, None, None))

    async def poll(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        task = sb.store.get(request.path_params["task_id"])
        if task is not None and task.family not in ("veo", "sora", seedance.FAMILY):
            task = None

        def answer(t: Task, phase: Phase) -> dict[str, Any]:
            url, expires = sb._url(request, t, phase)
            if t.family == seedance.FAMILY:
                return seedance.video_object(t, phase, url)
            return dialects.video_object(t, phase, sb.config.shapes[t.family], url, expires)

        response = await sb._poll(request, task, None, answer)
        if sb.config.poll_after_ms is not None:
            # OpenAI's hint for the next poll, on every answer to a status GET (errors included).
            response.headers["openai-poll-after-ms"] = sb.config.poll_after_ms
        return response

    async def legacy_poll(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        task = sb.store.get(request.path_params["task_id"])

        def answer(t: Task, phase: Phase) -> dict[str, Any]:
            return dialects.legacy_generation(t, phase, sb._url(request, t, phase)[0])

        return await sb._poll(request, task, None, answer)

    async def remix(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        source = sb.store.get(request.path_params["task_id"])
        sb._mark(request, "submit", "sora")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return wire.envelope(400, "request body must be JSON {\"prompt\": ...}")
        prompt = body.get("prompt") if isinstance(body, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            return wire.envelope(400, "prompt is required")
        if source is None or source.family != "sora":
            return wire.task_not_exist()
        if sb._phase(source).state != "succeeded":
            return wire.envelope(400, f"video {source.id} is not completed; only completed videos can be remixed",
                                 type_="invalid_request_error")
        params = {**source.params, "prompt": prompt, "remixed_from": source.id}
        new_id = wire.sora_video_id() if sb.config.sora_id_style == "video" else wire.task_id()
        return await sb._submit(
            request, "sora", lambda: sb._new_task(new_id, "sora", source.model, "remix", params),
            lambda task: dialects.video_object(task, sb._phase(task), sb.config.shapes["sora"], None, None))

    async def content(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        task_id = request.path_params["task_id"]
        task = sb.store.get(task_id)
        sb._mark(request, "content", task.family if task else None, task_id)
        if task is None or task.family not in ("veo", "sora"):
            return wire.envelope(404, f"Video with id {task_id} not found", type_="invalid_request_error")
        variant = request.query_params.get("variant", "video")
        if variant != "video":
            return wire.envelope(400, f"variant: {variant!r} not supported; allowed: video",
                                 type_="invalid_request_error")
        if sb._phase(task).state != "succeeded":
            return wire.envelope(400, f"Video {task_id} is not ready: content is available once status is completed",
                                 type_="invalid_request_error")
        return await sb._serve_clip(request, task, "content")

    return [Route("/v1/videos", create, methods=["POST"]),
            Route("/v1/videos/{task_id}", poll, methods=["GET"]),
            Route("/v1/videos/{task_id}/content", content, methods=["GET"]),
            Route("/v1/videos/{task_id}/remix", remix, methods=["POST"]),
            Route("/v1/video/generations/{task_id}", legacy_poll, methods=["GET"])]
