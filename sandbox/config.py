"""The sandbox's knobs (speed, response shapes, render times, URL lifetime), changeable while it runs."""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .curves import CURVES

FAMILIES = ("veo", "sora", "kling", "runway", "seedance", "grok", "kling_omni", "kling_extend")

SHAPES: dict[str, tuple[str, ...]] = {
    # current: Gen-B docs (completed + video_url); gen_a: tutorial (succeeded + output[0], 16x9 sizes, 8 s);
    # no_url: completed with metadata.url only; content_only: completed with no URL at all (use /content).
    "veo": ("current", "gen_a", "no_url", "content_only"),
    # current: Gen-B retrieve with video_url; content_only: the older CDOC sample without one.
    "sora": ("current", "content_only"),
    "kling": ("native",),
    # wrapped: new-api TaskDto (Gen-A, live-validated); bare: Runway's own task object (Gen-B).
    "runway": ("wrapped", "bare"),
    # Seedance: the video object with capital statuses (one documented shape).
    "seedance": ("current",),
    # bare: xAI's own object ({"request_id"} alone while queued); wrapped: CometAPI's envelope (reference §8).
    "grok": ("bare", "wrapped"),
    # Kling Omni's query: native Kling envelope, or CometAPI's wrapper (live-validated 2026-03-12).
    "kling_omni": ("native", "wrapped"),
    # Extend's poll route is undocumented: native answers it; no_poll_route answers 404 there.
    "kling_extend": ("native", "no_poll_route"),
}

_Z90 = 1.2815515655446004  # standard normal quantiles
_Z99 = 2.3263478740408408

DEFAULT_SHAPES = {"veo": "current", "sora": "current", "kling": "native", "runway": "wrapped", "seedance": "current",
                  "grok": "bare", "kling_omni": "native", "kling_extend": "native"}

# Runway's statuses for a task not yet running: PENDING, or THROTTLED while it waits for an account slot.
RUNWAY_QUEUE_STATUSES = ("PENDING", "THROTTLED")
LISTING_MODES = ("ok", "empty", "error", "malformed")

# Simulated seconds (lo, hi) drawn uniformly per task; looked up by model, then family, then "*";
# SandboxConfig.render_times overrides are consulted first, so {"*": (1, 2)} makes every model fast.
DEFAULT_RENDER_TIMES: dict[str, tuple[float, float]] = {
    "sora-2": (30, 90),
    "sora-2-pro": (45, 120),
    "veo3-fast": (40, 120),
    "veo3.1-fast": (40, 120),
    "veo3": (60, 180),
    "veo3-pro": (60, 180),
    "veo3.1": (60, 180),
    "kling": (60, 300),
    "runway": (20, 90),
    "seedance": (60, 180),  # "most jobs take 1-3 min" (CDOC seedance query)
    "grok": (10, 90),
    "kling_omni": (60, 300),
    "kling_extend": (60, 300),
    "*": (30, 120),
}


