"""Veo and Sora on `/v1/videos`: every documented generation of the OpenAI-style video object.

Accepted: Gen-A (`size` 16x9, queued/in_progress), Gen-B (`completed` + optional `video_url`, else
`metadata.url`, else the caller falls back to `/content`), the tutorial's `succeeded` + `output[0]`,
the legacy new-api wrapper `{"code":"success","data":{...}}`, Sora's `error` object and
`expires_at`, and new-api's tolerant status vocabulary (see providers/taxonomy.py).
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
    return parse_video_object(status_code, headers, data, submit=submit)


def parse_video_object(status_code: int, headers: Mapping[str, str], data: dict[str, Any], *,
                       submit: bool) -> TaskStatus:
    """An already-decoded video object (also used by Kling when CometAPI answers in this dialect)."""
    inner = data
    if is_success_wrapper(data):
        inner = data["data"]
    else:
        err = body_error(status_code, headers, data)
        if err is not None:
            raise err
    tid, state = require_task(status_code, task_id(inner.get("id")) or task_id(inner.get("task_id")),
                              taxonomy.task_state(inner.get("status")), submit=submit)

    meta = obj(inner.get("metadata"))
    result = obj(inner.get("result"))
    url = (
        text(inner.get("video_url"), 4096)
        or first_url(inner.get("output"))
        or text(inner.get("url"), 4096)
        or text(meta.get("url"), 4096)
        or first_url(meta.get("urls"))
        or text(result.get("video_url"), 4096)
        or text(result.get("url"), 4096)
    )

    raw_error = inner.get("error")
    message: str | None = None
    code: str | None = None
    if isinstance(raw_error, dict):
        message = text(raw_error.get("message"))
        code = text(raw_error.get("code"), 80)
    else:
        message = text(raw_error)
    if state is TaskState.FAILED:
        message = message or text(inner.get("fail_reason"))

    pct = progress(inner.get("progress"))
    if state is TaskState.SUCCEEDED:
        pct = 100
    return TaskStatus(
        task_id=tid,
        state=state,
        progress=pct,
        video_url=url if state is TaskState.SUCCEEDED else None,
        created_at=timestamp(inner.get("created_at")),
        finished_at=timestamp(inner.get("completed_at")) or timestamp(inner.get("finish_time")),
        expires_at=timestamp(inner.get("expires_at")),
        raw=data,
        **failure_fields(state is TaskState.FAILED, message, code),
    )


parse_submit, parse_poll = entry_points(_parse)


def build_request(parts: WireParts) -> WireRequest:
    """A multipart form: the model, the prompt, the length when the route takes one, the frame, the image files."""
    s = parts.spec
    form = {"model": s.wire_model, "prompt": parts.prompt}
    if s.durations.wire_field:
        form[s.durations.wire_field] = str(parts.duration)
    if parts.wire_size:
        form["size"] = parts.wire_size
    return WireRequest("POST", parts.route_submit, form=form, files=parts.files, headers=s.header_dict())


def result_urls(status: TaskStatus, content_url: str | None) -> list[str]:
    """video_url, then metadata.url, then the task's /content route (Gen-B answers may carry any of them)."""
    urls = [status.video_url] if status.video_url else []
    meta = status.raw.get("metadata") if isinstance(status.raw, dict) else None
    meta_url = meta.get("url") if isinstance(meta, dict) else None
    if isinstance(meta_url, str) and meta_url.strip():
        urls.append(meta_url.strip())
    if content_url:
        urls.append(content_url)
    return urls
