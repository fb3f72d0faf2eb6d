"""Recipe -> request: the validation table, and what the mapping report tells the user for each family."""

from __future__ import annotations

import base64
import io
import os

import pytest
from PIL import Image

from providers.catalog import load_catalog
from providers.errors import DailiesError, ErrorKind, ValidationErrors
from providers.images import inspect_image
from providers.mapping import prepare, validate
from providers.recipe import ImageInput, ModelOptions, Recipe
from providers.submission import MappingAction as A, Submission

RECIPE_FIELDS = ("prompt", "negative_prompt", "first_frame", "last_frame", "duration", "aspect_ratio", "seed")


def encode(w: int, h: int, fmt: str = "PNG", color=(30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, format=fmt)
    return out.getvalue()


def noise_png(w: int, h: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(out, format="PNG", compress_level=0)
    return out.getvalue()


PNG = encode(640, 360)
PNG_END = encode(640, 360, color=(250, 200, 10))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(overrides={"sora-2": {"available": True}, "sora-2-pro": {"available": True}})


def errors_of(catalog, recipe: Recipe, model_id: str, **options) -> dict[str, str]:
    with pytest.raises(ValidationErrors) as e:
        prepare(recipe, model_id, ModelOptions.of(**options), catalog)
    return e.value.by_field()


def line(sub: Submission, field: str):
    [found] = [ln for ln in sub.report if ln.field == field]
    return found


# -- the validation table ---------------------------------------------------------------------------------

CAMERA_TWO_AXES = {"type": "simple", "config": {"pan": 2, "zoom": 3}}
CAMERA_PAN = {"type": "simple", "config": {"pan": 5}}


@pytest.mark.parametrize(("model_id", "recipe", "options", "field", "must_mention"), [
    ("veo3.1", Recipe("   "), {}, "prompt", ["empty", "1-4000"]),
    ("kling-v1-6", Recipe("x" * 501), {}, "prompt", ["501", "500"]),
    ("gen4_turbo", Recipe("x" * 513, first_frame=ImageInput(PNG)), {}, "prompt", ["512"]),
    ("kling-v1-6", Recipe("cat", negative_prompt="y" * 201), {}, "negative_prompt", ["200"]),
    ("kling-v1-6", Recipe("cat", duration_s=7), {}, "duration", ["duration 7 s: Kling v1.6 allows 5 or 10"]),
    ("gen4_turbo", Recipe("cat", first_frame=ImageInput(PNG), duration_s=8), {}, "duration", ["5 or 10"]),
    ("veo3.1", Recipe("cat", duration_s=12), {}, "duration", ["4, 6 or 8"]),
    ("sora-2", Recipe("cat", duration_s=6), {}, "duration", ["4, 8 or 12"]),
    ("veo3.1", Recipe("cat", aspect_ratio="4:3"), {}, "aspect_ratio", ["16:9 or 9:16"]),
    ("gen3a_turbo", Recipe("cat", first_frame=ImageInput(PNG), aspect_ratio="1:1"), {}, "aspect_ratio",
     ["16:9 or 9:16"]),
    ("sora-2", Recipe("cat"), {"size": "1792x1024"}, "size", ["1280x720 or 720x1280"]),
    ("veo3.1", Recipe("cat", aspect_ratio="9:16"), {"size": "1920x1080"}, "size", ["16:9", "720x1280"]),
    ("kling-v1-6", Recipe("cat"), {"mode": "pro", "camera_control": CAMERA_TWO_AXES}, "camera_control",
     ["one non-zero axis", "pan, zoom"]),
    ("kling-v1-6", Recipe("cat", first_frame=ImageInput(PNG), last_frame=ImageInput(PNG_END)),
     {"mode": "pro", "camera_control": CAMERA_PAN}, "camera_control", ["end frame"]),
    ("kling-v1-6", Recipe("cat"), {"camera_control": CAMERA_PAN}, "camera_control", ["std", "pro mode at 5 s"]),
    ("kling-v1-6", Recipe("cat", duration_s=10), {"mode": "pro", "camera_control": CAMERA_PAN}, "camera_control",
     ["10 s", "pro mode at 5 s"]),
    ("kling-v2-1-master", Recipe("cat"), {"camera_control": CAMERA_PAN}, "camera_control", ["mode"]),
    ("kling-v1-6", Recipe("cat"), {"mode": "pro", "camera_control": {"type": "spin"}}, "camera_control",
     ["simple, down_back"]),
    ("kling-v2-1-master", Recipe("cat"), {"cfg_scale": 0.5}, "cfg_scale", ["v2.x", "mode"]),
    ("kling-v1-6", Recipe("cat"), {"cfg_scale": 1.5}, "cfg_scale", ["0-1"]),
    ("kling-v1-6", Recipe("cat"), {"mode": "ultra"}, "mode", ["std or pro"]),
    ("gen4_turbo", Recipe("cat"), {}, "first_frame", ["image-to-video only", "https://"]),
    ("gen4_turbo", Recipe("cat", first_frame=ImageInput(PNG), seed=1_000_000_000), {}, "seed", ["0-999999999"]),
    ("gen4_turbo", Recipe("cat", first_frame=ImageInput(PNG), seed=-1), {}, "seed", ["0-999999999"]),
    ("kling-v1-6", Recipe("cat", first_frame=ImageInput(encode(20, 20, "GIF"))), {}, "first_frame",
     ["PNG, JPEG, WebP"]),
    ("kling-v1-6", Recipe("cat", first_frame=ImageInput(encode(299, 400))), {}, "first_frame", ["299x400", "300 px"]),
    ("kling-v1-6", Recipe("cat", first_frame=ImageInput(encode(1000, 300))), {}, "first_frame",
     ["between 0.4 and 2.5"]),
    ("gen4_turbo", Recipe("cat", first_frame=ImageInput(encode(900, 300))), {}, "first_frame",
     ["between 0.5 and 2"]),
    ("veo3.1", Recipe("cat", first_frame=ImageInput(url="https://example.com/a.png")), {}, "first_frame",
     ["takes files only", "upload"]),
    ("kling-v1-6", Recipe("cat", first_frame=ImageInput(url="http://example.com/a.png")), {}, "first_frame",
     ["https"]),
    ("gen4_turbo", Recipe("cat", first_frame=ImageInput(url="http://127.0.0.1:8765/a.png")), {}, "first_frame",
     ["https"]),
    ("gen4_turbo", Recipe("cat", first_frame=ImageInput(url="https://127.0.0.1/a.png")), {}, "first_frame",
     ["private or local"]),
    ("gen4_turbo", Recipe("cat", first_frame=ImageInput(url="https://169.254.169.254/latest")), {}, "first_frame",
     ["private or local"]),
    ("kling-v1-6", Recipe("cat", first_frame=ImageInput(url="https://user:pw@cdn.example.com/a.png")), {},
     "first_frame", ["user:password"]),
    ("kling-v1-6", Recipe("cat", first_frame=ImageInput(url="https://printer.local/a.png")), {}, "first_frame",
     ["local name"]),
    ("kling-v1-6", Recipe("cat", first_frame=ImageInput(PNG), last_frame=ImageInput(PNG_END)), {}, "last_frame",
     ["pro"]),
    ("veo3-fast", Recipe("cat", last_frame=ImageInput(PNG_END)), {}, "first_frame", ["first frame"]),
    ("veo3.1", Recipe("cat"), {"watermark": True}, "watermark", ["size"]),
])
def test_bad_input_names_the_field_and_the_allowed_values(catalog, model_id, recipe, options, field, must_mention):
    errors = errors_of(catalog, recipe, model_id, **options)
    assert field in errors, errors
    for text in must_mention:
        assert text in errors[field], (errors[field], text)
    # validate() reports the same thing without raising (the form shows it as the user types).
    assert field in {e.field for e in validate(recipe, catalog.get(model_id), ModelOptions.of(**options))}


def test_too_large_image_is_refused(catalog):
    big = noise_png(1400, 1300)  # about 5.5 MB uncompressed PNG, above Runway's 5 MB
    errors = errors_of(catalog, Recipe("cat", first_frame=ImageInput(big)), "gen4_turbo")
    assert "MB" in errors["first_frame"] and "at most 5 MB" in errors["first_frame"]


def test_every_error_comes_back_at_once(catalog):
    recipe = Recipe("", negative_prompt="n" * 300, duration_s=7, aspect_ratio="21:9")
    errors = errors_of(catalog, recipe, "kling-v2-1-master", cfg_scale=0.3)
    assert set(errors) == {"prompt", "negative_prompt", "duration", "aspect_ratio", "cfg_scale"}


def test_unknown_model_lists_the_catalog(catalog):
    errors = errors_of(catalog, Recipe("cat"), "veo-9")
    assert "veo3.1" in errors["model"] and "gen4_turbo" in errors["model"]


def test_a_switched_off_model_is_refused_with_its_reason():
    with pytest.raises(DailiesError) as e:
        prepare(Recipe("cat"), "sora-2", None, load_catalog())
    assert e.value.kind is ErrorKind.MODEL_UNAVAILABLE
    assert "2026-09-24" in e.value.message and not isinstance(e.value, ValidationErrors)


# -- mapping onto the wire, and the report ---------------------------------------------------------------

def test_every_model_reports_every_recipe_field(catalog):
    recipe = Recipe("a lighthouse at dusk", negative_prompt="blur", first_frame=ImageInput(PNG), duration_s=5,
                    aspect_ratio="16:9", seed=42)
    for spec in catalog.models():
        sub = prepare(recipe, spec.id, None, catalog)
        fields = [ln.field for ln in sub.report]
        for f in RECIPE_FIELDS:
            assert fields.count(f) == 1, (spec.id, f, fields)
        for option in spec.option_names():
            if option != "image_fit":
                assert option in fields, (spec.id, option)
        assert sub.cost.source and sub.cost.as_of
        assert "{task_id}" in sub.poll_path_template


def test_runway_gen4_converts_the_ratio_and_drops_the_negative_prompt(catalog):
    sub = prepare(Recipe("waves", negative_prompt="people", first_frame=ImageInput(PNG), aspect_ratio="16:9",
                         seed=7), "gen4_turbo", ModelOptions.of(watermark=False), catalog)
    ratio = line(sub, "aspect_ratio")
    assert (ratio.action, ratio.requested, ratio.sent) == (A.CONVERTED, "16:9", "1280:720")
    assert line(sub, "negative_prompt").action is A.DROPPED
    assert line(sub, "duration").action is A.DEFAULTED
    req = sub.request
    assert (req.method, req.path) == ("POST", "/runwayml/v1/image_to_video")
    assert req.headers == {"X-Runway-Version": "2024-11-06"}
    body = req.json
    assert body["model"] == "gen4_turbo" and body["promptText"] == "waves" and body["ratio"] == "1280:720"
    assert body["duration"] == 5 and isinstance(body["duration"], int)
    assert body["seed"] == 7 and body["watermark"] is False
    assert "negative" not in str(body).lower()
    assert body["promptImage"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert sub.poll_path_template == "/runwayml/v1/tasks/{task_id}" and sub.content_path_template is None
    assert sub.requested_size == (1280, 720) and sub.has_audio is False


def test_runway_gen3a_maps_16_9_to_its_nearest_ratio(catalog):
    sub = prepare(Recipe("waves", first_frame=ImageInput(url="https://cdn.example.com/a.jpg"), aspect_ratio="16:9"),
                  "gen3a_turbo", None, catalog)
    ratio = line(sub, "aspect_ratio")
    assert (ratio.action, ratio.sent) == (A.CONVERTED, "1280:768") and "5:3" in ratio.note
    assert sub.request.json["promptImage"] == "https://cdn.example.com/a.jpg"
    assert sub.cost.high_usd == 0.32 and sub.cost.exact


def test_veo31_approximates_7_s_to_8_s(catalog):
    sub = prepare(Recipe("fog", duration_s=7), "veo3.1", None, catalog)
    d = line(sub, "duration")
    assert (d.action, d.requested, d.sent) == (A.APPROXIMATED, 7, "8")
    assert sub.request.form == {"model": "veo3.1", "prompt": "fog", "seconds": "8", "size": "1280x720"}
    assert sub.requested_duration_s == 8 and sub.cost.high_usd == pytest.approx(0.40)
    assert sub.content_path_template == "/v1/videos/{task_id}/content" and sub.has_audio


def test_veo3_fast_sends_two_ordered_reference_files_and_its_fixed_length(catalog):
    sub = prepare(Recipe("door opens", first_frame=ImageInput(PNG), last_frame=ImageInput(PNG_END), duration_s=5),
                  "veo3-fast", None, catalog)
    files = sub.request.files
    assert [f.field for f in files] == ["input_reference", "input_reference"]
    assert [f.content for f in files] == [PNG, PNG_END]
    assert sub.request.form == {"model": "veo3-fast", "prompt": "door opens", "size": "16x9"}
    d = line(sub, "duration")
    assert d.action is A.APPROXIMATED and "fixed 8 s" in d.note and sub.requested_duration_s == 8


def test_veo31_drops_the_end_frame_it_cannot_use(catalog):
    sub = prepare(Recipe("door", first_frame=ImageInput(PNG), last_frame=ImageInput(PNG_END)), "veo3.1", None,
                  catalog)
    assert [f.content for f in sub.request.files] == [PNG]
    assert line(sub, "last_frame").action is A.DROPPED


def test_veo31_size_option_picks_1080p(catalog):
    sub = prepare(Recipe("fog", aspect_ratio="16:9"), "veo3.1", ModelOptions.of(size="1920x1080"), catalog)
    assert sub.request.form["size"] == "1920x1080" and sub.requested_size == (1920, 1080)


def test_kling_image_to_video_sends_raw_base64_and_drops_the_ratio(catalog):
    sub = prepare(Recipe("leaves fall", negative_prompt="text", first_frame=ImageInput(PNG), aspect_ratio="9:16",
                         duration_s=10, seed=3), "kling-v1-6", ModelOptions.of(mode="pro", cfg_scale=0.7), catalog,
                  request_id="req-123")
    body = sub.request.json
    assert sub.request.path == "/kling/v1/videos/image2video"
    assert sub.poll_path_template == "/kling/v1/videos/image2video/{task_id}"
    assert not body["image"].startswith("data:") and base64.b64decode(body["image"]) == PNG
    assert "aspect_ratio" not in body and line(sub, "aspect_ratio").action is A.DROPPED
    assert body["duration"] == "10" and body["mode"] == "pro" and body["cfg_scale"] == 0.7
    assert body["negative_prompt"] == "text" and body["external_task_id"] == "req-123"
    assert line(sub, "seed").action is A.DROPPED and "seed" not in body


def test_kling_text_to_video_with_camera_control(catalog):
    sub = prepare(Recipe("a street", aspect_ratio="9:16"), "kling-v1-6",
                  ModelOptions.of(mode="pro", camera_control={"type": "simple", "config": {"zoom": -4}}), catalog)
    body = sub.request.json
    assert sub.request.path == "/kling/v1/videos/text2video"
    assert body["aspect_ratio"] == "9:16" and body["duration"] == "5" and line(sub, "aspect_ratio").action is A.SENT
    assert body["camera_control"] == {"type": "simple", "config": {
        "horizontal": 0.0, "vertical": 0.0, "pan": 0.0, "tilt": 0.0, "roll": 0.0, "zoom": -4.0}}
    assert "cfg_scale" not in body and line(sub, "cfg_scale").action is A.DEFAULTED
    assert not sub.cost.exact and sub.cost.display == "$0.13–$2.64"


def test_kling_v2_default_mode_is_reported(catalog):
    sub = prepare(Recipe("a street"), "kling-v2-1-master", None, catalog)
    mode = line(sub, "mode")
    assert (mode.action, mode.sent) == (A.DEFAULTED, "std") and sub.request.json["mode"] == "std"


def test_kling_first_and_last_frame_in_pro_mode(catalog):
    sub = prepare(Recipe("bloom", first_frame=ImageInput(PNG), last_frame=ImageInput(PNG_END)), "kling-v1-6",
                  ModelOptions.of(mode="pro"), catalog)
    body = sub.request.json
    assert base64.b64decode(body["image"]) == PNG and base64.b64decode(body["image_tail"]) == PNG_END


def test_kling_webp_is_converted_to_png(catalog):
    sub = prepare(Recipe("bloom", first_frame=ImageInput(encode(640, 360, "WEBP"))), "kling-v1-6", None, catalog)
    assert inspect_image(base64.b64decode(sub.request.json["image"])) == ("image/png", 640, 360)
    assert line(sub, "first_frame").action is A.CONVERTED


def test_sora_fits_the_reference_image_to_the_exact_size(catalog):
    sub = prepare(Recipe("paper plane", negative_prompt="dark", first_frame=ImageInput(encode(640, 480)),
                         duration_s=8, aspect_ratio="16:9"), "sora-2", None, catalog)
    [ref] = sub.request.files
    assert inspect_image(ref.content)[1:] == (1280, 720)
    assert line(sub, "first_frame").action is A.CONVERTED and "640x480 -> 1280x720" in line(sub, "first_frame").note
    assert sub.request.form == {"model": "sora-2", "prompt": "paper plane", "seconds": "8", "size": "1280x720"}
    assert line(sub, "negative_prompt").action is A.DROPPED
    assert sub.cost.high_usd == pytest.approx(0.64)


def test_sora_pro_large_size_prices_the_multiplier(catalog):
    sub = prepare(Recipe("plane", duration_s=4), "sora-2-pro", ModelOptions.of(size="1792x1024"), catalog)
    assert sub.request.form["size"] == "1792x1024" and sub.cost.high_usd == pytest.approx(0.24 * 4 * 1.666667)
