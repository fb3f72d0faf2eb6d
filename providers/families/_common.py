"""Defensive readers shared by the family parsers: JSON decoding, error envelopes, progress, timestamps.

Every reader accepts any JSON value and returns a typed value or None, so parsers never raise
KeyError / TypeError / ValueError on a surprising body.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from providers import taxonomy
from providers.errors import DailiesError, MalformedResponse, ProviderError
from providers.http import parse_retry_after
from providers.redact import redact
from providers.status import TaskState, TaskStatus

P = ParamSpec("P")
R = TypeVar("R")

_MAX_MESSAGE = 300


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Last line of defence: a reader bug on a weird body becomes MalformedResponse, never a crash."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DailiesError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError) as exc:
            status = args[0] if args and isinstance(args[0], int) else None
            raise MalformedResponse(f"unexpected response shape (HTTP {status}): {type(exc).__name__}",
                                    status_code=status) from None

    return wrapper


def decode_json(status_code: int, body: bytes) -> Any:
    """The body as JSON, or MalformedResponse naming the raw status code."""
    if not body or not body.strip():
        raise MalformedResponse(f"empty response body (HTTP {status_code})", status_code=status_code)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        snippet = body[:80].decode("utf-8", "replace").strip()
        what = "HTML" if snippet.lower().startswith(("<!doctype", "<html")) else "non-JSON"
        raise MalformedResponse(redact(f"{what} response body (HTTP {status_code}): {snippet!r}"),
                                status_code=status_code) from None


def json_object(status_code: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """A 2xx answer's JSON object; any other status raises the error its envelope describes."""
    if not 200 <= status_code < 300:
        raise envelope_error(status_code, headers, body)
    data = decode_json(status_code, body)
    if not isinstance(data, dict):
        raise MalformedResponse(f"expected a JSON object (HTTP {status_code})", status_code=status_code)
    return data


def require_task(status_code: int, tid: str | None, state: TaskState | None, *,
                 submit: bool) -> tuple[str, TaskState]:
    """Every answer names its task; a poll must also say its state (a submit without one is queued)."""
    if tid is None:
        raise MalformedResponse(f"no task id in the response (HTTP {status_code})", status_code=status_code)
    if state is None:
        if not submit:
            raise MalformedResponse(f"no task status in the response (HTTP {status_code})", status_code=status_code)
        state = TaskState.QUEUED
    return tid, state


def try_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, RecursionError):
        return None


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any, limit: int = _MAX_MESSAGE) -> str | None:
    """A non-empty string (numbers accepted), trimmed to `limit`; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:limit] if value else None


def task_id(value: Any) -> str | None:
    """Ids are opaque: strings as given, integers as digits (Kling ids are long digit strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    return None


def first_url(value: Any) -> str | None:
    """`output[0]` style: first string (or first {"url": ...}) in a list; a bare string is accepted."""
    if isinstance(value, str):
        return text(value, 4096)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str) and item.strip():
                return item.strip()
            if isinstance(item, dict):
                url = text(item.get("url") or item.get("uri"), 4096)
                if url:
                    return url
    return None


def progress(value: Any, *, fraction: bool = False) -> int | None:
    """0-100 int from an int, a float (0-1 when `fraction`), or a "45%" string; clamped; None if absent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        s = value.strip().rstrip("%").strip()
        try:
            number = float(s)
        except ValueError:
            return None
        fraction = fraction and "%" not in value
    elif isinstance(value, int | float):
        number = float(value)
    else:
        return None
    if not math.isfinite(number):
        return None
    if fraction and number <= 1.0:
        number *= 100.0
    return int(round(min(100.0, max(0.0, number))))


def timestamp(value: Any) -> float | None:
    """Unix seconds from seconds, milliseconds (values past year 5138 are taken as ms) or ISO-8601."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        try:
            number = float(s)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    else:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    if number > 1e11:
        number /= 1000.0
    return number if number < 1e11 else None


def envelope_error(status_code: int, headers: Mapping[str, str], body: bytes, *,
                   classify_as: int | None = None) -> ProviderError:
    """The typed error for a non-2xx answer, whatever shape its body has (or none).

    `classify_as` is the HTTP status to classify by when an error arrives inside a 2xx body;
    the exception still carries the raw `status_code`.
    """
    effective = classify_as or status_code
    data = try_json(body)
    code: str | None = None
    message: str | None = None
    kling_code: int | None = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            code = text(err.get("code"), 80)
            message = text(err.get("message"))
        elif isinstance(err, str):
            message = text(err)
        raw_code = data.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            kling_code = raw_code
        elif isinstance(raw_code, str) and raw_code.strip():
            code = code or text(raw_code, 80)
        message = message or text(data.get("message")) or text(data.get("msg"))
    elif body:
        snippet = body[:120].decode("utf-8", "replace").strip()
        if snippet.lower().startswith(("<!doctype", "<html")):
            message = "an HTML page instead of JSON (wrong base URL, proxy or outage page)"
        else:
            message = snippet or None
    retry_after = parse_retry_after(headers)
    if kling_code is not None and kling_code != 0:
        v = taxonomy.verdict_for_kling(kling_code, effective, message)
        code = str(kling_code)
    else:
        v = taxonomy.verdict_for_http(effective, code, message)
    detail = f"HTTP {status_code}" + (f", code {code}" if code else "")
    return taxonomy.error_from(v, f"{message or 'no message'} ({detail})", status_code=status_code,
                               provider_code=code, retry_after_s=retry_after)


def is_success_wrapper(data: dict[str, Any]) -> bool:
    """new-api's `{"code":"success","data":{...}}` wrapper (legacy /v1/videos fetch, Runway TaskDto)."""
    code = data.get("code")
    return isinstance(code, str) and code.strip().lower() == "success" and isinstance(data.get("data"), dict)


def body_error(status_code: int, headers: Mapping[str, str], data: dict[str, Any]) -> ProviderError | None:
    """An error carried inside a 2xx body (new-api task error, OpenAI envelope), or None."""
    err = data.get("error")
    raw_code = data.get("code")
    is_task_error = (isinstance(raw_code, str) and raw_code.strip() and raw_code.strip().lower() != "success"
                     and data.get("data") is None and "id" not in data)
    if (isinstance(err, dict) and (err.get("message") or err.get("type")) and "status" not in data) or is_task_error:
        return envelope_error(status_code, headers, json.dumps(data).encode(),
                              classify_as=status_code if status_code >= 400 else 400)
    return None


def failure_fields(state_failed: bool, message: str | None, code: str | None) -> dict[str, Any]:
    """error_message / error_code / error_kind for a TaskStatus, decided by the taxonomy."""
    if not state_failed:
        return {}
    v = taxonomy.verdict_for_task_failure(message, code)
    return {"error_message": redact(message) if message else None, "error_code": code, "error_kind": v.kind}


Parser = Callable[[int, Mapping[str, str], bytes], TaskStatus]


def entry_points(parse: Callable[..., TaskStatus]) -> tuple[Parser, Parser]:
    """A family's `parse_submit` and `parse_poll`: its one reader, guarded, told which answer it reads."""

    @guarded
    def parse_submit(status_code: int, headers: Mapping[str, str], body: bytes) -> TaskStatus:
        return parse(status_code, headers, body, submit=True)

    @guarded
    def parse_poll(status_code: int, headers: Mapping[str, str], body: bytes) -> TaskStatus:
        return parse(status_code, headers, body, submit=False)

    return parse_submit, parse_poll
