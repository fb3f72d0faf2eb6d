"""The poll-efficiency workload: which models, how long each renders, the recipes and the one clip served.

Shared by bench/poll_efficiency.py (real sockets) and bench/schedule_model.py (the pure schedule), so both
measure the same tasks.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from providers.catalog import Catalog, ModelSpec, load_catalog
from providers.recipe import ImageInput, Recipe

API_KEY = "sk-sandbox"
TUTORIAL_INTERVAL_S = {"runway": 5.0}
TUTORIAL_DEFAULT_INTERVAL_S = 10.0
FASTEST_RENDER_SHARE = 0.25
"""No simulated render is faster than this share of the model's catalog p50."""

FAMILIES_OF_TODAY = ("veo", "sora", "kling", "runway")
"""The bench's workload: families added later don't move its figures (compare runs across versions)."""
RENDER_CAP_SHARE = 0.9
"""Long-tailed draws are capped at this share of the model's deadline, so no task is lost to `stale`."""

TARGET_REQUEST_RATIO = 0.7
TARGET_P95_RATIO = 0.6
MAX_TUTORIAL_DRIFT = 1.1
"""A tutorial whose median poll gap exceeds its written interval by more than 10 % is a starved baseline."""



def bench_catalog() -> Catalog:
    """Every model switched on: the sandbox renders the ones live CometAPI has retired too."""
    base = load_catalog()
    return load_catalog(overrides={m.id: {"available": True} for m in base.models()})


def render_ranges(catalog: Catalog) -> dict[str, tuple[float, float]]:
    """Per model, a uniform range whose median is the catalog's p50, as wide as it can be without a render faster
    than FASTEST_RENDER_SHARE of p50 (the sandbox draws uniformly; the priors' long p90 tail is left out)."""
    ranges = {}
    for spec in catalog.models():
        p50, p90 = spec.render.p50_s, spec.render.p90_s
        lo = max(FASTEST_RENDER_SHARE * p50, p50 - (p90 - p50))
        ranges[spec.id] = (lo, 2 * p50 - lo)
    return ranges


def render_priors(catalog: Catalog) -> dict[str, tuple[float, float]]:
    """Per model, the catalog's (p50, p90) for `--renders tail`: a log-normal through both, with its long tail."""
    return {spec.id: (spec.render.p50_s, spec.render.p90_s) for spec in catalog.models()}


def render_caps(catalog: Catalog) -> dict[str, float]:
    """Per model, the longest render the sandbox may draw: below the deadline, so nothing goes stale."""
    return {spec.id: RENDER_CAP_SHARE * spec.render.deadline_s for spec in catalog.models()}


def plan_workload(catalog: Catalog, tasks: int, families: Sequence[str] = FAMILIES_OF_TODAY) -> list[ModelSpec]:
    """`tasks` takes spread round-robin across the models of `families`, so every family is in every run."""
    models = sorted((m for m in catalog.models() if m.family in families), key=lambda m: (m.family, m.id))
    return [models[i % len(models)] for i in range(tasks)]


def tiny_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1280, 720), (90, 120, 160)).save(buf, format="PNG")
    return buf.getvalue()


def recipe_for(spec: ModelSpec, image: ImageInput) -> Recipe:
    # Runway only does image-to-video; everything else gets the text-only recipe.
    first = image if "t2v" not in spec.modes else None
    return Recipe(prompt="A lighthouse at dusk, slow dolly in", first_frame=first, aspect_ratio="16:9")


def make_clip(path: Path, seconds: float = 2.0) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w", options={"movflags": "+faststart"}) as c:
        v = c.add_stream("libx264", rate=24)
        v.width, v.height, v.pix_fmt = 320, 180, "yuv420p"
        v.options = {"preset": "ultrafast"}
        for i in range(int(seconds * 24)):
            img = np.full((180, 320, 3), (i * 5) % 255, np.uint8)
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return path
