"""Request validation with the documented limits of each family; errors name the field and the allowed values."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import math
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

VEO_MODELS = ("veo3", "veo3-fast", "veo3-pro", "veo3.1-fast", "veo3.1")
SORA_MODELS = ("sora-2", "sora-2-pro")
VEO_RESOLVED = {  # Gen-A echoes the resolved provider id instead of the alias
    "veo3": "veo_3_0", "veo3-fast": "veo_3_1-fast", "veo3-pro": "veo_3_0-pro",
    "veo3.1-fast": "veo_3_1-fast", "veo3.1": "veo_3_1-4K",
}
VEO_SECONDS = ("4", "6", "8")
VEO_SIZES = ("1280x720", "720x1280", "1920x1080", "3840x2160")
VEO_GEN_A_SIZES = {"16x9": (1280, 720), "9x16": (720, 1280)}
# Gen-A documents the legacy aliases (veo3-fast validated 2026-03-12) with size=16x9 and a fixed 8 s;
# Gen-B documents veo3.1 / veo3.1-fast with seconds and WxH sizes. Models differ, so the request form
# follows the model, whichever response shape the sandbox is set to.
VEO_GEN_A_MODELS = ("veo3", "veo3-fast", "veo3-pro")
SORA_SECONDS = ("4", "8", "12")
SORA_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")

KLING_MODELS = ("kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master", "kling-v2-1-master", "kling-v2-5-turbo",
                "kling-v2-6")
KLING_RATIOS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:3": (4, 3), "3:4": (3, 4), "3:2": (3, 2),
                "2:3": (2, 3)}
KLING_CAMERA_TYPES = ("simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward")
KLING_CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")

RUNWAY_MODELS = ("gen3a_turbo", "gen4_turbo")
RUNWAY_RATIOS = {
    "gen3a_turbo": ("1280:768", "768:1280"),
    "gen4_turbo": ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"),
}
RUNWAY_VERSION = "2024-11-06"
MAX_IMAGE_BYTES = 10 * 1024 * 1024


class Invalid(ValueError):
    """A request the real API would reject with 400; the message names the field."""


def _choice(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise Invalid(f"{field}: {value!r} is not allowed; allowed: {', '.join(allowed)}")
    return value


def _size(text: str) -> tuple[int, int]:
    w, h = text.split("x")
    return int(w), int(h)


def _store_image(data: bytes, field: str, inputs_dir: Path, min_side: int = 0) -> str:
    if len(data) > MAX_IMAGE_BYTES:
        raise Invalid(f"{field}: image is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES} bytes (10 MB)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            fmt, (w, h) = img.format, img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Invalid(f"{field}: not a readable image (allowed: JPEG, PNG, WebP)") from exc
    if fmt not in ("JPEG", "PNG", "WEBP"):
        raise Invalid(f"{field}: image format {fmt} not allowed; allowed: JPEG, PNG, WebP")
    if min_side and min(w, h) < min_side:
        raise Invalid(f"{field}: image is {w}x{h}; each side must be at least {min_side} px")
    if min_side and not 1 / 2.5 <= w / h <= 2.5:
        raise Invalid(f"{field}: aspect ratio {w}:{h} is outside 1:2.5 to 2.5:1")
    inputs_dir.mkdir(parents=True, exist_ok=True)
    path = inputs_dir / f"{hashlib.sha256(data).hexdigest()[:32]}.{fmt.lower()}"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def _image_aspect(path: str | None) -> float | None:
    if not path:
        return None
    with Image.open(path) as img:
        return img.width / img.height


def videos_request(form: dict[str, str], files: list[tuple[str, bytes]], veo_shape: str,
                   inputs_dir: Path) -> tuple[str, dict[str, Any]]:
    """POST /v1/videos (multipart) for Veo and Sora. Returns (family, params)."""
    model = form.get("model", "")
    if not model:
        raise Invalid("model name is required")
    _choice("model", model, VEO_MODELS + SORA_MODELS)
    prompt = form.get("prompt", "")
    if not prompt.strip():
        raise Invalid("prompt is required")
    family = "veo" if model in VEO_MODELS else "sora"
    params: dict[str, Any] = {"prompt": prompt}
    if family == "veo" and (veo_shape == "gen_a" or model in VEO_GEN_A_MODELS):
        size = _choice("size", form.get("size", "16x9"), tuple(VEO_GEN_A_SIZES))
        params.update(size=size, seconds="", width=VEO_GEN_A_SIZES[size][0], height=VEO_GEN_A_SIZES[size][1],
                      render_seconds=8)
    elif family == "veo":
        seconds = _choice("seconds", form.get("seconds", "4"), VEO_SECONDS)
        size = _choice("size", form.get("size", "1280x720"), VEO_SIZES)
        w, h = _size(size)
        params.update(size=size, seconds=seconds, width=w, height=h, render_seconds=int(seconds))
    else:
        seconds = _choice("seconds", form.get("seconds", "4"), SORA_SECONDS)
        size = _choice("size", form.get("size", "720x1280"), SORA_SIZES)
        w, h = _size(size)
        params.update(size=size, seconds=seconds, width=w, height=h, render_seconds=int(seconds))
    limit = 2 if family == "veo" else 1
    if len(files) > limit:
        raise Invalid(f"input_reference: at most {limit} file(s) for {model}, got {len(files)}")
    images = [_store_image(data, "input_reference", inputs_dir) for _, data in files]
    params["image_path"] = images[0] if images else None
    params["last_frame_path"] = images[1] if len(images) > 1 else None
    params["audio"] = True  # Veo 3.x and Sora 2 both generate sound
    return family, params


def _kling_image(value: Any, field: str, inputs_dir: Path) -> str | None:
    """Public URL (recorded, not fetched: there is no internet) or raw Base64 without a data: prefix."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"{field}: must be a public image URL or a Base64 string")
    if value.startswith(("http://", "https://")):
        return None
    if value.startswith("data:"):
        raise Invalid(f"{field}: Base64 must not carry a data: prefix (send the raw Base64 string)")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"{field}: neither an http(s) URL nor valid Base64") from exc
    return _store_image(data, field, inputs_dir, min_side=300)


