"""xAI Grok Imagine video under `/grok/v1`: a `request_id`-only submit and two documented poll shapes.

Reference §8 (CDOC `/api/video/xai/video-generation`, `/get-video-generation-results`):
- submit answers `{"request_id": ...}` and nothing else;
- bare poll (xAI's own): `{"request_id"}` alone while not ready, then `status` queued / processing / done /
  failed / expired, optional integer `progress`, `video{url,duration}`, `usage`, `error`;
- wrapped poll (CometAPI's envelope): `code:"success"`, CometAPI's task state in `data.status`
  (SUCCESS, FAILURE, ...), the provider's in `data.data.status`, the file at `data.data.video.url`.
  On success `fail_reason` holds the video URL: it is never read as an error there.
`usage.cost_in_usd_ticks` is the provider's own cost report; it stays in `raw` for display beside the
estimate and is never booked as the cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from providers import taxonomy
from providers.families._common import (
    body_error,
    entry_points,
    failure_fields,
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

EXPIRED_MESSAGE = "the request expired at xAI before a video was made"


def _state(value: Any) -> TaskState | None:
    if isinstance(value, str) and value.strip().lower() == "expired":
        return TaskState.FAILED  # xAI's terminal "expired": no video will come
    return taxonomy.task_state(value)


def _error_text(value: Any) -> str | None:
    if isinstance(value, dict):
        return text(value.get("message")) or text(value.get("code"))
    return text(value)


def _parse(status_code: int, headers: Mapping[str, str], body: bytes, *, submit: bool) -> TaskStatus:
    data = json_object(status_code, headers, body)
    if is_success_wrapper(data):
        return _wrapped(status_code, data, data["data"], submit=submit)
    err = body_error(status_code, headers, data)
    if err is not None:
        raise err
    return _bare(status_code, data, submit=submit)


def _bare(status_code: int, data: dict[str, Any], *, submit: bool) -> TaskStatus:
    tid = task_id(data.get("request_id")) or task_id(data.get("id"))
    state = _state(data.get("status"))
    if tid is not None and state is None and "status" not in data:
        state = TaskState.QUEUED  # "wait a few seconds and poll again; once `status` appears, use it"
    tid, state = require_task(status_code, tid, state, submit=submit)
    return _status(tid, state, data, inner=data, pct=progress(data.get("progress")),
                   message=_failure_message(data.get("status"), data.get("error")))


def _wrapped(status_code: int, data: dict[str, Any], dto: dict[str, Any], *, submit: bool) -> TaskStatus:
    inner = obj(dto.get("data"))
    outer_state, inner_state = _state(dto.get("status")), _state(inner.get("status"))
    states = [s for s in (outer_state, inner_state) if s is not None]
    # Either side reporting a failure ends the task; else the provider's own word wins over the wrapper's.
    state = TaskState.FAILED if TaskState.FAILED in states else (inner_state or outer_state)
    tid, state = require_task(status_code, task_id(dto.get("task_id")) or task_id(inner.get("request_id")), state,
                              submit=submit)
    message = None
    if state is TaskState.FAILED:
        message = (_failure_message(inner.get("status"), inner.get("error"))
                   or _not_a_url(dto.get("fail_reason")))
    pct = progress(dto.get("progress"))
    if pct is None:
        pct = progress(inner.get("progress"))
    finished = timestamp(dto.get("finish_time"))
    status = _status(tid, state, data, inner=inner, pct=pct, message=message)
    return dataclasses.replace(status, created_at=timestamp(dto.get("submit_time")),
                               finished_at=finished if state.terminal else None)


def _failure_message(status: Any, error: Any) -> str | None:
    found = _error_text(error)
    if found is None and isinstance(status, str) and status.strip().lower() == "expired":
        return EXPIRED_MESSAGE
    return found


def _not_a_url(value: Any) -> str | None:
    found = text(value)
    return None if found is None or found.lower().startswith(("https://", "http://")) else found


def _status(tid: str, state: TaskState, raw: dict[str, Any], *, inner: dict[str, Any], pct: int | None,
            message: str | None) -> TaskStatus:
    url = text(obj(inner.get("video")).get("url"), 4096) if state is TaskState.SUCCEEDED else None
    failed = state is TaskState.FAILED
    return TaskStatus(task_id=tid, state=state, progress=100 if state is TaskState.SUCCEEDED else pct,
                      video_url=url, raw=raw,
                      **failure_fields(failed, message or ("xAI reported a failure" if failed else None), None))


parse_submit, parse_poll = entry_points(_parse)


def build_request(parts: WireParts) -> WireRequest:
    """JSON: prompt, model, duration (integer seconds), aspect_ratio, resolution when picked, image {url}."""
    s = parts.spec
    body: dict[str, Any] = {"model": s.wire_model, "prompt": parts.prompt, "duration": int(parts.duration)}
    if parts.wire_size:
        body["aspect_ratio"] = parts.wire_size
    if parts.extras.get("resolution"):
        body["resolution"] = str(parts.extras["resolution"])
    if "first_frame" in parts.images:
        body["image"] = {"url": parts.images["first_frame"]}
    return WireRequest("POST", parts.route_submit, json=body, headers=s.header_dict())


def result_urls(status: TaskStatus, content_url: str | None) -> list[str]:
    """xAI's temporary video URL (download at once); there is no content route."""
    return [status.video_url] if status.video_url else []


def provider_cost_ticks(status: TaskStatus) -> int | None:
    """`usage.cost_in_usd_ticks` where the answer carries it (unit not stated on the page): shown, never booked."""
    return cost_ticks(status.raw)


def cost_ticks(raw: Any) -> int | None:
    """The same, from a stored answer (either shape)."""
    raw = obj(raw)
    for usage in (obj(raw.get("usage")), obj(obj(obj(raw.get("data")).get("data")).get("usage"))):
        ticks = usage.get("cost_in_usd_ticks")
        if isinstance(ticks, int) and not isinstance(ticks, bool) and ticks >= 0:
            return ticks
    return None
