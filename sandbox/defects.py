"""Technical defects the sandbox can bake into a clip, so Dailies' clip checks are tested on real files.

A defect is a task-level fault decided at submit (`faults.add(route="submit", kind="defect", defect="freeze",
start_s=2, duration_s=1)`) and carried by the task, so every download of that task, and every range of it, is
the same defective file. Kinds:

* `black`: black picture from start_s for duration_s (a black lead-in when start_s is 0);
* `freeze`: the frame at start_s repeated for duration_s;
* `flicker`: the whole picture alternately brighter and darker by `amplitude` luma levels, frame by frame;
* `bars`: letterbox (`orientation="letterbox"`, the default) or pillarbox black bars covering `fraction` of the
  height (width) in total, half on each side;
* `cut`: a hard cut at start_s to a different-looking scene for the rest of the clip;
* `silence`: the soundtrack muted from start_s for duration_s (clips with audio only).

Inside a black, freeze or bars window the moving overlays (shapes, progress bar, text band) are off or
covered: they would otherwise defeat the very detection the defect is there to test.

Two "near-miss" looks are clean clips that sit close to a threshold: `dark_scene` (a night-dark picture with a
few highlights, which is not black) and `slow_pan` (a textured picture drifting one pixel per frame, which is
not frozen). They go through the same fault with `defect="dark_scene"` or `defect="slow_pan"`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFECT_KINDS = ("black", "freeze", "flicker", "bars", "cut", "silence")
LOOKS = ("dark_scene", "slow_pan")
ALL_KINDS = DEFECT_KINDS + LOOKS
BAR_ORIENTATIONS = ("letterbox", "pillarbox")


@dataclass(frozen=True)
class Defect:
    kind: str
    start_s: float = 0.0
    duration_s: float = 1.0
    amplitude: float = 24.0  # flicker: luma levels up and down
    fraction: float = 0.25  # bars: share of the height (letterbox) or width (pillarbox), both bars together
    orientation: str = "letterbox"

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Defect:
        check_params(params)
        return cls(kind=params["defect"], start_s=float(params.get("start_s", 0.0)),
                   duration_s=float(params.get("duration_s", 1.0)), amplitude=float(params.get("amplitude", 24.0)),
                   fraction=float(params.get("fraction", 0.25)),
                   orientation=str(params.get("orientation", "letterbox")))

    def key(self) -> str:
        return (f"{self.kind}:{self.start_s:g}:{self.duration_s:g}:{self.amplitude:g}:{self.fraction:g}:"
                f"{self.orientation}")

    def covers(self, i: int, fps: int) -> bool:
        """Frame i lies inside the defect's window (a cut lasts to the end)."""
        first = round(self.start_s * fps)
        if self.kind == "cut":
            return i >= first
        return first <= i < first + round(self.duration_s * fps)


def check_params(params: dict[str, Any]) -> None:
    """Refuse a defect that could not be rendered, naming the field and what is allowed."""
    kind = params.get("defect")
    if kind not in ALL_KINDS:
        raise ValueError(f"defect: {kind!r} not allowed; allowed: {', '.join(ALL_KINDS)}")
    for name, low in (("start_s", 0.0), ("duration_s", 0.0), ("amplitude", 0.0)):
        value = params.get(name, 1.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < low:
            raise ValueError(f"{name} must be a finite number >= {low:g}, got {value!r}")
    fraction = params.get("fraction", 0.25)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise ValueError(f"fraction must be a number in (0, 1), got {fraction!r}")
    if params.get("orientation", "letterbox") not in BAR_ORIENTATIONS:
        raise ValueError(f"orientation: {params.get('orientation')!r} not allowed; allowed: "
                         f"{', '.join(BAR_ORIENTATIONS)}")


def source_frame(defect: Defect | None, i: int, fps: int) -> int:
    """Which frame of the clean clip frame i shows: a freeze keeps showing its first frame."""
    if defect is not None and defect.kind == "freeze" and defect.covers(i, fps):
        return round(defect.start_s * fps)
    return i


def time_factor(defect: Defect | None) -> float:
    """How fast the overlays move: a slow pan slows everything down, not just the background."""
    return 0.1 if defect is not None and defect.kind == "slow_pan" else 1.0


def base_planes(defect: Defect | None, base_y: np.ndarray, i: int) -> np.ndarray:
    """The background luma for frame i: `slow_pan` slides a texture one pixel per frame."""
    if defect is None or defect.kind != "slow_pan":
        return base_y
    h, w = base_y.shape
    texture = _pan_texture(h, w)
    offset = i % (texture.shape[1] - w)
    return texture[:, offset:offset + w]


_TEXTURES: dict[tuple[int, int], np.ndarray] = {}


def _pan_texture(h: int, w: int) -> np.ndarray:
    """Smooth blotches (box-blurred noise), twice the frame's width, the same every time."""
    if (h, w) not in _TEXTURES:
        rng = np.random.default_rng(7)
        coarse = rng.uniform(60, 170, size=(h // 16 + 2, (2 * w) // 16 + 2)).astype(np.float32)
        fine = np.repeat(np.repeat(coarse, 16, axis=0), 16, axis=1)[:h, :2 * w]
        kernel = np.ones(15, dtype=np.float32) / 15
        for axis in (0, 1):
            fine = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), axis, fine)
        _TEXTURES[(h, w)] = np.clip(fine, 16, 235).astype(np.uint8)
    return _TEXTURES[(h, w)]


def paint(defect: Defect | None, buf: np.ndarray, width: int, height: int, i: int, fps: int) -> None:
    """Change the composed yuv420p frame in place for frame i."""
    if defect is None:
        return
    y_plane = buf[:height]
    uv = buf[height:].reshape(2, height // 2, width // 2)
    if defect.kind == "dark_scene":
        # Night: a dim picture (mean ~35) whose highlights stay above black, so it is dark but not black.
        np.multiply(y_plane, 0.3, out=y_plane, casting="unsafe")
        np.add(y_plane, 18, out=y_plane, casting="unsafe")
        return
    if not defect.covers(i, fps):
        return
    if defect.kind == "black":
        y_plane[:] = 16
        uv[:] = 128
    elif defect.kind == "flicker":
        shift = defect.amplitude if i % 2 else -defect.amplitude
        y_plane[:] = np.clip(y_plane.astype(np.int16) + int(shift), 16, 235).astype(np.uint8)
    elif defect.kind == "bars":
        _bars(defect, y_plane, uv, width, height)
    elif defect.kind == "cut":
        # Another shot: the picture's luma inverted and its colours swapped.
        np.subtract(251, y_plane, out=y_plane)
        uv[:] = uv[::-1].copy()


def _bars(defect: Defect, y_plane: np.ndarray, uv: np.ndarray, width: int, height: int) -> None:
    if defect.orientation == "letterbox":
        bar = round(height * defect.fraction / 4) * 2  # even, so the chroma rows line up
        y_plane[:bar] = 16
        y_plane[height - bar:] = 16
        uv[:, :bar // 2] = 128
        uv[:, (height - bar) // 2:] = 128
    else:
        bar = round(width * defect.fraction / 4) * 2
        y_plane[:, :bar] = 16
        y_plane[:, width - bar:] = 16
        uv[:, :, :bar // 2] = 128
        uv[:, :, (width - bar) // 2:] = 128


def mute(defect: Defect | None, samples: np.ndarray, rate: int) -> np.ndarray:
    """The soundtrack with the silence window zeroed."""
    if defect is None or defect.kind != "silence":
        return samples
    out = samples.copy()
    first = round(defect.start_s * rate)
    out[first:first + round(defect.duration_s * rate)] = 0.0
    return out
