"""Kling camera control: a preset, or one "simple" axis moved within -10..10 (reference §3 `camera_control`)."""

from __future__ import annotations

from typing import Any

CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
CAMERA_PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_TYPES = ("simple", *CAMERA_PRESETS)
CAMERA_LIMIT = 10.0


def _or(values: Any) -> str:
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def camera_wire(given: Any) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """The body's `camera_control`, or (None, (message, allowed)) naming the first problem."""
    if not isinstance(given, dict) or given.get("type") not in CAMERA_TYPES:
        return None, ("camera_control: unknown type", f"type {_or(CAMERA_TYPES)}")
    kind = given["type"]
    config = given.get("config")
    if kind != "simple":
        if config:
            return None, (f"camera_control: preset {kind} takes no config", "no config for presets")
        return {"type": kind}, None
    if not isinstance(config, dict) or set(config) - set(CAMERA_AXES):
        return None, ("camera_control: simple needs a config of axes", f"keys {_or(CAMERA_AXES)}")
    values: dict[str, float] = {}
    for axis in CAMERA_AXES:
        v = config.get(axis, 0)
        if isinstance(v, bool) or not isinstance(v, int | float) or not -CAMERA_LIMIT <= v <= CAMERA_LIMIT:
            return None, (f"camera_control {axis}={v!r}: out of range", "-10 to 10")
        values[axis] = float(v)
    moving = [a for a, v in values.items() if v != 0]
    if len(moving) != 1:
        return None, (f"camera_control: exactly one axis may be non-zero, got {len(moving)}"
                      + (f" ({', '.join(moving)})" if moving else ""), "one non-zero axis")
    return {"type": "simple", "config": values}, None
