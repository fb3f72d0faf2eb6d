"""Kling Omni (`kling-video-o1`) on `/kling/v1/videos/omni-video`: two documented query shapes, one request.

Reference §8 (CDOC `/api/video/kling/omni-video`, `/omni-query`):
(a) the native Kling envelope (`code: 0`, `data.task_status` submitted / processing / succeed / failed, the
    URL in `data.task_result.videos[0].url`), read by the Kling adapter;
(b) CometAPI's wrapper (live-validated 2026-03-12): `code: "success"`, outer `data.status` SUCCESS / FAILURE
    with `data.progress`, `action: "OMNI_VIDEO"`, Kling's own task nested in `data.data` (`task_status`
    `succeed`, URL in `data.data.task_result.videos[0].url`). `SUCCESS` where `succeed` is expected is
    accepted too.
The request: `model_name`, `prompt` (≤ 2,500), `mode`, `duration`, `aspect_ratio` only without a first
frame, and `image_list` entries `{image_url, type}` with `type` first_frame / end_frame (the child field
name is Kling's own: CometAPI's page folds it away).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers import taxonomy
from providers.families import kling
from providers.families._common import (
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
    if is_success_wrapper(data):
        return wrapped(status_code, data, data["data"], submit=submit)
    return kling.parse_submit(status_code, headers, body) if submit else kling.parse_poll(status_code, headers, body)


def wrapped(status_code: int, data: dict[str, Any], dto: dict[str, Any], *, submit: bool) -> TaskStatus:
    """CometAPI's wrapper around a Kling task (also used by the extend adapter)."""
    inner = obj(dto.get("data"))
    outer_state, inner_state = taxonomy.task_state(dto.get("status")), taxonomy.task_state(inner.get("task_status"))
    states = [s for s in (outer_state, inner_state) if s is not None]
    state = TaskState.FAILED if TaskState.FAILED in states else (inner_state or outer_state)
    tid, state = require_task(status_code, task_id(dto.get("task_id")) or task_id(inner.get("task_id")), state,
                              submit=submit)
    url = first_url(obj(inner.get("task_result")).get("videos")) if state is TaskState.SUCCEEDED else None
    message = None
    if state is TaskState.FAILED:
        reason = text(dto.get("fail_reason"))
        message = text(inner.get("task_status_msg")) or (
            None if reason and reason.lower().startswith(("http://", "https://")) else reason)
    finished = timestamp(dto.get("finish_time")) or timestamp(inner.get("updated_at"))
    return TaskStatus(
        task_id=tid, state=state, progress=100 if state is TaskState.SUCCEEDED else progress(dto.get("progress")),
        video_url=url, created_at=timestamp(dto.get("submit_time")) or timestamp(inner.get("created_at")),
        finished_at=finished if state.terminal else None, raw=data,
        **failure_fields(state is TaskState.FAILED, message, None),
    )


parse_submit, parse_poll = entry_points(_parse)


def build_request(parts: WireParts) -> WireRequest:
    s = parts.spec
    body: dict[str, Any] = {"model_name": s.wire_model, "prompt": parts.prompt, "mode": parts.mode,
                            "duration": str(parts.duration)}
    images = [{"image_url": parts.images[field], "type": kind}
              for field, kind in (("first_frame", "first_frame"), ("last_frame", "end_frame"))
              if field in parts.images]
    if images:
        body["image_list"] = images
    if "first_frame" not in parts.images and parts.wire_size:
        body["aspect_ratio"] = parts.wire_size  # required only without a first frame
    return WireRequest("POST", parts.route_submit, json=body, headers=s.header_dict())


def result_urls(status: TaskStatus, content_url: str | None) -> list[str]:
    return [status.video_url] if status.video_url else []


def video_id(raw: Any) -> str | None:
    """The Kling video id of a finished task (what extend sends), from either shape's stored answer."""
    data = obj(raw)
    for holder in (obj(data.get("data")), obj(obj(data.get("data")).get("data"))):
        videos = obj(holder.get("task_result")).get("videos")
        if isinstance(videos, list) and videos and isinstance(videos[0], dict):
            found = task_id(videos[0].get("id"))
            if found:
                return found
    return None
