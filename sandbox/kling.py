"""Kling text and image to video under `/kling/v1/videos/{text2video|image2video}`, as the reference (§8)
describes it.

`POST` (JSON: `model_name`, `prompt`, `negative_prompt`, `cfg_scale`, `mode`, `duration`, `aspect_ratio` or
`image` / `image_tail` and masks, `camera_control`, `external_task_id`, `callback_url`; checked in
sandbox/validate.py) answers Kling's envelope `{code: 0, data: {task_id, task_status}}`; a `callback_url` gets
the task's status object when it ends. `GET .../{action}/{task_id}` takes Kling's task id
or the client's `external_task_id` (documented: "can be used to query") and answers only under the action the
task was made with. Omni and Extend live in sandbox/kling_omni.py; their routes go before these.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import dialects, wire
from .lifecycle import Phase
from .store import Task
from .validate import Invalid, kling_request

if TYPE_CHECKING:
    from .app import Sandbox

FAMILY = "kling"
ACTIONS = ("text2video", "image2video")


def routes(sb: Sandbox) -> list[Route]:
    async def create(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        action = request.path_params["action"]
        if action not in ACTIONS:
            raise HTTPException(404)
        try:
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise Invalid("request body must be valid JSON") from exc
            params = await run_in_threadpool(kling_request, body, action, sb.inputs_dir)
        except Invalid as exc:
            sb._mark(request, "submit", FAMILY)
            return wire.envelope(400, str(exc))
        return await sb._submit(
            request, FAMILY, lambda: sb._arm_callback(
                request, sb._new_task(wire.kling_task_id(), FAMILY, params["model"], action, params),
                lambda t, phase, url: dialects.kling_poll(t, phase, url)["data"]),
            dialects.kling_submit)

    async def poll(request: Request) -> Response:
        if (refused := sb._authorized(request)) is not None:
            return refused
        wanted = request.path_params["task_id"]
        task = sb.store.get(wanted) or sb.store.by_external_id(FAMILY, wanted)
        if task is not None and (task.family != FAMILY or task.action != request.path_params["action"]):
            task = None

        def answer(t: Task, phase: Phase) -> dict[str, Any]:
            return dialects.kling_poll(t, phase, sb._url(request, t, phase)[0])

        return await sb._poll(request, task, FAMILY, answer)

    return [Route("/kling/v1/videos/{action}", create, methods=["POST"]),
            Route("/kling/v1/videos/{action}/{task_id}", poll, methods=["GET"])]
