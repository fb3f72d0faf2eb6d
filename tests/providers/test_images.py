"""Image checks: only real PNG/JPEG/WebP get through, bombs are refused, fitting hits the exact size."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from providers.errors import ValidationError
from providers.images import MAX_IMAGE_PIXELS, fit_image, inspect_image, sniff_mime


def encode(w: int, h: int, fmt: str = "PNG", color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_sniff_and_inspect_the_three_allowed_formats(fmt, mime):
    data = encode(320, 240, fmt)
    assert sniff_mime(data) == mime
    assert inspect_image(data) == (mime, 320, 240)


@pytest.mark.parametrize("data", [
    encode(10, 10, "GIF"),
    b"<html><body>not an image</body></html>",
    b"",
    b"RIFF\x00\x00\x00\x00WAVEfmt ",
])
def test_other_bytes_are_not_images(data):
    assert sniff_mime(data) is None
    with pytest.raises(ValidationError) as e:
        inspect_image(data, "first_frame")
    assert e.value.field == "first_frame" and "PNG, JPEG, WebP" in e.value.message


def test_a_damaged_png_is_a_validation_error():
    with pytest.raises(ValidationError) as e:
        inspect_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "last_frame")
    assert e.value.field == "last_frame"
    truncated = encode(400, 300)[:60]
    with pytest.raises(ValidationError):
        fit_image(truncated, 100, 100)


def test_a_decompression_bomb_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")  # a few KB on disk, 100 M pixels decoded
    data = out.getvalue()
    assert len(data) < 200_000
    with pytest.raises(ValidationError) as e:
        inspect_image(data, "first_frame")
    assert str(MAX_IMAGE_PIXELS) in e.value.message
    with pytest.raises(ValidationError):
        fit_image(data, 1280, 720)


@settings(max_examples=25, deadline=None)
@given(src_w=st.integers(16, 900), src_h=st.integers(16, 900), dst_w=st.integers(16, 900), dst_h=st.integers(16, 900),
       mode=st.sampled_from(["crop", "pad"]))
def test_fitting_always_produces_the_exact_target_size(src_w, src_h, dst_w, dst_h, mode):
    fitted = fit_image(encode(src_w, src_h), dst_w, dst_h, mode)
    assert inspect_image(fitted) == ("image/png", dst_w, dst_h)


def test_crop_keeps_the_centre_and_pad_adds_black_bars():
    # Left half red, right half blue, 400x200 -> 200x200: crop shows the centre (both colours), pad shows bars.
    img = Image.new("RGB", (400, 200), (255, 0, 0))
    img.paste((0, 0, 255), (200, 0, 400, 200))
    out = io.BytesIO()
    img.save(out, format="PNG")
    cropped = Image.open(io.BytesIO(fit_image(out.getvalue(), 200, 200, "crop"))).convert("RGB")
    assert cropped.getpixel((10, 100))[0] > 200 and cropped.getpixel((190, 100))[2] > 200
    padded = Image.open(io.BytesIO(fit_image(out.getvalue(), 200, 200, "pad"))).convert("RGB")
    assert padded.getpixel((100, 5)) == (0, 0, 0) and padded.getpixel((100, 100)) != (0, 0, 0)


def test_jpeg_stays_jpeg_and_the_fit_mode_is_checked():
    fitted = fit_image(encode(640, 480, "JPEG"), 1280, 720)
    assert inspect_image(fitted) == ("image/jpeg", 1280, 720)
    with pytest.raises(ValidationError) as e:
        fit_image(encode(64, 64), 32, 32, "stretch")
    assert e.value.field == "image_fit" and "crop, pad" in e.value.message
