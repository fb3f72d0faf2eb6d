"""Response bodies of each family in each documented shape, built from a task and where it stands."""

from __future__ import annotations

from typing import Any

from .lifecycle import Phase
from .store import Task
from .validate import VEO_RESOLVED
from .wire import iso_utc


def _video_status(phase: Phase, gen_a: bool) -> str:
    if phase.state == "succeeded":
        return "succeeded" if gen_a else "completed"
    return {"queued": "queued", "running": "in_progress", "failed": "failed", "cancelled": "cancelled"}[phase.state]


def video_object(task: Task, phase: Phase, shape: str, url: str | None, url_expires: int | None) -> dict[str, Any]:
    """OpenAI-video object for Veo and Sora on /v1/videos (submit, poll and remix)."""
    p = task.params
    gen_a = task.family == "veo" and shape == "gen_a"
    body: dict[str, Any] = {
        "id": task.id,
        "task_id": task.id,
        "object": "video",
        "model": VEO_RESOLVED.get(task.model, task.model) if gen_a else task.model,
        "status": _video_status(phase, gen_a),
        "progress": int(phase.progress * 100),
        "created_at": int(task.created_at),
        "seconds": p["seconds"],
        "size": p["size"],
    }
    if not phase.reports_progress:
        del body["progress"]
    if gen_a:
        if phase.state == "succeeded" and url:
            body["output"] = [url]
    else:
        body["completed_at"] = int(phase.finished_at) if phase.finished_at else None
        body["expires_at"] = url_expires if phase.state == "succeeded" else None
        body["error"] = None
    if task.family == "sora":
        body["prompt"] = p["prompt"]
        body["remixed_from_video_id"] = p.get("remixed_from")
    if phase.state == "failed":
        failure = phase.failure or {}
        body["error"] = {"code": failure["code"], "message": failure["message"]} if failure.get("message") else None
    if phase.state == "succeeded" and url and not gen_a:
        if shape == "current":
            body["video_url"] = url
        elif shape == "no_url":
            body["metadata"] = {"url": url}
    return body


def kling_submit(task: Task) -> dict[str, Any]:
    ms = int(task.created_at * 1000)
    return {"code": 0, "message": "success", "request_id": _kling_request_id(task),
            "data": {"task_id": task.id, "task_status": "submitted", "task_info": _kling_info(task),
                     "created_at": ms, "updated_at": ms}}


def kling_poll(task: Task, phase: Phase, url: str | None) -> dict[str, Any]:
    status = {"queued": "submitted", "running": "processing", "succeeded": "succeed", "failed": "failed"}[phase.state]
    changed = phase.finished_at or phase.started_at or task.created_at
    data: dict[str, Any] = {
        "task_id": task.id, "task_status": status, "task_info": _kling_info(task),
        "created_at": int(task.created_at * 1000), "updated_at": int(changed * 1000), "task_result": {},
    }
    if phase.state == "failed":
        data["task_status_msg"] = (phase.failure or {}).get("message") or ""
    if phase.state == "succeeded":
        data["task_status_msg"] = ""
        seconds = task.params["render_seconds"]
        data["task_result"] = {"videos": [{"id": f"{task.id[:-3]}v01", "url": url or "", "duration": f"{seconds}.1"}]}
    return {"code": 0, "message": "SUCCEED", "request_id": _kling_request_id(task), "data": data}


def _kling_info(task: Task) -> dict[str, Any]:
    ext = task.params.get("external_task_id")
    return {"external_task_id": ext} if ext else {}


def _kling_request_id(task: Task) -> str:
    return f"{task.id[-8:]}-0000-4000-8000-{task.polls:012d}"


# Runway's own vocabulary; a queued task is PENDING, or THROTTLED while it waits for an account slot.
_RUNWAY_INNER = {"running": "RUNNING", "succeeded": "SUCCEEDED", "failed": "FAILED", "cancelled": "CANCELLED"}
# new-api's TaskDto vocabulary has no cancelled status: it folds an upstream cancellation into FAILURE.
_RUNWAY_OUTER = {"queued": "QUEUED", "running": "IN_PROGRESS", "succeeded": "SUCCESS", "failed": "FAILURE",
                 "cancelled": "FAILURE"}


def runway_bare(task: Task, phase: Phase, url: str | None, queue_status: str = "PENDING") -> dict[str, Any]:
    status = queue_status if phase.state == "queued" else _RUNWAY_INNER[phase.state]
    body: dict[str, Any] = {"id": task.id, "status": status, "createdAt": iso_utc(task.created_at)}
    if phase.state == "running" and phase.reports_progress:
        body["progress"] = round(phase.progress, 3)
    if phase.state == "succeeded":
        body["output"] = [url] if url else []
    if phase.state == "failed":
        failure = phase.failure or {}
        if failure.get("message"):
            body["failure"] = failure["message"]
        body["failureCode"] = "SAFETY.INPUT.TEXT"
    return body


def runway_wrapped(task: Task, phase: Phase, url: str | None, queue_status: str = "PENDING") -> dict[str, Any]:
    outer = _RUNWAY_OUTER[phase.state]
    if phase.state == "queued" and task.polls <= 1:
        outer = "SUBMITTED"
    failure = (phase.failure or {}).get("message") or ""
    data: dict[str, Any] = {
        "task_id": task.id, "action": "IMAGE_TO_VIDEO", "status": outer,
        "fail_reason": failure if phase.state == "failed" else "",
        "submit_time": int(task.created_at),
        "start_time": int(phase.started_at) if phase.started_at else 0,
        "finish_time": int(phase.finished_at) if phase.finished_at else 0,
        "progress": f"{int(phase.progress * 100)}%",
        "data": runway_bare(task, phase, url, queue_status),
    }
    if not phase.reports_progress:
        del data["progress"]
    if phase.state == "succeeded" and url:
        data["result_url"] = url
    return {"code": "success", "message": "", "data": data}


def legacy_generation(task: Task, phase: Phase, url: str | None) -> dict[str, Any]:
    """new-api's other fetch format (GET /v1/video/generations/{id}), where the tutorial's shape comes from."""
    # new-api's own vocabulary: a cancelled upstream task is reported failed (its sora table maps cancelled there).
    status = {"queued": "queued", "running": "processing", "succeeded": "succeeded", "failed": "failed",
              "cancelled": "failed"}[phase.state]
    done = phase.state == "succeeded" and url
    failure = (phase.failure or {}).get("message")
    return {"code": "success", "data": {
        "task_id": task.id, "status": status, "url": url if done else "", "output": [url] if done else [],
        "metadata": {"urls": [url] if done else []}, "format": "mp4",
        "error": {"message": failure, "code": "content_policy_violation"} if phase.state == "failed" else None,
    }}