@dataclass
class SandboxConfig:
    """Settings of one sandbox instance. Fields other than data_dir may change at runtime."""

    api_key: str = "sk-sandbox"
    time_scale: float = 1.0  # real seconds per simulated second (0.01 = 100x faster)
    data_dir: Path = Path("data/sandbox")
    shapes: dict[str, str] = field(default_factory=dict)
    render_times: dict[str, tuple[float, float]] = field(default_factory=dict)
    queue_fraction: float = 0.2  # share of the render time spent queued before progress starts
    url_ttl_s: float = 3600.0  # lifetime of signed result URLs, in real seconds
    sora_id_style: str = "video"  # "video" → video_<32 hex>; "task" → task_<32 alnum>
    fps: int = 24
    prerendered_clip: Path | None = None  # serve this file for every download (benchmarks)
    public_base_url: str | None = None  # base of result URLs; default: the Host the client used
    seed: int | None = None
    render_lognormal: dict[str, tuple[float, float]] = field(default_factory=dict)
    """{model or family or "*": (p50, p90)} simulated seconds: a long-tailed draw through those two
    quantiles (capped at the 99th percentile), consulted before the uniform ranges."""
    render_cap_s: dict[str, float] = field(default_factory=dict)
    """{model or family or "*": seconds}: no render lasts longer (a benchmark keeps its long-tailed draws below
    the model's deadline, so no task is lost to `stale`)."""
    progress_curves: dict[str, str] = field(default_factory=dict)
    """{model or family or "*": curve}: how progress rises while rendering (sandbox/curves.py); linear by default."""
    runway_queue_status: str = "PENDING"  # Runway's status while queued: PENDING or THROTTLED
    listing_removed: list[str] = field(default_factory=list)
    """Model ids left out of the `/api/models` listing (to test that the app switches them off)."""
    listing_renamed: dict[str, str] = field(default_factory=dict)
    """{id: listed id}: a model listed under another spelling (to test alias matching)."""
    listing_mode: str = "ok"
    """ok | empty (no records) | error (HTTP 503) | malformed (not JSON)."""
    poll_after_ms: str | None = None
    """When set, every /v1/videos/{id} poll answer carries `openai-poll-after-ms: <value>`, sent verbatim
    (garbage such as "banana" included: that is what it is for)."""

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        merged = dict(DEFAULT_SHAPES)
        merged.update(self.shapes)
        self.shapes = merged
        # Only overrides live here; render_range() falls back to DEFAULT_RENDER_TIMES.
        self.render_times = {k: (float(v[0]), float(v[1])) for k, v in self.render_times.items()}
        self.render_lognormal = {k: (float(v[0]), float(v[1])) for k, v in self.render_lognormal.items()}
        if self.prerendered_clip is not None:
            self.prerendered_clip = Path(self.prerendered_clip)
        self.validate()

    def validate(self) -> None:
        for family, shape in self.shapes.items():
            if family not in SHAPES:
                raise ValueError(f"shapes: unknown family {family!r}; allowed: {', '.join(FAMILIES)}")
            if shape not in SHAPES[family]:
                raise ValueError(f"shapes[{family!r}]: {shape!r} not allowed; allowed: {', '.join(SHAPES[family])}")
        if self.time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale}")
        if self.sora_id_style not in ("video", "task"):
            raise ValueError(f"sora_id_style must be 'video' or 'task', got {self.sora_id_style!r}")
        for key, (lo, hi) in self.render_times.items():
            if lo < 0 or hi < lo:
                raise ValueError(f"render_times[{key!r}] must be 0 <= lo <= hi, got ({lo}, {hi})")
        if self.listing_mode not in LISTING_MODES:
            raise ValueError(f"listing_mode: {self.listing_mode!r} not allowed; allowed: {', '.join(LISTING_MODES)}")
        if self.runway_queue_status not in RUNWAY_QUEUE_STATUSES:
            raise ValueError(f"runway_queue_status: {self.runway_queue_status!r} not allowed; "
                             f"allowed: {', '.join(RUNWAY_QUEUE_STATUSES)}")
        if self.poll_after_ms is not None and (
                not isinstance(self.poll_after_ms, str) or not self.poll_after_ms.isprintable()
                or not self.poll_after_ms.isascii()):
            # Any printable text may go out (garbage is the point), but never a line break into the headers.
            raise ValueError(f"poll_after_ms must be printable ASCII text or null, got {self.poll_after_ms!r}")
        for key, (p50, p90) in self.render_lognormal.items():
            if p50 <= 0 or p90 < p50:
                raise ValueError(f"render_lognormal[{key!r}] must be 0 < p50 <= p90, got ({p50}, {p90})")
        for key, cap in self.render_cap_s.items():
            if not (isinstance(cap, int | float) and math.isfinite(cap) and cap > 0):
                raise ValueError(f"render_cap_s[{key!r}] must be a finite number > 0, got {cap!r}")
        for key, curve in self.progress_curves.items():
            if curve not in CURVES:
                raise ValueError(f"progress_curves[{key!r}]: {curve!r} not allowed; allowed: {', '.join(CURVES)}")

    def progress_curve(self, model: str, family: str) -> str:
        for key in (model, family, "*"):
            if key in self.progress_curves:
                return self.progress_curves[key]
        return "linear"

    def render_range(self, model: str, family: str) -> tuple[float, float]:
        """Overrides first (model, family, "*"), then the defaults in the same order."""
        for table in (self.render_times, DEFAULT_RENDER_TIMES):
            for key in (model, family, "*"):
                if key in table:
                    return table[key]
        return DEFAULT_RENDER_TIMES["*"]

    def draw_render_time(self, model: str, family: str, rng: random.Random) -> float:
        """Simulated seconds for one new task: long-tailed where configured, else uniform; at most the cap."""
        cap = next((self.render_cap_s[k] for k in (model, family, "*") if k in self.render_cap_s), math.inf)
        for key in (model, family, "*"):
            if key in self.render_lognormal:
                p50, p90 = self.render_lognormal[key]
                sigma = math.log(p90 / p50) / _Z90
                return min(cap, p50 * math.exp(sigma * min(_Z99, max(-_Z99, rng.gauss(0.0, 1.0)))))
        lo, hi = self.render_range(model, family)
        return min(cap, rng.uniform(lo, hi))

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["data_dir"] = str(self.data_dir)
        out["prerendered_clip"] = str(self.prerendered_clip) if self.prerendered_clip else None
        out["render_times"] = {k: list(v) for k, v in self.render_times.items()}
        out["render_lognormal"] = {k: list(v) for k, v in self.render_lognormal.items()}
        return out

    _RUNTIME = ("api_key", "time_scale", "shapes", "render_times", "render_lognormal", "render_cap_s",
                "progress_curves", "queue_fraction",
                "url_ttl_s", "sora_id_style", "fps", "prerendered_clip", "public_base_url", "seed",
                "runway_queue_status", "poll_after_ms", "listing_removed", "listing_renamed", "listing_mode")

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update (as from POST /_sandbox/config); shapes and render_times merge."""
        unknown = set(changes) - set(self._RUNTIME)
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}; changeable: {', '.join(self._RUNTIME)}")
        before = dataclasses.replace(self)
        try:
            for key, value in changes.items():
                if key == "shapes":
                    self.shapes = {**self.shapes, **value}
                elif key == "render_times":
                    parsed = {k: (float(v[0]), float(v[1])) for k, v in value.items()}
                    self.render_times = {**self.render_times, **parsed}
                elif key == "prerendered_clip":
                    self.prerendered_clip = Path(value) if value else None
                else:
                    setattr(self, key, value)
            self.validate()
        except (ValueError, TypeError, IndexError):
            for f in dataclasses.fields(self):
                setattr(self, f.name, getattr(before, f.name))
            raise
