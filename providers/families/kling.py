"""Kling's native envelope under `/kling/v1`: `code`/`message`/`data`, `succeed`, millisecond timestamps.

`code != 0` is an error whose Kling code decides the kind (auth, billing, validation, content policy,
rate limit, outage: providers/taxonomy.py). If CometAPI ever answers with the vanilla new-api
OpenAI-video object instead of the envelope, that shape is accepted too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers import taxonomy
from providers.errors import MalformedResponse
from providers.families import openai_videos
from providers.families._common import (
    body_error,
    entry_points,
    envelope_error,
    failure_fields,
    first_url,
    json_object,
    obj,
    require_task,
    task_id,
    text,
    timestamp,
)
from providers.families.wire import WireParts
from providers.status import TaskState, TaskStatus
from providers.submission import WireRequest


def _kling_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) < 12:
        return int(value.strip())
    return None


def _parse(status_code: int, headers: Mapping[str, str], body: bytes, *, submit: bool) -> TaskStatus:
    data = json_object(status_code, headers, body)
    code = _kling_code(data.get("code"))
    if code is None:
        if "code" not in data and ("object" in data or "id" in data):
            return openai_videos.parse_video_object(status_code, headers, data, submit=submit)
        err = body_error(status_code, headers, data)
        if err is not None:
            raise err
        raise MalformedResponse(f"no Kling `code` in the response (HTTP {status_code})", status_code=status_code)
    if code != 0:
        raise envelope_error(status_code, headers, body, classify_as=status_code if status_code >= 400 else 400)

    inner = data.get("data")
    if not isinstance(inner, dict):
        raise MalformedResponse(f"Kling response without `data` (HTTP {status_code})", status_code=status_code)
    tid, state = require_task(status_code, task_id(inner.get("task_id")),
                              taxonomy.task_state(inner.get("task_status")), submit=submit)

    videos = obj(inner.get("task_result")).get("videos")
    url = first_url(videos)
    message = text(inner.get("task_status_msg"))
    updated = timestamp(inner.get("updated_at"))
    return TaskStatus(
        task_id=tid,
        state=state,
        progress=100 if state is TaskState.SUCCEEDED else None,
        video_url=url if state is TaskState.SUCCEEDED else None,
        created_at=timestamp(inner.get("created_at")),
        finished_at=updated if state.terminal else None,
        raw=data,
        **failure_fields(state is TaskState.FAILED, message, None),
    )


parse_submit, parse_poll = entry_points(_parse)


def build_request(parts: WireParts) -> WireRequest:
    """A JSON body; image-to-video sends no aspect ratio, and our job id goes along in the catalog's
    `request_id_field` (`external_task_id`)."""
    s = parts.spec
    body: dict[str, Any] = {"model_name": s.wire_model, "prompt": parts.prompt}
    if parts.negative_prompt:
        body["negative_prompt"] = parts.negative_prompt
    body.update({k: v for k, v in parts.extras.items() if k in ("cfg_scale", "camera_control")})
    body["mode"] = parts.mode
    if parts.kind == "t2v":
        body["aspect_ratio"] = parts.wire_size
    body["duration"] = str(parts.duration)
    if "first_frame" in parts.images:
        body["image"] = parts.images["first_frame"]
    if "last_frame" in parts.images:
        body["image_tail"] = parts.images["last_frame"]
    if parts.request_id and parts.request_id_field:
        body[parts.request_id_field] = parts.request_id
    return WireRequest("POST", parts.route_submit, json=body, headers=s.header_dict())


def result_urls(status: TaskStatus, content_url: str | None) -> list[str]:
    return [status.video_url] if status.video_url else []
