"""From a clip's measures to flags: each rule states its threshold, says in one line what a viewer would see, and
gives the time range so the player can seek there. Flags are warnings, never a score.

Thresholds were set on sandbox clips and their near misses (tests/jobs/test_clip_checks.py): a dark night
scene (mean luma ~43, frame differences down to 0.09) must not read as black or frozen, a slow one-pixel pan
must not read as frozen, and FFmpeg's `testsrc2` must raise nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from jobs.checks.measure import DARK_PIXEL, SILENCE_DB, SILENCE_MIN_S, AudioMeasures, ClipMeasures, VideoMeasures

BLACK_SHARE = 0.98  # FFmpeg blackdetect's picture ratio: a frame is black when 98 % of it is at or below DARK_PIXEL
BLACK_MIN_S = 0.1
FREEZE_CHANGE = 0.03
"""A frame repeats the one before when the mean |luma change| in every cell of an 8x8 grid is below 3 % of the
picture's contrast (luma standard deviation): 0.7 levels on a typical picture, less on a dim one, whose real
motion is small in levels. Per cell, so one small thing moving in a still scene is not a freeze."""
SETTLE_CHANGE = 0.05  # just before a freeze, up to SETTLE_FRAMES frames this close to still join it
SETTLE_FRAMES = 4
FREEZE_MIN_S = 0.5
FLICKER_DIFF = 6.0  # mean brightness jumping by this many levels frame to frame, alternately up and down
FLICKER_MIN_S = 0.25
BAR_SHARE = 0.03  # a black band on both sides, each at least 3 % of the height (letterbox) or width (pillarbox)
BAR_MIN_S = 0.5
CUT_DIFF = 12.0  # a single frame change this large ...
CUT_RATIO = 6.0  # ... and this many times the typical change around it (±0.5 s)
STATIC_MOTION = 0.008  # median frame change / picture contrast below this: the picture barely moves
CHAOTIC_MOTION = 0.35  # ... above this: the picture changes almost entirely every frame (noise, strobing)
QUIET_LUFS = -40.0  # EBU R128 integrated loudness; streaming platforms aim near -14, broadcast at -23
LOUD_LUFS = -8.0
SILENT_TRACK_SHARE = 0.9


@dataclass(frozen=True)
class Flag:
    kind: str  # black, freeze, flicker, bars, cut, static, chaotic, no_audio, silent_track, silence, quiet, loud
    start_s: float
    end_s: float
    message: str  # one plain line: what a viewer would see, and where
    threshold: str  # the rule that fired, stated

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["start_s"], out["end_s"] = round(self.start_s, 2), round(self.end_s, 2)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Flag:
        return cls(str(data["kind"]), float(data["start_s"]), float(data["end_s"]), str(data["message"]),
                   str(data.get("threshold", "")))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last exclusive) index of each run of True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _span(v: VideoMeasures, first: int, last: int) -> tuple[float, float]:
    end = v.times[last] if last < len(v.times) else v.times[-1] + 1.0 / v.fps
    return float(v.times[first]), float(end)


def _fmt(start: float, end: float) -> str:
    return f"{start:.1f}–{end:.1f} s"


def video_flags(v: VideoMeasures) -> list[Flag]:
    if len(v.times) < 2:
        return []
    min_frames = {name: max(1, round(s * v.fps)) for name, s in
                  (("black", BLACK_MIN_S), ("freeze", FREEZE_MIN_S), ("flicker", FLICKER_MIN_S), ("bars", BAR_MIN_S))}
    flags: list[Flag] = []
    black = v.dark_share >= BLACK_SHARE
    for first, last in _runs(black):
        if last - first >= min_frames["black"]:
            start, end = _span(v, first, last)
            flags.append(Flag("black", start, end, f"Black picture {_fmt(start, end)}.",
                              f"{BLACK_SHARE:.0%} of the frame at or below luma {DARK_PIXEL}, ≥ {BLACK_MIN_S:g} s"))
    # A frame is frozen when it repeats the one before; black stretches are reported as black, not frozen.
    change = v.block_diff / np.maximum(v.contrast, 1.0)
    still = (change <= FREEZE_CHANGE) & ~black
    still[0] = False
    frozen = np.zeros_like(still)
    for first, last in _runs(still):
        if last - first >= min_frames["freeze"]:
            # The encoder takes a few frames to settle on a repeated picture: those belong to the freeze.
            settle = 0
            while settle < SETTLE_FRAMES and first > 1 and change[first - 1] <= SETTLE_CHANGE:
                first, settle = first - 1, settle + 1
            frozen[first - 1:last] = True
            start, end = _span(v, first - 1, last)
            flags.append(Flag("freeze", start, end, f"The picture freezes {_fmt(start, end)}.",
                              f"change in every cell ≤ {FREEZE_CHANGE:.0%} of the picture's contrast "
                              f"for ≥ {FREEZE_MIN_S:g} s"))
    flicker = np.zeros_like(still)
    for first, last in _runs(_flicker_mask(v)):
        if last - first >= min_frames["flicker"]:
            flicker[first:last] = True
            # the last big change is the step back to normal: the flicker ends on the frame before it
            start, end = _span(v, first, last - 1)
            jump = float(np.median(np.abs(np.diff(v.mean_luma[first - 1:last]))))
            flags.append(Flag("flicker", start, end,
                              f"Brightness flickers {_fmt(start, end)} (jumps of ~{jump:.0f} levels frame to frame).",
                              f"mean brightness jumps ≥ {FLICKER_DIFF:g} levels, alternating brighter/darker, "
                              f"≥ {FLICKER_MIN_S:g} s"))
    flags += _bar_flags(v, black, min_frames["bars"])
    edges = [t for f in flags for t in (f.start_s, f.end_s)]
    flags += _cut_flags(v, edges, flicker)
    flags += _motion_flags(v, black | frozen)
    return flags


def _flicker_mask(v: VideoMeasures) -> np.ndarray:
    # The whole picture's brightness, not the per-pixel difference: noise changes every pixel but not the mean.
    step = np.diff(v.mean_luma, prepend=v.mean_luma[0])
    big = np.abs(step) >= FLICKER_DIFF
    alternating = np.sign(step) * np.sign(np.roll(step, 1)) < 0
    alternating[0] = False
    mask = big & (alternating | np.roll(alternating, -1))
    return mask


def _bar_flags(v: VideoMeasures, black: np.ndarray, min_frames: int) -> list[Flag]:
    flags: list[Flag] = []
    for kind, a, b, size in (("letterbox", v.bar_top, v.bar_bottom, v.height),
                             ("pillarbox", v.bar_left, v.bar_right, v.width)):
        banded = (np.minimum(a, b) >= BAR_SHARE * size) & ~black
        for first, last in _runs(banded):
            if last - first < min_frames:
                continue
            start, end = _span(v, first, last)
            px = int(np.median(np.minimum(a[first:last], b[first:last])))
            where = "throughout" if first == 0 and last == len(v.times) else _fmt(start, end)
            sides = "top and bottom" if kind == "letterbox" else "left and right"
            flags.append(Flag("bars", start, end, f"Black {kind} bars (~{px} px {sides}) {where}.",
                              f"black bands ≥ {BAR_SHARE:.0%} of the frame on both sides for ≥ {BAR_MIN_S:g} s"))
    return flags


def _cut_flags(v: VideoMeasures, edges: list[float], flicker: np.ndarray) -> list[Flag]:
    window = max(2, round(0.5 * v.fps))
    flags: list[Flag] = []
    for i in np.flatnonzero(v.diff >= CUT_DIFF).tolist():
        if i == 0 or flicker[i] or any(abs(v.times[i] - t) <= 2.0 / v.fps for t in edges):
            continue  # the start or end of a black, frozen or barred stretch is reported there, not as a cut
        around = np.concatenate((v.diff[max(1, i - window):i], v.diff[i + 1:i + 1 + window]))
        if len(around) and v.diff[i] >= CUT_RATIO * max(float(np.median(around)), 0.5):
            t = float(v.times[i])
            flags.append(Flag("cut", t, t + 1.0 / v.fps, f"Hard cut at {t:.1f} s: the shot changes in one frame.",
                              f"one frame change ≥ {CUT_DIFF:g} levels and ≥ {CUT_RATIO:g}× the changes around it"))
    return flags


def _motion_flags(v: VideoMeasures, still: np.ndarray) -> list[Flag]:
    moving = ~still
    moving[0] = False
    if moving.sum() < max(2, len(moving) // 2):
        return []  # mostly black or frozen: those flags already say it
    contrast = max(float(np.median(v.contrast[moving])), 1.0)
    level = float(np.median(v.diff[moving])) / contrast
    start, end = float(v.times[0]), float(v.times[-1] + 1.0 / v.fps)
    if level < STATIC_MOTION:
        return [Flag("static", start, end, "The picture barely moves over the whole clip.",
                     f"median frame change < {STATIC_MOTION:g} × picture contrast")]
    if level > CHAOTIC_MOTION:
        return [Flag("chaotic", start, end, "The picture changes almost entirely every frame (noise or strobing).",
                     f"median frame change > {CHAOTIC_MOTION:g} × picture contrast")]
    return []


def audio_flags(a: AudioMeasures, expects_audio: bool) -> list[Flag]:
    if not a.present:
        if expects_audio:
            return [Flag("no_audio", 0.0, 0.0, "No soundtrack, though this model and request promise audio.",
                         "an audio stream, when the model or request includes audio")]
        return []
    silent = sum(end - start for start, end in a.silences)
    if a.duration_s > 0 and silent >= SILENT_TRACK_SHARE * a.duration_s:
        return [Flag("silent_track", 0.0, a.duration_s, "The soundtrack is silent.",
                     f"silence (below {SILENCE_DB} dB) over ≥ {SILENT_TRACK_SHARE:.0%} of it")]
    flags = [Flag("silence", start, end, f"Sound drops out {_fmt(start, end)}.",
                  f"below {SILENCE_DB} dB for ≥ {SILENCE_MIN_S:g} s") for start, end in a.silences]
    if a.integrated_lufs is not None and a.integrated_lufs < QUIET_LUFS:
        flags.append(Flag("quiet", 0.0, a.duration_s, f"Very quiet soundtrack ({a.integrated_lufs:.0f} LUFS).",
                          f"EBU R128 integrated loudness < {QUIET_LUFS:g} LUFS"))
    if a.integrated_lufs is not None and a.integrated_lufs > LOUD_LUFS:
        flags.append(Flag("loud", 0.0, a.duration_s, f"Very loud soundtrack ({a.integrated_lufs:.0f} LUFS).",
                          f"EBU R128 integrated loudness > {LOUD_LUFS:g} LUFS"))
    return flags


def clip_flags(m: ClipMeasures, expects_audio: bool) -> list[Flag]:
    return sorted(video_flags(m.video) + audio_flags(m.audio, expects_audio), key=lambda f: (f.start_s, f.kind))
