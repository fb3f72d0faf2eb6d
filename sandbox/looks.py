"""Each sandbox model's own recognisable look, and a few variants of it per take.

Why: a board of sandbox takes must look like a comparison (every model different, every take of a model
different), and a blind review must not be given away by the picture, so nothing here draws a model's name.
Rendering stays cheap because a model has only VARIANTS distinct pictures per prompt and size, each rendered
once and cached by `render.ClipCache`.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
from dataclasses import dataclass

import numpy as np

VARIANTS = 4  # distinct takes per model, prompt and size; a fifth take repeats the first
SHAPES = ("box", "disc", "ring", "diamond")
MOTIONS = ("orbit", "bounce", "sweep", "drift")


@dataclass(frozen=True)
class Look:
    """What makes one model's clips recognisable: a colour family, a shape and a way of moving."""

    hue: float  # 0..1
    shape: str
    motion: str
    count: int


# The salt was picked (by trying salts) so the 16 models the sandbox serves get 15 different shape x motion pairs;
# any other model id still gets a stable look, just not a guaranteed unique one.
_SALT = "look3860"


def look_for(model: str) -> Look:
    digest = hashlib.sha256(f"{_SALT}:{model}".encode()).digest()
    return Look(hue=digest[0] / 256, shape=SHAPES[digest[1] % len(SHAPES)],
                motion=MOTIONS[digest[2] % len(MOTIONS)], count=3 + digest[3] % 3)


def variant_for(seed: int | None, nth_take: int) -> int:
    """The seed decides the picture where the request sends one; otherwise the model's n-th take in this
    sandbox does, so consecutive takes with a random seed differ."""
    return (seed if seed is not None else nth_take) % VARIANTS


def take_label(variant: int) -> str:
    return f"Sandbox take {'ABCDEFGH'[variant % 8]}"


def _yuv(r: float, g: float, b: float) -> tuple[int, int, int]:
    # BT.601 limited range, which is what yuv420p H.264 players assume by default.
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    return int(round(y)), int(round(u)), int(round(v))


def _hsv_yuv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return _yuv(r * 255, g * 255, b * 255)


def _mask(shape: str, size: int) -> np.ndarray | None:
    """Which pixels of a size x size square the shape covers (None: all of them)."""
    if shape == "box":
        return None
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size]
    if shape == "diamond":
        return (np.abs(xx - c) + np.abs(yy - c)) <= c
    dist = np.hypot(xx - c, yy - c)
    if shape == "ring":
        return (dist <= c) & (dist >= c * 0.55)
    return dist <= c


@dataclass
class Sprite:
    size: int
    color: tuple[int, int, int]
    mask: np.ndarray | None
    chroma_mask: np.ndarray | None
    speed: float
    phase: float
    lane: float  # 0..1, where on the cross axis a sweeping sprite runs


class Backdrop:
    """The background planes (Y, U, V) and the moving sprites of one model's variant; `stamp` draws frame t."""

    def __init__(self, model: str, prompt: str, variant: int, width: int, height: int) -> None:
        look = look_for(model)
        self.look = look
        self.width, self.height = width, height
        prompt_tint = hashlib.sha256(f"tint:{prompt}".encode()).digest()[0] / 256
        # The variant turns the colour family a little and flips the gradient, so takes differ at a glance.
        hue = look.hue + (variant - 1.5) * 0.05
        top = _hsv_yuv(hue, 0.75, 0.55)
        bottom = _hsv_yuv(hue + 0.25 + prompt_tint * 0.35, 0.6, 0.25 + prompt_tint * 0.3)
        if variant % 2:
            top, bottom = bottom, top
        self.base = self._gradient(top, bottom, vertical=variant < 2)
        digest = hashlib.sha256(f"{model}|{prompt}|{variant}".encode()).digest()
        self.sprites: list[Sprite] = []
        for k in range(look.count):
            b = digest[k * 5:(k + 1) * 5]
            size = max(8, (height // 7 + b[0] % (height // 6 + 1)) // 2 * 2)
            mask = _mask(look.shape, size)
            color = _hsv_yuv(look.hue + 0.5 + k * 0.07 + variant * 0.03, 0.55 + b[1] / 600, 0.95)
            self.sprites.append(Sprite(size, color, mask, None if mask is None else mask[::2, ::2],
                                       speed=0.4 + b[2] / 300, phase=b[3] / 40 + variant * 1.7,
                                       lane=(k + 0.5 + (b[4] / 256 - 0.5) * 0.6) / look.count))

    def _gradient(self, a: tuple[int, int, int], b: tuple[int, int, int], vertical: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, h = self.width, self.height

        def plane(i: int, pw: int, ph: int) -> np.ndarray:
            n = ph if vertical else pw
            ramp = np.linspace(a[i], b[i], n, dtype=np.float32).astype(np.uint8)
            return np.repeat(ramp[:, None], pw, axis=1) if vertical else np.repeat(ramp[None, :], ph, axis=0)

        return plane(0, w, h), plane(1, w // 2, h // 2), plane(2, w // 2, h // 2)

    def _where(self, s: Sprite, t: float) -> tuple[int, int]:
        w, h = self.width - s.size, self.height - s.size
        a = t * s.speed + s.phase
        motion = self.look.motion
        if motion == "orbit":
            fx, fy = 0.5 + 0.42 * math.cos(a), 0.5 + 0.42 * math.sin(a)
        elif motion == "bounce":
            fx, fy = abs((a * 0.35) % 2 - 1), abs((a * 0.5 + 0.3) % 2 - 1)
        elif motion == "sweep":
            fx, fy = (a * 0.25) % 1.0, s.lane
        else:  # drift: a slow Lissajous figure
            fx, fy = math.sin(a) * 0.5 + 0.5, math.cos(a * 1.3 + s.phase) * 0.5 + 0.5
        return int(fx * w) // 2 * 2, int(fy * h) // 2 * 2

    def stamp(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, t: float) -> None:
        for s in self.sprites:
            x, yy = self._where(s, t)
            n, cx, cy = s.size, x // 2, yy // 2
            if s.mask is None:
                y[yy:yy + n, x:x + n] = s.color[0]
                u[cy:cy + n // 2, cx:cx + n // 2] = s.color[1]
                v[cy:cy + n // 2, cx:cx + n // 2] = s.color[2]
                continue
            y[yy:yy + n, x:x + n][s.mask] = s.color[0]
            u[cy:cy + n // 2, cx:cx + n // 2][s.chroma_mask] = s.color[1]
            v[cy:cy + n // 2, cx:cx + n // 2][s.chroma_mask] = s.color[2]
