"""Seedance (ByteDance) on `/v1/videos`: the OpenAI-style video object, but statuses in capitals.

Reference §8 (CDOC `/api/video/seedance/create`, `/query`): the create answer is `SUBMITTED`; a poll reads
`SUBMITTED`, `IN_PROGRESS` (non-terminal), `SUCCESS`, `FAILED`, `ERROR` (terminal), an integer `progress`
and, on `SUCCESS`, a signed, time-limited `video_url`. Errors are HTTP 400 with code `InvalidParameter`,
whose message (e.g. "the specified task_type r2v does not support model seedance-1-5-pro") is shown as is.

A status outside that vocabulary (and the shared table) is held aside as UNKNOWN: polling continues, it is
never taken as a failure. The request is the create page's multipart
form: `size` is an aspect ratio, `resolution` is separate, `seconds` an integer, `input_reference` a file.
"""

from __future__ import annotations

from collections.abc import Mapping

from providers.families import openai_videos
from providers.families._common import entry_points, json_object
from providers.families.wire import WireParts
from providers.status import TaskState, TaskStatus
from providers.submission import WireRequest

STATUSES = {"SUBMITTED": TaskState.QUEUED, "IN_PROGRESS": TaskState.RUNNING, "SUCCESS": TaskState.SUCCEEDED,
            "FAILED": TaskState.FAILED, "ERROR": TaskState.FAILED}


def _parse(status_code: int, headers: Mapping[str, str], body: bytes, *, submit: bool) -> TaskStatus:
    data = json_object(status_code, headers, body)
    # The shared status table (providers/taxonomy.py) already reads every word of STATUSES the same way, and
    # holds a word it does not know as UNKNOWN; the object's other fields are the generic video object's.
    return openai_videos.parse_video_object(status_code, headers, data, submit=submit)


parse_submit, parse_poll = entry_points(_parse)


def build_request(parts: WireParts) -> WireRequest:
    """The create page's form: model, prompt, seconds, size (a ratio), resolution when picked, one image file."""
    s = parts.spec
    form = {"model": s.wire_model, "prompt": parts.prompt, "seconds": str(parts.duration)}
    if parts.wire_size:
        form["size"] = parts.wire_size
    if parts.extras.get("resolution"):
        form["resolution"] = str(parts.extras["resolution"])
    return WireRequest("POST", parts.route_submit, form=form, files=parts.files, headers=s.header_dict())


def result_urls(status: TaskStatus, content_url: str | None) -> list[str]:
    """The signed `video_url` only: the Seedance pages document no `/content` route."""
    return [status.video_url] if status.video_url else []