def _camera(value: Any) -> None:
    if not isinstance(value, dict):
        raise Invalid("camera_control: must be an object {type, config}")
    kind = _choice("camera_control.type", value.get("type"), KLING_CAMERA_TYPES)
    config = value.get("config")
    if kind != "simple":
        if config:
            raise Invalid(f"camera_control.config: only allowed when type is 'simple', not {kind!r}")
        return
    if not isinstance(config, dict):
        raise Invalid("camera_control.config: required when type is 'simple'")
    unknown = set(config) - set(KLING_CAMERA_AXES)
    if unknown:
        raise Invalid(f"camera_control.config: unknown keys {sorted(unknown)}; allowed: {', '.join(KLING_CAMERA_AXES)}")
    non_zero = 0
    for axis in KLING_CAMERA_AXES:
        v = config.get(axis, 0)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not -10 <= v <= 10:
            raise Invalid(f"camera_control.config.{axis}: must be a number in [-10, 10], got {v!r}")
        non_zero += v != 0
    if non_zero != 1:
        raise Invalid(f"camera_control.config: exactly one of {', '.join(KLING_CAMERA_AXES)} must be non-zero, "
                      f"got {non_zero}")


def kling_request(body: Any, action: str, inputs_dir: Path) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    model = _choice("model_name", body.get("model_name", "kling-v1"), KLING_MODELS)
    prompt = body.get("prompt", "")
    if not isinstance(prompt, str):
        raise Invalid("prompt: must be a string")
    if action == "text2video" and not prompt.strip():
        raise Invalid("prompt is required")
    if len(prompt) > 500:
        raise Invalid(f"prompt: {len(prompt)} characters; the limit is 500")
    negative = body.get("negative_prompt", "")
    if not isinstance(negative, str) or len(negative) > 200:
        raise Invalid("negative_prompt: must be a string of at most 200 characters")
    if "cfg_scale" in body and body["cfg_scale"] is not None:
        cfg = body["cfg_scale"]
        if model.startswith("kling-v2"):
            raise Invalid(f"cfg_scale: not supported by {model} (v2.x models); omit it")
        if isinstance(cfg, bool) or not isinstance(cfg, int | float) or not 0 <= cfg <= 1:
            raise Invalid(f"cfg_scale: must be a number in [0, 1], got {cfg!r}")
    mode = _choice("mode", body.get("mode", "std"), ("std", "pro"))
    duration = body.get("duration", "5")
    if duration not in ("5", "10"):
        raise Invalid(f"duration: {duration!r} is not allowed; allowed: \"5\", \"10\" (strings)")
    if body.get("camera_control") is not None:
        _camera(body["camera_control"])
    callback = body.get("callback_url")
    if callback is not None and (not isinstance(callback, str) or not callback.strip() or len(callback) > 2048):
        raise Invalid("callback_url: must be a non-empty URL string of at most 2048 characters")
    params: dict[str, Any] = {"prompt": prompt, "mode": mode, "duration": duration, "render_seconds": int(duration),
                              "external_task_id": body.get("external_task_id"), "audio": False,
                              "callback_url": callback}
    image_path = None
    height = 1080 if mode == "pro" else 720
    if action == "image2video":
        if not body.get("image") and not body.get("image_tail"):
            raise Invalid("image: at least one of image and image_tail is required")
        if body.get("image"):
            image_path = _kling_image(body["image"], "image", inputs_dir)
        if body.get("image_tail"):
            _kling_image(body["image_tail"], "image_tail", inputs_dir)
        exclusive = [k for k in ("image_tail", "static_mask", "dynamic_masks", "camera_control") if body.get(k)]
        if "image_tail" in exclusive and len(exclusive) > 1:
            raise Invalid(f"{', '.join(exclusive)}: image_tail, masks and camera_control are mutually exclusive")
        if "camera_control" in exclusive and ("static_mask" in exclusive or "dynamic_masks" in exclusive):
            raise Invalid("camera_control: cannot be combined with static_mask or dynamic_masks")
        masks = body.get("dynamic_masks")
        if masks is not None and (not isinstance(masks, list) or len(masks) > 6):
            raise Invalid("dynamic_masks: must be a list of at most 6 items")
        aspect = _image_aspect(image_path) or 16 / 9
        label = None
    else:
        label = _choice("aspect_ratio", body.get("aspect_ratio", "16:9"), tuple(KLING_RATIOS))
        rw, rh = KLING_RATIOS[label]
        aspect = rw / rh
    if aspect >= 1:
        w, h = round(height * aspect / 2) * 2, height
    else:
        w, h = height, round(height / aspect / 2) * 2
    params.update(model=model, image_path=image_path, width=w, height=h, aspect_ratio=label)
    return params


