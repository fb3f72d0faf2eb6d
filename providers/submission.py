"""A recipe mapped onto one model: the exact wire request, what changed, and what it costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from providers.recipe import ModelOptions, Recipe


@dataclass(frozen=True)
class WireFile:
    field: str
    """Form field name, e.g. "input_reference" (repeatable)."""
    filename: str
    content: bytes
    mime: str


@dataclass(frozen=True)
class WireRequest:
    """Exactly what goes over the wire, minus the Authorization header (added by the client)."""

    method: str
    path: str
    """Relative to the base URL, e.g. "/v1/videos"."""
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    """multipart text fields (Veo / Sora)."""
    files: tuple[WireFile, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)


class MappingAction(StrEnum):
    SENT = "sent"
    """sent as-is"""
    CONVERTED = "converted"
    """same meaning, other spelling: 16:9 -> 1280:720"""
    APPROXIMATED = "approximated"
    """nearest allowed value: 7 s -> 8 s"""
    DROPPED = "dropped"
    """the model has no such parameter: negative prompt for Runway"""
    DEFAULTED = "defaulted"
    """not given; the model's default is sent or assumed"""


@dataclass(frozen=True)
class MappingLine:
    field: str
    action: MappingAction
    requested: Any
    sent: Any
    note: str = ""


@dataclass(frozen=True)
class CostEstimate:
    low_usd: float
    high_usd: float
    exact: bool
    rule: str
    """Human-readable rule, e.g. "$0.08/s x 8 s"."""
    source: str
    as_of: str
    priced: bool = True
    """False for a model with no known price: the figures are 0 and a live run is refused."""

    @property
    def display(self) -> str:
        if not self.priced:
            return "no price"
        if self.exact or abs(self.high_usd - self.low_usd) < 1e-9:
            return f"${self.high_usd:.2f}"
        return f"${self.low_usd:.2f}–${self.high_usd:.2f}"


@dataclass(frozen=True)
class Submission:
    """One model's take on a recipe, ready to send."""

    model_id: str
    family: str
    """A catalog family name ("veo", "kling", "seedance", "kling_extend", ...): picks the parsers."""
    recipe: Recipe
    options: ModelOptions
    request: WireRequest
    poll_path_template: str
    """e.g. "/v1/videos/{task_id}", "/kling/v1/videos/image2video/{task_id}"."""
    content_path_template: str | None
    """"/v1/videos/{task_id}/content" where the family has one."""
    report: tuple[MappingLine, ...]
    cost: CostEstimate
    requested_duration_s: float
    requested_size: tuple[int, int] | None
    """Expected width x height of the clip, to compare with the probed file."""
    has_audio: bool
    callback: bool = False
    """The route documents `callback_url` (catalog `"callback": true`); a worker with a public URL adds one."""
