"""Image checks and fitting: trust only magic bytes, refuse decompression bombs, crop/pad to a model's size."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from providers.errors import ValidationError

MAX_IMAGE_PIXELS = 40_000_000
"""Above this (e.g. 8000 x 5000) an upload is refused before its pixels are decoded."""

MAX_IMAGE_BYTES = 20 * 2**20
"""The largest image file we accept from an upload or a path; a model's own limit may be lower."""

ALLOWED_MIMES = ("image/png", "image/jpeg", "image/webp")

_FORMAT_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def sniff_mime(data: bytes) -> str | None:
    """PNG, JPEG or WebP from the first bytes; anything else (GIF, SVG, HTML, a renamed file) is None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _open(data: bytes, field: str) -> Image.Image:
    mime = sniff_mime(data)
    if mime is None:
        raise ValidationError(field, "not a PNG, JPEG or WebP image", allowed="PNG, JPEG, WebP")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[f for f, m in _FORMAT_MIME.items() if m == mime])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ValidationError(field, "image has too many pixels", allowed=f"at most {MAX_IMAGE_PIXELS} pixels") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValidationError(field, f"image could not be read ({mime} header is damaged)",
                              allowed="an undamaged PNG, JPEG or WebP") from e
    w, h = img.size
    if w <= 0 or h <= 0 or w * h > MAX_IMAGE_PIXELS:
        raise ValidationError(field, f"image is {w}x{h} px, too many pixels",
                              allowed=f"at most {MAX_IMAGE_PIXELS} pixels")
    return img


def inspect_image(data: bytes, field: str = "image") -> tuple[str, int, int]:
    """(mime, width, height) from the header only; raises ValidationError naming `field`."""
    img = _open(data, field)
    mime = sniff_mime(data)
    assert mime is not None  # _open already refused anything else
    return mime, img.size[0], img.size[1]


def fit_image(data: bytes, target_w: int, target_h: int, mode: str = "crop", field: str = "image") -> bytes:
    """Scale and centre-crop ("crop") or letterbox ("pad") to exactly target_w x target_h.

    JPEG in gives JPEG out (smaller upload); anything else gives PNG, which keeps transparency.
    """
    if mode not in ("crop", "pad"):
        raise ValidationError("image_fit", f"unknown fit mode {mode!r}", allowed="crop, pad")
    img = _open(data, field)
    try:
        img.load()
        img = ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError) as e:
        raise ValidationError(field, "image data is truncated or damaged", allowed="an undamaged image") from e
    is_jpeg = sniff_mime(data) == "image/jpeg"
    img = img.convert("RGB" if is_jpeg else "RGBA")
    size = (int(target_w), int(target_h))
    if mode == "crop":
        fitted = ImageOps.fit(img, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    else:
        fill = (0, 0, 0) if is_jpeg else (0, 0, 0, 255)
        fitted = ImageOps.pad(img, size, method=Image.Resampling.LANCZOS, color=fill, centering=(0.5, 0.5))
    out = io.BytesIO()
    if is_jpeg:
        fitted.save(out, format="JPEG", quality=92)
    else:
        fitted.save(out, format="PNG")
    return out.getvalue()


def to_png(data: bytes, field: str = "image") -> bytes:
    """Re-encode (e.g. WebP for Kling, which takes only JPG/PNG) without changing the picture."""
    img = _open(data, field)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise ValidationError(field, "image data is truncated or damaged", allowed="an undamaged image") from e
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