def _runway_image(value: Any, inputs_dir: Path) -> str | None:
    if isinstance(value, list):
        if not value or not all(isinstance(v, dict) and isinstance(v.get("uri"), str) for v in value):
            raise Invalid("promptImage: a list must hold objects {uri, position}")
        for v in value:
            _choice("promptImage[].position", v.get("position", "first"), ("first", "last"))
        first = next((v for v in value if v.get("position", "first") == "first"), value[0])
        return _runway_image(first["uri"], inputs_dir)
    if not isinstance(value, str) or not value:
        raise Invalid("promptImage is required (an HTTPS URL or a data URI)")
    if value.startswith("https://"):
        return None
    if value.startswith("data:image/") and ";base64," in value:
        try:
            data = base64.b64decode(value.split(",", 1)[1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Invalid("promptImage: data URI is not valid Base64") from exc
        return _store_image(data, "promptImage", inputs_dir)
    raise Invalid("promptImage: must be an HTTPS URL or a data:image/...;base64, URI")


def runway_request(body: Any, version: str | None, inputs_dir: Path) -> dict[str, Any]:
    if not version:
        raise Invalid(f"X-Runway-Version header is required (e.g. {RUNWAY_VERSION})")
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    model = _choice("model", body.get("model"), RUNWAY_MODELS)
    image_path = _runway_image(body.get("promptImage"), inputs_dir)
    text = body.get("promptText", "")
    if not isinstance(text, str) or len(text) > 512:
        raise Invalid("promptText: must be a string of at most 512 characters")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 999_999_999):
        raise Invalid(f"seed: must be an integer in [0, 999999999], got {seed!r}")
    duration = body.get("duration", 10)
    if duration not in (5, 10) or isinstance(duration, bool):
        raise Invalid(f"duration: {duration!r} is not allowed; allowed: 5, 10")
    allowed = RUNWAY_RATIOS[model]
    if version != RUNWAY_VERSION:
        allowed = allowed + ("16:9", "9:16")  # older API versions took orientation names
    ratio = _choice("ratio", body.get("ratio", allowed[0]), allowed)
    w, h = {"16:9": (1280, 720), "9:16": (720, 1280)}.get(ratio) or tuple(int(x) for x in ratio.split(":"))
    watermark = body.get("watermark", False)
    if not isinstance(watermark, bool):
        raise Invalid("watermark: must be true or false")
    return {"model": model, "prompt": text, "image_path": image_path, "seed": seed, "ratio": ratio, "width": w,
            "height": h, "render_seconds": duration, "audio": False, "watermark": watermark}
