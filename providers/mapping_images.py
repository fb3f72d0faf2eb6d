"""A recipe's first and last frames -> one model's wire fields: checked against the model's image rules (size,
aspect, type, bytes), converted where the model needs it (WebP to PNG, fitted to the frame) and encoded the way
its route takes images (a URL, a multipart file, raw Base64 or a data URI). Part of providers/mapping.py's walk.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from providers import images
from providers.catalog import ModelSpec
from providers.errors import ValidationError
from providers.recipe import ImageInput, Recipe
from providers.submission import MappingAction as A, MappingLine, WireFile
from providers.url_policy import validate_user_image_url

_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclasses.dataclass
class Frames:
    """What the frames add to the submission: errors, report lines, multipart files and wire fields."""

    errors: list[ValidationError] = dataclasses.field(default_factory=list)
    lines: list[MappingLine] = dataclasses.field(default_factory=list)
    files: list[WireFile] = dataclasses.field(default_factory=list)
    wire: dict[str, str] = dataclasses.field(default_factory=dict)


def map_frames(recipe: Recipe, spec: ModelSpec, *, kind: str, wire_size: str | None, image_fit: Any) -> Frames:
    """The recipe's frames for `spec` in `kind` (t2v, i2v or flf), fitted to `wire_size` where the model asks."""
    return _FrameMapping(spec, kind, wire_size, image_fit).run(recipe)


def _url_problem(url: str, field: str) -> ValidationError | None:
    """User-typed image URLs are forwarded to the provider: refuse local, private and odd ones (no DNS here)."""
    try:
        validate_user_image_url(url, resolver=None, field=field)
    except ValidationError as e:
        return e
    return None


class _FrameMapping:
    def __init__(self, spec: ModelSpec, kind: str, wire_size: str | None, image_fit: Any) -> None:
        self.s, self.kind, self.wire_size, self.image_fit = spec, kind, wire_size, image_fit
        self.name = spec.display_name
        self.out = Frames()

    def err(self, field: str, message: str, allowed: str) -> None:
        self.out.errors.append(ValidationError(field, message, allowed=allowed, model=self.s.id))

    def line(self, field: str, action: A, requested: Any, sent: Any, note: str = "") -> None:
        self.out.lines.append(MappingLine(field, action, requested, sent, note))

    def run(self, recipe: Recipe) -> Frames:
        dropped_last = recipe.last_frame is not None and self.kind != "flf"
        for field, img in (("first_frame", recipe.first_frame), ("last_frame", recipe.last_frame)):
            if img is None:
                self.line(field, A.DEFAULTED, None, None, "none given")
            elif self.kind == "t2v":
                self.line(field, A.DROPPED, img.name, None, f"{self.name} is text-to-video only")
            elif field == "last_frame" and dropped_last:
                self.line(field, A.DROPPED, img.name, None, f"{self.name} takes only a first frame")
            else:
                self._image(field, img)
        return self.out

    def _image(self, field: str, img: ImageInput) -> None:
        rules = self.s.images
        # A URL goes to the provider as a URL where the route takes one; elsewhere the app has fetched it (under
        # the URL policy, providers/image_fetch.py) and its bytes are uploaded like a file.
        if img.url is not None and (img.data is None or rules.urls):
            if not rules.urls:
                self.err(field, f"{field}: {self.name} takes files only and the URL has not been fetched",
                         "a PNG, JPEG or WebP upload, or an https:// URL the app can fetch")
            elif (problem := _url_problem(img.url, field)) is not None:
                self.err(field, problem.message, "a public https:// image URL")
            else:
                self.out.wire[field] = img.url
                self.line(field, A.SENT, img.url, img.url, "as a URL")
            return
        if img.data is None:
            self.err(field, f"{field}: no image data", "a PNG, JPEG or WebP upload")
            return
        try:
            mime, w, h = images.inspect_image(img.data, field)
        except ValidationError as e:
            self.err(field, e.message, e.allowed)
            return
        data, action, notes = img.data, A.SENT, []
        bad = len(self.out.errors)
        if min(w, h) < rules.min_side:
            self.err(field, f"{field} is {w}x{h} px: {self.name} needs at least {rules.min_side} px per side",
                     f"at least {rules.min_side} px per side")
        aspect = w / h
        if not rules.min_aspect - 1e-9 <= aspect <= rules.max_aspect + 1e-9:
            allowed = f"width/height between {rules.min_aspect:g} and {rules.max_aspect:g}"
            self.err(field, f"{field} aspect {w}x{h} ({aspect:.2f}): {self.name} allows {allowed}", allowed)
        if mime not in rules.mimes:
            # A model that takes only JPG/PNG: re-encoding a WebP keeps the picture, so convert rather than refuse.
            data, mime = images.to_png(data, field), "image/png"
            action, notes = A.CONVERTED, ["WebP re-encoded as PNG"]
        if len(data) > rules.max_bytes:
            self.err(field, f"{field} is {len(data) / 1e6:.1f} MB: {self.name} allows at most "
                     f"{rules.max_bytes / 1e6:g} MB", f"at most {rules.max_bytes / 1e6:g} MB")
        if len(self.out.errors) > bad:
            return
        target = self.s.size_px(self.wire_size)
        if rules.fit_to_size and target and (w, h) != target:
            fit = self.image_fit
            if fit not in ("crop", "pad"):
                self.err("image_fit", f"image_fit {fit!r}: allowed crop or pad", "crop or pad")
                return
            data = images.fit_image(data, target[0], target[1], fit, field)
            mime = images.sniff_mime(data) or "image/png"
            action = A.CONVERTED
            notes.append(f"{'centre-cropped' if fit == 'crop' else 'padded'} {w}x{h} -> {target[0]}x{target[1]}")
        self._encode(field, data, mime, img, action, notes)

    def _encode(self, field: str, data: bytes, mime: str, img: ImageInput, action: A, notes: list[str]) -> None:
        how = self.s.images.upload_as
        if how == "file":
            name = f"{field}.{_EXT.get(mime, 'png')}"
            self.out.files.append(WireFile("input_reference", name, data, mime))
            sent: Any = f"input_reference file #{len(self.out.files)} ({name}, {len(data)} bytes)"
        elif how == "raw_base64":
            self.out.wire[field] = base64.b64encode(data).decode()
            sent = f"raw Base64 ({len(data)} bytes, no data: prefix)"
        else:
            self.out.wire[field] = f"data:{mime};base64,{base64.b64encode(data).decode()}"
            sent = f"data URI ({mime}, {len(data)} bytes)"
        self.line(field, action, img.name, sent, "; ".join(notes))
