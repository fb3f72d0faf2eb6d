"""Kling Omni and Extend: both documented query shapes, the Omni request, the extend route's unknown 404."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.catalog import load_catalog
from providers.errors import TransientError, ValidationErrors
from providers.families import kling_extend, kling_omni
from providers.mapping import prepare
from providers.recipe import ImageInput, ModelOptions, Recipe
from providers.status import TaskState
from providers.submission import MappingAction

WIRE = Path(__file__).resolve().parents[1] / "fixtures" / "wire"
CATALOG = load_catalog()


def wire(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def png(w: int = 640, h: int = 360) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def test_omni_native_and_wrapped_queries() -> None:
    native = kling_omni.parse_poll(200, {}, wire("kling_omni/query_native_processing.json"))
    assert (native.task_id, native.state) == ("878106242831892999", TaskState.RUNNING)
    done = kling_omni.parse_poll(200, {}, wire("kling_omni/query_wrapped_success_reconstructed.json"))
    assert (done.task_id, done.state, done.video_url) == ("878106242831892999", TaskState.SUCCEEDED, "https://…mp4")
    assert kling_omni.video_id(done.raw) == "878106242831892v01"
    assert kling_omni.video_id(json.loads(wire("kling/success_reconstructed.json"))) == "…"


def test_omni_accepts_success_in_capitals_and_a_wrapped_failure() -> None:
    data = json.loads(wire("kling_omni/query_native_processing.json"))
    data["data"].update(task_status="SUCCESS", task_result={"videos": [{"id": "v", "url": "https://x/y.mp4"}]})
    assert kling_omni.parse_poll(200, {}, json.dumps(data).encode()).state is TaskState.SUCCEEDED
    failed = json.loads(wire("kling_omni/query_wrapped_success_reconstructed.json"))
    failed["data"].update(status="FAILURE", fail_reason="image_list[0]: face detection failed")
    failed["data"]["data"].update(task_status="failed", task_result={})
    got = kling_omni.parse_poll(200, {}, json.dumps(failed).encode())
    assert got.state is TaskState.FAILED and got.error_message == "image_list[0]: face detection failed"


def test_omni_request_text_only_and_first_last_frame() -> None:
    sub = prepare(Recipe(prompt="a lighthouse", duration_s=10, aspect_ratio="1:1"), "kling-video-o1",
                  ModelOptions.of(mode="pro"), CATALOG)
    assert sub.request.path == "/kling/v1/videos/omni-video"
    assert sub.request.json == {"model_name": "kling-video-o1", "prompt": "a lighthouse", "mode": "pro",
                                "duration": "10", "aspect_ratio": "1:1"}
    assert sub.poll_path_template == "/kling/v1/videos/omni-video/{task_id}"
    flf = prepare(Recipe(prompt="a door opens", first_frame=ImageInput(data=png(), name="a.png"),
                         last_frame=ImageInput(url="https://images.example.com/b.png", name="b")),
                  "kling-video-o1", None, CATALOG)
    body = flf.request.json
    assert body is not None and "aspect_ratio" not in body  # the first frame sets the shape
    assert [i["type"] for i in body["image_list"]] == ["first_frame", "end_frame"]
    assert body["image_list"][1]["image_url"] == "https://images.example.com/b.png"
    assert not body["image_list"][0]["image_url"].startswith("data:")  # raw Base64, Kling style
    assert flf.cost.display == "no price"


def test_omni_refuses_an_end_frame_alone_and_other_lengths() -> None:
    with pytest.raises(ValidationErrors) as caught:
        prepare(Recipe(prompt="x", last_frame=ImageInput(data=png(), name="b.png"), duration_s=7), "kling-video-o1",
                None, CATALOG)
    fields = caught.value.by_field()
    assert "first_frame" in fields and "5 or 10" in fields["duration"]


def test_extend_route_404_is_route_unknown_not_a_failure() -> None:
    with pytest.raises(TransientError) as caught:
        kling_extend.parse_poll(404, {}, b"<html><body><h1>404</h1></body></html>")
    assert "route unknown" in caught.value.message
    submitted = kling_extend.parse_submit(200, {}, wire("kling_extend/submit_reconstructed.json"))
    assert (submitted.task_id, submitted.state) == ("878106242831893001", TaskState.QUEUED)
    assert kling_extend.extend_request("v1", "keep going").json == {"video_id": "v1", "prompt": "keep going"}


def test_the_mapping_report_of_omni_says_what_was_dropped() -> None:
    sub = prepare(Recipe(prompt="x", negative_prompt="blur", seed=3), "kling-video-o1", None, CATALOG)
    actions = {line.field: line.action for line in sub.report}
    assert actions["negative_prompt"] is MappingAction.DROPPED and actions["seed"] is MappingAction.DROPPED
