"""Seedance and Grok Imagine: their documented answers parsed, their requests built, their missing prices said.

Bodies come from tests/fixtures/wire/ (reference §8); later states are derived by changing the named fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from providers import pricing
from providers.catalog import load_catalog
from providers.errors import ErrorKind, MalformedResponse, ProviderError, ValidationErrors
from providers.families import grok, seedance
from providers.mapping import prepare
from providers.recipe import ImageInput, ModelOptions, Recipe
from providers.status import TaskState
from providers.submission import MappingAction

WIRE = Path(__file__).resolve().parents[1] / "fixtures" / "wire"
CATALOG = load_catalog()


def wire(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def changed(name: str, **fields: Any) -> bytes:
    data = json.loads(wire(name))
    data.update(fields)
    return json.dumps(data).encode()


def png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 360), (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


# --- Seedance ------------------------------------------------------------------------------------------------

def test_seedance_capital_statuses_from_submit_to_success() -> None:
    created = seedance.parse_submit(200, {}, wire("seedance/create_reconstructed.json"))
    assert (created.task_id, created.state) == ("task_example", TaskState.QUEUED)
    running = seedance.parse_poll(200, {}, wire("seedance/query_in_progress_reconstructed.json"))
    assert (running.state, running.progress) == (TaskState.RUNNING, 40)
    done = seedance.parse_poll(200, {}, wire("seedance/query_success_reconstructed.json"))
    assert (done.state, done.video_url, done.progress) == (TaskState.SUCCEEDED, "<url>", 100)
    assert seedance.result_urls(done, "/v1/videos/task_example/content") == ["<url>"]


@pytest.mark.parametrize("status", ["FAILED", "ERROR"])
def test_seedance_failed_and_error_are_terminal_failures(status: str) -> None:
    got = seedance.parse_poll(200, {}, changed("seedance/query_in_progress_reconstructed.json", status=status,
                                               error={"code": "InternalError", "message": "render failed"}))
    assert got.state is TaskState.FAILED and got.error_message == "render failed"


def test_seedance_unknown_status_is_held_aside_not_failed() -> None:
    got = seedance.parse_poll(200, {}, changed("seedance/query_in_progress_reconstructed.json", status="RETOUCHING"))
    assert got.state is TaskState.UNKNOWN


def test_seedance_invalid_parameter_shows_its_message() -> None:
    with pytest.raises(ProviderError) as caught:
        seedance.parse_submit(400, {}, wire("seedance/error_invalid_parameter_reconstructed.json"))
    err = caught.value
    assert err.kind is ErrorKind.VALIDATION and err.provider_code == "InvalidParameter"
    assert "the specified task_type r2v does not support model seedance-1-5-pro" in err.message


def test_seedance_request_is_the_create_pages_form() -> None:
    recipe = Recipe(prompt="a koi pond in rain", duration_s=12, aspect_ratio="21:9",
                    first_frame=ImageInput(data=png(), mime="image/png", name="koi.png"))
    sub = prepare(recipe, "doubao-seedance-2-0", ModelOptions.of(resolution="480p"), CATALOG)
    assert sub.request.path == "/v1/videos" and sub.request.json is None
    assert sub.request.form == {"model": "doubao-seedance-2-0", "prompt": "a koi pond in rain", "seconds": "12",
                                "size": "21:9", "resolution": "480p"}
    assert [f.field for f in sub.request.files] == ["input_reference"]
    assert sub.poll_path_template == "/v1/videos/{task_id}" and sub.content_path_template is None
    assert sub.requested_size == (21, 9)  # the ratio is checked on the delivered clip
    assert (sub.cost.display, sub.cost.rule) == ("$0.96", "$0.08/s x 12 s")


def test_seedance_text_only_models_drop_the_frame_and_allow_1080p() -> None:
    recipe = Recipe(prompt="a koi pond", duration_s=4,
                    first_frame=ImageInput(data=png(), mime="image/png", name="koi.png"))
    sub = prepare(recipe, "doubao-seedance-1-5-pro", ModelOptions.of(resolution="1080p"), CATALOG)
    assert sub.request.files == () and sub.request.form["resolution"] == "1080p"
    line = next(x for x in sub.report if x.field == "first_frame")
    assert line.action is MappingAction.DROPPED and "text-to-video only" in line.note


def test_seedance_ranges_and_resolutions_are_per_model() -> None:
    with pytest.raises(ValidationErrors) as caught:
        prepare(Recipe(prompt="x", duration_s=14), "doubao-seedance-1-5-pro", ModelOptions.of(resolution="1080p"),
                CATALOG)
    assert "allows" in caught.value.by_field()["duration"]
    near = prepare(Recipe(prompt="x", duration_s=13), "doubao-seedance-1-5-pro", None, CATALOG)
    assert near.request.form["seconds"] == "12"  # within a second of the range: approximated and reported
    with pytest.raises(ValidationErrors) as caught:
        prepare(Recipe(prompt="x"), "doubao-seedance-2-0-fast", ModelOptions.of(resolution="1080p"), CATALOG)
    assert caught.value.by_field()["resolution"] == "resolution '1080p': Seedance 2.0 Fast allows 480p or 720p"
    short = prepare(Recipe(prompt="x", duration_s=2), "doubao-seedance-1-0-pro", None, CATALOG)
    assert short.request.form["seconds"] == "2" and "resolution" not in short.request.form


def test_no_resolution_picked_sends_none_and_says_so() -> None:
    sub = prepare(Recipe(prompt="x"), "doubao-seedance-2-0", None, CATALOG)
    line = next(x for x in sub.report if x.field == "resolution")
    assert line.action is MappingAction.DEFAULTED and "not sent" in line.note
    assert sub.request.form == {"model": "doubao-seedance-2-0", "prompt": "x", "seconds": "5", "size": "16:9"}


# --- Grok Imagine --------------------------------------------------------------------------------------------

def test_grok_submit_is_a_request_id_and_a_bare_poll_without_status_is_queued() -> None:
    created = grok.parse_submit(200, {}, wire("grok/submit.json"))
    assert (created.task_id, created.state) == ("4b2cd27e-…", TaskState.QUEUED)
    waiting = grok.parse_poll(200, {}, wire("grok/poll_not_ready.json"))
    assert waiting.state is TaskState.QUEUED


def test_grok_bare_done_and_wrapped_success_give_the_video_url() -> None:
    bare = grok.parse_poll(200, {}, wire("grok/poll_bare_done_reconstructed.json"))
    assert (bare.state, bare.video_url) == (TaskState.SUCCEEDED, "https://vidgen.x.ai/…mp4")
    wrapped = grok.parse_poll(200, {}, wire("grok/poll_wrapped_done.json"))
    assert (wrapped.task_id, wrapped.state, wrapped.video_url) == ("4b2cd27e-…", TaskState.SUCCEEDED,
                                                                   "https://vidgen.x.ai/…mp4")
    # The sample's fail_reason holds the video URL on success: not an error.
    assert wrapped.error_message is None and wrapped.finished_at == 1773297014
    assert grok.provider_cost_ticks(wrapped) == 500000000 == grok.provider_cost_ticks(bare)


def test_grok_processing_failed_and_expired() -> None:
    running = grok.parse_poll(200, {}, changed("grok/poll_not_ready.json", status="processing", progress=30))
    assert (running.state, running.progress) == (TaskState.RUNNING, 30)
    failed = grok.parse_poll(200, {}, changed("grok/poll_not_ready.json", status="failed",
                                              error={"code": "moderation", "message": "blocked by moderation"}))
    assert failed.state is TaskState.FAILED and failed.error_message == "blocked by moderation"
    expired = grok.parse_poll(200, {}, changed("grok/poll_not_ready.json", status="expired"))
    assert expired.state is TaskState.FAILED and expired.error_message == grok.EXPIRED_MESSAGE


def test_grok_wrapped_failure_reads_fail_reason_and_a_wrapper_error_raises() -> None:
    data = json.loads(wire("grok/poll_wrapped_done.json"))
    data["data"].update(status="FAILURE", fail_reason="upstream rejected the prompt")
    data["data"]["data"] = {"status": "failed"}
    got = grok.parse_poll(200, {}, json.dumps(data).encode())
    assert got.state is TaskState.FAILED and got.error_message == "upstream rejected the prompt"
    with pytest.raises(ProviderError):
        grok.parse_poll(200, {}, b'{"code":"get_task_failed","message":"task lookup failed","data":null}')
    with pytest.raises(MalformedResponse):
        grok.parse_poll(200, {}, b'{"status":"done"}')  # names no task


def test_grok_request_is_json_with_an_image_url() -> None:
    recipe = Recipe(prompt="a comet over a lake", duration_s=6, aspect_ratio="3:2",
                    first_frame=ImageInput(url="https://images.example.com/lake.png", name="lake"))
    sub = prepare(recipe, "grok-imagine-video-1.5", ModelOptions.of(resolution="1080p"), CATALOG)
    assert sub.request.path == "/grok/v1/videos/generations"
    assert sub.request.json == {"model": "grok-imagine-video-1.5", "prompt": "a comet over a lake", "duration": 6,
                                "aspect_ratio": "3:2", "resolution": "1080p",
                                "image": {"url": "https://images.example.com/lake.png"}}
    assert sub.poll_path_template == "/grok/v1/videos/{task_id}"
    default = prepare(Recipe(prompt="x"), "grok-imagine-video", None, CATALOG)
    assert default.request.json == {"model": "grok-imagine-video", "prompt": "x", "duration": 8, "aspect_ratio": "16:9"}


def test_grok_uploaded_frame_goes_as_a_data_uri() -> None:
    recipe = Recipe(prompt="x", first_frame=ImageInput(data=png(), mime="image/png", name="f.png"))
    body = prepare(recipe, "grok-imagine-video", None, CATALOG).request.json
    assert body is not None and body["image"]["url"].startswith("data:image/png;base64,")


# --- prices --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model_id", ["doubao-seedance-2-0-fast", "doubao-seedance-1-5-pro", "doubao-seedance-1-0-pro",
                                      "grok-imagine-video", "grok-imagine-video-1.5"])
def test_models_without_a_price_say_so_and_are_refused_live(model_id: str) -> None:
    spec = CATALOG.get(model_id)
    est = pricing.estimate(spec, spec.durations.default)
    assert (est.display, est.priced) == ("no price", False)
    refusal = pricing.live_refusal(spec)
    assert refusal is not None and "rate card" in refusal and model_id in refusal


def test_a_rate_card_price_makes_a_model_priced() -> None:
    card = {"grok-imagine-video": {"price": {"kind": "per_second", "usd_per_second": 0.05,
                                             "source": "override in Settings", "as_of": "2026-12-03"}}}
    spec = load_catalog(overrides=card).get("grok-imagine-video")
    assert pricing.live_refusal(spec) is None and pricing.estimate(spec, 8).display == "$0.40"
    assert pricing.live_refusal(CATALOG.get("doubao-seedance-2-0")) is None
