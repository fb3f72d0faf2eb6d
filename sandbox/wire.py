"""Ids, request ids and error bodies in the formats CometAPI (new-api) and the upstream providers use."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import string
import uuid

from starlette.responses import Response

_ALNUM = string.ascii_letters + string.digits


def task_id() -> str:
    """new-api GenerateTaskID(): task_ + 32 random alphanumerics."""
    return "task_" + "".join(secrets.choice(_ALNUM) for _ in range(32))


def sora_video_id() -> str:
    return "video_" + secrets.token_hex(16)


def kling_task_id() -> str:
    return str(secrets.choice("123456789")) + "".join(secrets.choice(string.digits) for _ in range(18))


def runway_task_id() -> str:
    return str(uuid.uuid4())


def request_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, headers=headers,
                    media_type="application/json")


def envelope(status: int, message: str, code: str = "", type_: str = "comet_api_error",
             headers: dict[str, str] | None = None) -> Response:
    """CometAPI's generic error envelope; the message carries the request id like new-api's."""
    rid = request_id()
    body = {"error": {"message": f"{message} (request id: {rid})", "type": type_, "param": "", "code": code}}
    return json_response(body, status, {"X-Oneapi-Request-Id": rid, **(headers or {})})


def task_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """new-api's TaskError body used on task routes."""
    return json_response({"code": code, "message": message, "data": None}, status, headers)


def task_not_exist() -> Response:
    return task_error(400, "task_not_exist", "task_not_exist")


def kling_error(status: int, code: int, message: str) -> Response:
    return json_response({"code": code, "message": message, "request_id": str(uuid.uuid4()), "data": None}, status)


def iso_utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
