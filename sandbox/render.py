"""Renders the sandbox's result clips: real H.264 MP4s whose picture, size, length and audio follow the request."""

from __future__ import annotations

import hashlib
import os
import tempfile
import textwrap
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import defects, looks

AUDIO_RATE = 48_000
_AAC_FRAME = 1024


@dataclass(frozen=True)
class ClipSpec:
    """Everything that decides what a clip looks and sounds like (and so its cache key)."""

    model: str
    prompt: str
    width: int
    height: int
    seconds: float
    fps: int = 24
    audio: bool = False
    image_path: str | None = None  # first frame for image-to-video
    variant: int = 0  # which of the model's few looks-per-take (see looks.variant_for)
    defect: defects.Defect | None = None  # a technical defect or near-miss look baked in (sandbox/defects.py)

    def cache_key(self) -> str:
        image_hash = ""
        if self.image_path:
            image_hash = hashlib.sha256(Path(self.image_path).read_bytes()).hexdigest()
        prompt_hash = hashlib.sha256(self.prompt.encode()).hexdigest()
        size = f"{self.width}x{self.height}"
        raw = (f"{self.model}|{prompt_hash}|{size}|{self.seconds}|{self.fps}|{self.audio}|{image_hash}"
               f"|v{self.variant % looks.VARIANTS}")
        if self.defect is not None:
            raw += f"|{self.defect.key()}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _seed_rgb(text: str, salt: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{salt}:{text}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _rgb_image_to_yuv_planes(img: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arr = np.asarray(img.convert("RGB"), dtype=np.float32)
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    # 4:2:0 chroma: average each 2x2 block.
    u = u.reshape(u.shape[0] // 2, 2, u.shape[1] // 2, 2).mean(axis=(1, 3))
    v = v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2).mean(axis=(1, 3))
    return (np.clip(y, 0, 255).astype(np.uint8), np.clip(u, 0, 255).astype(np.uint8),
            np.clip(v, 0, 255).astype(np.uint8))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def overlay_lines(spec: ClipSpec) -> list[str]:
    """The words drawn into the frame: the take and the prompt. Never the model's name or id (blind review
    would be given away); the model is in the file's metadata only."""
    return [looks.take_label(spec.variant), *(textwrap.wrap(spec.prompt, _chars_per_line(spec))[:4] or [""])]


def _chars_per_line(spec: ClipSpec) -> int:
    return max(12, int(spec.width / (max(10, spec.height // 26) * 0.55)) - 4)


def _text_mask(spec: ClipSpec) -> np.ndarray:
    """The overlay drawn once into a luma mask the width of the frame."""
    w = spec.width
    title_px = max(14, spec.height // 14)
    body_px = max(10, spec.height // 26)
    title, *lines = overlay_lines(spec)
    height = title_px + 12 + len(lines) * (body_px + 6) + 16
    height += height % 2
    mask = Image.new("L", (w, height), 0)
    draw = ImageDraw.Draw(mask)
    draw.text((16, 8), title, fill=255, font=_font(title_px))
    y = title_px + 16
    for line in lines:
        draw.text((16, y), line, fill=255, font=_font(body_px))
        y += body_px + 6
    return np.asarray(mask)


class _Scene:
    """Precomputed planes and sprites (the model's look); frame(i) only moves the sprites and composites the text."""

    def __init__(self, spec: ClipSpec) -> None:
        self.spec = spec
        w, h = spec.width, spec.height
        if spec.image_path:
            with Image.open(spec.image_path) as img:
                fitted = img.convert("RGB").resize((w, h))
            self.base_y, self.base_u, self.base_v = _rgb_image_to_yuv_planes(fitted)
        self.backdrop = looks.Backdrop(spec.model, spec.prompt, spec.variant, w, h)
        if not spec.image_path:
            self.base_y, self.base_u, self.base_v = self.backdrop.base
        self.text = _text_mask(spec)
        self.text_on = self.text > 96
        self.frame_buf = np.empty((h * 3 // 2, w), dtype=np.uint8)

    def frame(self, i: int) -> np.ndarray:
        spec = self.spec
        w, h = spec.width, spec.height
        buf = self.frame_buf
        y_plane = buf[:h]
        uv = buf[h:].reshape(2, h // 2, w // 2)
        y_plane[:] = defects.base_planes(spec.defect, self.base_y, i)
        uv[0][:] = self.base_u
        uv[1][:] = self.base_v
        if i == 0 and spec.image_path:
            return buf  # image-to-video: the uploaded image is the first frame, untouched
        self.backdrop.stamp(y_plane, uv[0], uv[1], i / spec.fps * defects.time_factor(spec.defect))
        th = min(self.text.shape[0], h)
        band = y_plane[h - th:]
        band[self.text_on[:th]] = 235
        # a moving bar at the bottom makes time visible even on a static image
        bar_x = int((i / max(1, self._frames() - 1)) * (w - 8)) // 2 * 2
        y_plane[h - 6:h, :bar_x + 8] = 200
        return buf

    def _frames(self) -> int:
        return max(1, round(self.spec.seconds * self.spec.fps))


def _tone(seconds: float, model: str) -> np.ndarray:
    n = int(round(seconds * AUDIO_RATE))
    freq = 220 + (_seed_rgb(model, "tone")[0] % 24) * 20
    t = np.arange(n, dtype=np.float32) / AUDIO_RATE
    return (0.15 * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)


def render_clip(spec: ClipSpec, dest: Path, preset: str = "ultrafast") -> Path:
    """Encode the clip to `dest` (H.264 yuv420p, faststart, AAC if spec.audio). Atomic: a partial file never shows."""
    if spec.width % 2 or spec.height % 2:
        raise ValueError(f"width and height must be even, got {spec.width}x{spec.height}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, suffix=".part.mp4")
    os.close(fd)
    try:
        _encode(spec, Path(tmp_name), preset)
        os.replace(tmp_name, dest)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return dest


def _encode(spec: ClipSpec, path: Path, preset: str) -> None:
    scene = _Scene(spec)
    frames = scene._frames()
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=spec.fps)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        video.time_base = Fraction(1, spec.fps)
        video.options = {"preset": preset, "tune": "zerolatency", "crf": "28"}
        # The model travels in the file's metadata, never in the picture (see overlay_lines).
        out.metadata["comment"] = f"dailies sandbox; model={spec.model}; take={spec.variant % looks.VARIANTS}"
        audio = None
        if spec.audio:
            audio = out.add_stream("aac", rate=AUDIO_RATE)
            audio.layout = "mono"
        for i in range(frames):
            buf = scene.frame(defects.source_frame(spec.defect, i, spec.fps))
            defects.paint(spec.defect, buf, spec.width, spec.height, i, spec.fps)
            frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio is not None:
            samples = defects.mute(spec.defect, _tone(frames / spec.fps, spec.model), AUDIO_RATE)
            for start in range(0, len(samples), _AAC_FRAME):
                chunk = samples[start:start + _AAC_FRAME]
                aframe = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                aframe.sample_rate = AUDIO_RATE
                aframe.pts = start
                out.mux(audio.encode(aframe))
            out.mux(audio.encode())


class ClipCache:
    """Renders each distinct clip once, on first request, and keeps it on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, spec: ClipSpec) -> Path:
        key = spec.cache_key()
        path = self.directory / f"{key}.mp4"
        if path.exists():
            return path
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if not path.exists():
                render_clip(spec, path)
        return path
