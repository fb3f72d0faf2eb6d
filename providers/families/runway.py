"""Runway under `/runwayml/v1`: the `{"id"}` submit, and both documented poll shapes.

Wrapped (new-api TaskDto, live-validated 2026-03-13): outer NOT_START/SUBMITTED/QUEUED/IN_PROGRESS/
SUCCESS/FAILURE, progress "NN%", Runway's raw task in `data.data`, the result URL in `output[]`,
`result_url`, or (legacy new-api) `fail_reason` on success. Bare (newer page): PENDING/THROTTLED/
RUNNING/SUCCEEDED/FAILED/CANCELLED, progress 0-1, `output[0]`, `failure`/`failureCode`.
`task_not_exist` (HTTP 400) raises TaskNotFoundYet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers import taxonomy
from providers.families._common import (
    body_error,
    entry_points,
    failure_fields,
    first_url,
    is_success_wrapper,
    json_object,
    obj,
    progress,
    require_task,
    task_id,
    text,
    timestamp,
)
from providers.families.wire import WireParts
from providers.status import TaskState, TaskStatus
from providers.submission import WireRequest


def _parse(status_code: int, headers: Mapping[str, str], body: bytes, *, submit: bool) -> TaskStatus:
    data = json_object(status_code, headers, body)
    if is_success_wrapper(data) or _is_compat_envelope(data):
        return _wrapped(status_code, data, data["data"], submit=submit)
    err = body_error(status_code, headers, data)
    if err is not None:
        raise err
    return _bare(status_code, data, data, submit=submit)


def _is_compat_envelope(data: dict[str, Any]) -> bool:
    """The "compatibility format" (`/runway/pro/generate`, `/runway/feed`): `{"code":200,"msg":...,"data":{...}}`."""
    code = data.get("code")
    return code in (200, "200") and not isinstance(code, bool) and isinstance(data.get("data"), dict)


def _url_like(value: Any) -> str | None:
    s = text(value, 4096)
    return s if s and s.lower().startswith(("https://", "http://")) else None


def _wrapped(status_code: int, data: dict[str, Any], dto: dict[str, Any], *, submit: bool) -> TaskStatus:
    raw_task = obj(dto.get("data"))
    inner_state = taxonomy.task_state(raw_task.get("status"))
    state = taxonomy.task_state(dto.get("status")) or inner_state
    if state is TaskState.FAILED and inner_state is TaskState.CANCELED:
        # new-api's wrapper has no cancelled status and reports FAILURE around Runway's own CANCELLED.
        state = TaskState.CANCELED
    tid, state = require_task(
        status_code, task_id(dto.get("task_id")) or task_id(raw_task.get("id")) or task_id(dto.get("id")), state,
        submit=submit)
    pct = progress(dto.get("progress"))
    if pct is None:
        pct = progress(raw_task.get("progress"), fraction=True)

    url = None
    message = code = None
    if state is TaskState.SUCCEEDED:
        pct = 100
        url = (first_url(raw_task.get("output")) or _url_like(dto.get("result_url"))
               or _url_like(dto.get("video_url")) or _url_like(dto.get("fail_reason")))
    elif state is TaskState.FAILED:
        message = text(raw_task.get("failure")) or text(dto.get("fail_reason"))
        code = text(raw_task.get("failureCode"), 120)
    finish = timestamp(dto.get("finish_time"))
    return TaskStatus(
        task_id=tid,
        state=state,
        progress=pct,
        video_url=url,
        created_at=timestamp(dto.get("submit_time")) or timestamp(raw_task.get("createdAt")),
        finished_at=finish if state.terminal else None,
        raw=data,
        **failure_fields(state is TaskState.FAILED, message, code),
    )


def _bare(status_code: int, data: dict[str, Any], task: dict[str, Any], *, submit: bool) -> TaskStatus:
    tid, state = require_task(status_code, task_id(task.get("id")) or task_id(task.get("task_id")),
                              taxonomy.task_state(task.get("status")), submit=submit)
    pct = 100 if state is TaskState.SUCCEEDED else progress(task.get("progress"), fraction=True)
    message = code = None
    if state is TaskState.FAILED:
        message = text(task.get("failure"))
        code = text(task.get("failureCode"), 120)
    return TaskStatus(
        task_id=tid,
        state=state,
        progress=pct,
        video_url=first_url(task.get("output")) if state is TaskState.SUCCEEDED else None,
        created_at=timestamp(task.get("createdAt")),
        raw=data,
        **failure_fields(state is TaskState.FAILED, message, code),
    )


parse_submit, parse_poll = entry_points(_parse)


def build_request(parts: WireParts) -> WireRequest:
    """A JSON body around the first frame (image-to-video only)."""
    s = parts.spec
    body: dict[str, Any] = {"model": s.wire_model, "promptImage": parts.images.get("first_frame"),
                            "promptText": parts.prompt, "ratio": parts.wire_size, "duration": int(parts.duration)}
    body.update({k: v for k, v in parts.extras.items() if k in ("seed", "watermark")})
    return WireRequest("POST", parts.route_submit, json=body, headers=s.header_dict())


def result_urls(status: TaskStatus, content_url: str | None) -> list[str]:
    return [status.video_url] if status.video_url else []
