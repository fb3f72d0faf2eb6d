"""What the mapping hands a family adapter to build its submit request: the recipe already checked and converted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from providers.catalog import ModelSpec
from providers.submission import WireFile


@dataclass(frozen=True)
class WireParts:
    spec: ModelSpec
    route_submit: str
    kind: str
    """t2v, i2v or flf."""
    prompt: str
    negative_prompt: str
    duration: int
    wire_size: str | None
    """The model's spelling of the frame (size or ratio); None when the family does not send one."""
    mode: str | None
    images: dict[str, str] = field(default_factory=dict)
    """first_frame / last_frame, already encoded as the family takes them (a URL, Base64, a data URI)."""
    files: tuple[WireFile, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    """Checked optional parameters (seed, cfg_scale, camera_control, watermark)."""
    request_id: str | None = None
    request_id_field: str | None = None
    """The body field the catalog names for our own id (the one a lookup can query by)."""
