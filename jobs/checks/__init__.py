"""Technical checks on a downloaded clip (black frames, freezes, flicker, bars, cuts, motion, sound): no model
weights, one decode. `check_clip(path, expects_audio)` returns the flags; thresholds live in `rules`."""

from __future__ import annotations

from pathlib import Path

from jobs.checks.measure import measure
from jobs.checks.rules import Flag, clip_flags

__all__ = ["Flag", "check_clip"]


def check_clip(path: Path, expects_audio: bool = False) -> list[Flag]:
    return clip_flags(measure(path), expects_audio)
