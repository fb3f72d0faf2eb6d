"""Kling Extend on `/kling/v1/videos/video-extend`: continue a finished Kling video by its `video_id`.

Reference §8 (cometapi.mintlify.app `/de/api/video/kling/video-extension`): POST `video_id` (of a finished Kling
video) and `prompt` (≤ 500), optional `callback_url`; the task shows `task_info.parent_video`. It must run on the
same account, before Kling clears the parent (30 days). Answers are Kling's native envelope (or CometAPI's
wrapper, as for Omni).

The poll route is not on the page; by the generic `GET /kling/v1/{action}/{action2}/{task_id}` pattern it is
`/kling/v1/videos/video-extend/{task_id}`, unverified. So a 404 there means "route unknown", not "task failed":
it is a TransientError (the job keeps polling until its deadline, then goes stale with its task id kept).
"""

from __future__ import annotations

from collections.abc import Mapping

from providers.errors import Charged, ErrorKind, TransientError
from providers.families import kling_omni
from providers.families._common import entry_points
from providers.families.wire import WireParts
from providers.status import TaskStatus
from providers.submission import WireRequest

SUBMIT_PATH = "/kling/v1/videos/video-extend"
POLL_TEMPLATE = SUBMIT_PATH + "/{task_id}"
PROMPT_MAX = 500
ROUTE_UNKNOWN = ("the extend status route answered 404: CometAPI does not document it (route unknown), so the "
                 "task is not taken as failed; polling goes on, and the task id is kept")


def _parse(status_code: int, headers: Mapping[str, str], body: bytes, *, submit: bool) -> TaskStatus:
    if status_code == 404 and not submit:
        raise TransientError(ROUTE_UNKNOWN, kind=ErrorKind.NOT_FOUND, status_code=404, charged=Charged.UNKNOWN)
    return (kling_omni.parse_submit if submit else kling_omni.parse_poll)(status_code, headers, body)


parse_submit, parse_poll = entry_points(_parse)


def extend_request(video_id: str, prompt: str) -> WireRequest:
    return WireRequest("POST", SUBMIT_PATH, json={"video_id": video_id, "prompt": prompt})


def build_request(parts: WireParts) -> WireRequest:
    """Extend is not sent from a recipe (jobs/extend.py builds it from a parent take); kept for the interface."""
    return extend_request(str(parts.extras.get("video_id", "")), parts.prompt)


def result_urls(status: TaskStatus, content_url: str | None) -> list[str]:
    return [status.video_url] if status.video_url else []
