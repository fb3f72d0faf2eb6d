"""Small clients for the sandbox tests: submit per family, poll, and compare JSON shapes with wire fixtures."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
KEY = {"Authorization": "Bearer sk-sandbox"}
RUNWAY_HEADERS = {**KEY, "X-Runway-Version": "2024-11-06"}


def fixture(name: str) -> Any:
    return json.loads((WIRE / name).read_text())


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_conforms(sample: Any, actual: Any, path: str = "$") -> None:
    """Every key of the documented sample is present in `actual` with the same JSON type, recursively."""
    assert json_type(actual) == json_type(sample), f"{path}: expected {json_type(sample)}, got {actual!r}"
    if isinstance(sample, dict):
        missing = set(sample) - set(actual)
        assert not missing, f"{path}: missing keys {sorted(missing)} (got {sorted(actual)})"
        for key, value in sample.items():
            assert_conforms(value, actual[key], f"{path}.{key}")
    elif isinstance(sample, list) and sample:
        assert actual, f"{path}: expected a non-empty list"
        for i, item in enumerate(actual):
            assert_conforms(sample[0], item, f"{path}[{i}]")


def png_bytes(width: int = 640, height: int = 360, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def client(base_url: str, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=KEY, **kwargs)


def submit_video(c: httpx.Client, model: str = "sora-2", prompt: str = "A paper airplane glides across a desk.",
                 files: list[bytes] | None = None, **form: str) -> httpx.Response:
    data = {"model": model, "prompt": prompt, **form}
    upload = [("input_reference", (f"ref{i}.png", b, "image/png")) for i, b in enumerate(files or [])]
    return c.post("/v1/videos", data=data, files=upload or None)


def submit_kling(c: httpx.Client, action: str = "text2video", **body: Any) -> httpx.Response:
    body.setdefault("model_name", "kling-v1-6")
    if action == "text2video":
        body.setdefault("prompt", "A red fox runs through snow")
    return c.post(f"/kling/v1/videos/{action}", json=body)


def submit_runway(c: httpx.Client, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    body.setdefault("model", "gen4_turbo")
    body.setdefault("promptImage", "data:image/png;base64," + base64.b64encode(png_bytes()).decode())
    body.setdefault("promptText", "The camera slowly pushes in")
    body.setdefault("ratio", "1280:720")
    body.setdefault("duration", 5)
    return c.post("/runwayml/v1/image_to_video", json=body,
                  headers=RUNWAY_HEADERS if headers is None else headers)


def poll_path(family: str, task_id: str, action: str = "text2video") -> str:
    return {
        "veo": f"/v1/videos/{task_id}", "sora": f"/v1/videos/{task_id}",
        "kling": f"/kling/v1/videos/{action}/{task_id}", "runway": f"/runwayml/v1/tasks/{task_id}",
    }[family]


def result_url(family: str, body: dict[str, Any]) -> str | None:
    if family in ("veo", "sora"):
        return body.get("video_url") or (body.get("output") or [None])[0] or (body.get("metadata") or {}).get("url")
    if family == "kling":
        videos = body["data"]["task_result"].get("videos") or []
        return videos[0]["url"] if videos else None
    if "code" in body:
        return body["data"].get("result_url")
    return (body.get("output") or [None])[0]
