"""The canonical, model-independent request a user writes once and sends to many models."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImageInput:
    """An image given as bytes (an upload) or as a URL the user typed."""

    data: bytes | None = None
    mime: str | None = None
    """image/png, image/jpeg or image/webp; sniffed from the bytes, never trusted from the client."""
    url: str | None = None
    name: str = "image"

    @property
    def sha256(self) -> str:
        payload = self.data if self.data is not None else (self.url or "").encode()
        return hashlib.sha256(payload).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_b64": base64.b64encode(self.data).decode() if self.data is not None else None,
            "mime": self.mime,
            "url": self.url,
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageInput:
        raw = d.get("data_b64")
        return cls(
            data=base64.b64decode(raw) if raw else None,
            mime=d.get("mime"),
            url=d.get("url"),
            name=d.get("name") or "image",
        )


@dataclass(frozen=True)
class Recipe:
    """Prompt, images, duration, ratio, seed: what the user asked for, before any model's dialect."""

    prompt: str
    negative_prompt: str = ""
    first_frame: ImageInput | None = None
    last_frame: ImageInput | None = None
    duration_s: int | None = None
    """None: the model's default."""
    aspect_ratio: str | None = None
    """"16:9", "9:16", "1:1", ... None: the model's default."""
    seed: int | None = None
    """None: random."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "first_frame": self.first_frame.to_dict() if self.first_frame else None,
            "last_frame": self.last_frame.to_dict() if self.last_frame else None,
            "duration_s": self.duration_s,
            "aspect_ratio": self.aspect_ratio,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        return cls(
            prompt=d.get("prompt", ""),
            negative_prompt=d.get("negative_prompt") or "",
            first_frame=ImageInput.from_dict(d["first_frame"]) if d.get("first_frame") else None,
            last_frame=ImageInput.from_dict(d["last_frame"]) if d.get("last_frame") else None,
            duration_s=d.get("duration_s"),
            aspect_ratio=d.get("aspect_ratio"),
            seed=d.get("seed"),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


@dataclass(frozen=True)
class ModelOptions:
    """Per-model extras a recipe cannot express: Kling mode, cfg_scale, camera control, watermark..."""

    values: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, **kwargs: Any) -> ModelOptions:
        return cls(tuple(sorted((k, _freeze(v)) for k, v in kwargs.items() if v is not None)))

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ModelOptions:
        return cls.of(**(d or {}))

    def to_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.values}

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("__list__", tuple(_freeze(x) for x in v))
    return v


def _thaw(v: Any) -> Any:
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "__list__":
        return [_thaw(x) for x in v[1]]
    if isinstance(v, tuple):
        return {k: _thaw(x) for k, x in v}
    return v
