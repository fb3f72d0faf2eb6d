"""The recipe form: prompt, negative prompt, first/last frame, duration, ratio, seed, takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import draft_state
from components.image_inputs import render_image_input
from components.model_defaults import DEFAULT_MODELS
from jobs import form_rules
from providers import images
from providers.catalog import Catalog
from providers.errors import ValidationError
from providers.recipe import ImageInput, Recipe

PREVIEW_SIZES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960), "4:3": (960, 720),
                 "3:4": (720, 960), "3:2": (1080, 720), "2:3": (720, 1080)}


@dataclass(frozen=True)
class RecipeInput:
    recipe: Recipe
    takes: int
    image_fit: str
    errors: dict[str, str]
    """Form-level errors by field (e.g. an upload that is not an image)."""


NUMBER_FIELDS = ("duration", "seed", "takes")
FIELD_LABELS = {"duration": "Duration", "seed": "Seed", "takes": "Takes per model", "first_frame": "First frame",
                "last_frame": "Last frame"}


def _field_error(col: Any, field: str, message: str | None, errors: dict[str, str]) -> None:
    """The range message right under its field; the form's errors keep Generate disabled."""
    if message:
        errors[field] = message
        col.error(message, icon=":material/error:")


def _ratios(catalog: Catalog) -> list[str]:
    seen: dict[str, None] = {}
    for spec in catalog.models():
        for ratio in spec.ratio_map():
            seen.setdefault(ratio, None)
    return list(seen)


def _preview(img: ImageInput, ratio: str | None, fit: str) -> None:
    w, h = PREVIEW_SIZES.get(ratio or "16:9", (1280, 720))
    try:
        fitted = images.fit_image(img.data or b"", w, h, mode=fit)
    except ValidationError as e:
        st.error(e.message)
        return
    st.image(fitted, caption=f"Fitted to {w}x{h} ({fit}) — what ratio-exact models receive", width=240)


def render_recipe_form(catalog: Catalog) -> RecipeInput:
    """Every value is kept in the draft (components/draft_state.py): none is lost on a page switch or a reload."""
    errors: dict[str, str] = {}
    bind = draft_state.bind
    prompt = st.text_area("Prompt", height=110, placeholder="A paper airplane glides across a sunlit desk, "
                          "slow dolly-in", **bind("prompt", ""))
    negative = st.text_input("Negative prompt", **bind("negative_prompt", ""),
                             help="Only Kling has a negative prompt; other models drop it (see each card).")
    c1, c2, c3, c4 = st.columns(4)
    # No bounds on these widgets: a bounded widget silently keeps its old value when 999 is typed. Python decides.
    duration_rule = form_rules.duration_rule(catalog)
    duration = c1.number_input("Duration (s)", value=None, step=1, placeholder="model default",
                               help=f"{duration_rule.low} to {duration_rule.high} s; each card says which lengths "
                                    "its model takes.", **bind("duration", None, load=_whole))
    _field_error(c1, "duration", duration_rule.check(duration), errors)
    ratios = _ratios(catalog)
    ratio = c2.selectbox("Aspect ratio", ratios, **bind("aspect_ratio", ratios[0], allowed=ratios))
    random_seed = c3.checkbox("Random seed", **bind("seed_random", True))
    seed_value = None if random_seed else c3.number_input("Seed", step=1, **bind("seed", 42, load=_whole))
    _field_error(c3, "seed", form_rules.SEED.check(seed_value), errors)
    takes_value = c4.number_input("Takes per model", step=1, **bind("takes", 1, load=_whole),
                                  help=f"1 to {form_rules.MAX_TAKES} takes of each switched-on model.")
    _field_error(c4, "takes", form_rules.TAKES.check(takes_value), errors)
    duration = None if "duration" in errors else duration
    seed = None if seed_value is None or "seed" in errors else int(seed_value)
    takes = int(takes_value) if takes_value is not None and "takes" not in errors else 1
    kept = any(draft_state.value(f) for f in ("first_frame", "first_frame_url", "last_frame", "last_frame_url"))
    # Models that take files only get a typed URL fetched by the app; only fetch when one of them is switched on.
    needs_file = any(not s.images.urls and st.session_state.get(f"use:{s.id}", draft_state.value(
        f"use:{s.id}", s.id in DEFAULT_MODELS)) for s in catalog.models() if s.availability.available)
    with st.expander("Images (first / last frame)", expanded=kept):
        fit = st.radio("Fit to the target size", ["crop", "pad"], horizontal=True,
                       **bind("image_fit", "crop", allowed=["crop", "pad"]),
                       help="Sora needs an image of exactly the clip's size; Kling image-to-video ignores the "
                            "ratio and follows the image. Centre-crop or pad decides what they receive.")
        i1, i2 = st.columns(2)
        with i1:
            first = render_image_input("First frame", "first_frame", errors, needs_file=needs_file)
            if first:
                _preview(first, ratio, fit)
        with i2:
            last = render_image_input("Last frame", "last_frame", errors, needs_file=needs_file)
            if last:
                _preview(last, ratio, fit)
    recipe = Recipe(prompt=prompt or "", negative_prompt=negative or "", first_frame=first, last_frame=last,
                    duration_s=int(duration) if duration else None, aspect_ratio=ratio, seed=seed)
    return RecipeInput(recipe=recipe, takes=takes, image_fit=fit, errors=errors)


def _whole(value: object) -> int | None:
    """A stored number as the int the widget expects (JSON may hand back 5.0)."""
    if value is None:
        return None
    try:
        return int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
