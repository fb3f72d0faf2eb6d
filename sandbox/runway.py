"""Runway image to video under `/runwayml/v1`, as the reference (§8) describes it.

`POST /runwayml/v1/image_to_video` (JSON: `model`, `promptImage`, `promptText`, `ratio`, `duration`, `seed`,
`watermark`, and the `X-Runway-Version` header; checked in sandbox/validate.py) answers `{"id"}` only.
`GET /runwayml/v1/tasks/{id}` answers in shape `shapes["runway"]`: `wrapped` (new-api's TaskDto around Runway's
object) or `bare` (Runway's own); a queued task shows `runway_queue_status` (PENDING or THROTTLED).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import dialects, wire
from .lifecycle import Phase
from .store import Task
from .validate import Invalid, runway_request

if TYPE_CHECKING:
    from .app import Sandbox

FAMILY = "runway"


def routes(sb: Sandbox) -> list[Route]:
    async def create(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        try:
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise Invalid("request body must be valid JSON") from exc
            params = await run_in_threadpool(
                runway_request, body, request.headers.get("x-runway-version"), sb.inputs_dir)
        except Invalid as exc:
            sb._mark(request, "submit", FAMILY)
            return wire.envelope(400, str(exc))
        return await sb._submit(
            request, FAMILY,
            lambda: sb._new_task(wire.runway_task_id(), FAMILY, params["model"], "image_to_video", params),
            lambda task: {"id": task.id})

    async def poll(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        task = sb.store.get(request.path_params["task_id"])
        if task is not None and task.family != FAMILY:
            task = None

        def answer(t: Task, phase: Phase) -> dict[str, Any]:
            url = sb._url(request, t, phase)[0]
            render = dialects.runway_wrapped if sb.config.shapes[FAMILY] == "wrapped" else dialects.runway_bare
            return render(t, phase, url, sb.config.runway_queue_status)

        return await sb._poll(request, task, FAMILY, answer)

    return [Route("/runwayml/v1/image_to_video", create, methods=["POST"]),
            Route("/runwayml/v1/tasks/{task_id}", poll, methods=["GET"])]
