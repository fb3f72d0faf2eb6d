"""One card per catalog model: a toggle, exactly the parameters that model has, and what it will receive.

Cards are generated from the catalog, so a model added to catalog.json gets its form for free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from components.draft_state import bind
from components.mapping_view import card_changes, render_mapping_buttons
from components.model_defaults import DEFAULT_MODELS
from components.rate_card import price_caption
from jobs.eta import EtaBook, describe
from jobs.runner import Runner
from providers.catalog import ModelSpec
from providers.client import Backend
from providers.errors import DailiesError, ValidationErrors
from providers.mapping import CAMERA_AXES, CAMERA_PRESETS, prepare
from providers.recipe import ModelOptions, Recipe
from providers.submission import Submission

CARDS_PER_ROW = 3


@dataclass(frozen=True)
class CardResult:
    spec: ModelSpec
    options: ModelOptions
    submission: Submission | None
    errors: dict[str, str]


def _options(spec: ModelSpec, image_fit: str) -> ModelOptions:
    """Widgets for exactly the parameters this model has; keys are "<model>:<option>"."""
    p, k = spec.params, spec.id
    values: dict[str, Any] = {}
    if p.mode is not None:
        values["mode"] = st.selectbox("Mode", p.mode.allowed, **bind(f"{k}:mode", p.mode.default,
                                                                     allowed=p.mode.allowed),
                                      help="std is cheaper and faster; pro renders finer detail.")
    if p.cfg_scale is not None:
        default = p.cfg_scale.default if p.cfg_scale.default is not None else 0.5
        values["cfg_scale"] = st.slider("cfg_scale (prompt adherence)", float(p.cfg_scale.min),
                                        float(p.cfg_scale.max), step=0.05, **bind(f"{k}:cfg_scale", float(default),
                                                                                  load=float))
    if p.camera_control is not None:
        cameras = ["none", "one axis", *CAMERA_PRESETS]
        camera = st.selectbox("Camera control", cameras, **bind(f"{k}:camera", "none", allowed=cameras),
                              help=f"Documented for {p.camera_control.describe(k)}.")
        if camera == "one axis":
            # One axis and one slider: two non-zero axes cannot be entered.
            a1, a2 = st.columns(2)
            axis = a1.selectbox("Axis", CAMERA_AXES, **bind(f"{k}:camera_axis", CAMERA_AXES[0],
                                                            allowed=CAMERA_AXES))
            amount = a2.slider("Amount", -10.0, 10.0, step=0.5, **bind(f"{k}:camera_amount", 5.0, load=float))
            values["camera_control"] = {"type": "simple", "config": {axis: amount}}
        elif camera != "none":
            values["camera_control"] = {"type": camera}
    if spec.size_option:
        sizes = list(dict(spec.sizes))
        size_options = ["from aspect ratio", *sizes]
        values["size"] = st.selectbox("Size", size_options, **bind(f"{k}:size", size_options[0],
                                                                   allowed=size_options))
        if values["size"] == "from aspect ratio":
            values.pop("size")
    if p.resolution is not None:
        picked = st.selectbox("Resolution", ["provider default", *p.resolution.allowed], key=f"{k}:resolution",
                              help="Sent apart from the aspect ratio; with none picked, the provider chooses.")
        if picked != "provider default":
            values["resolution"] = picked
    if p.watermark:
        values["watermark"] = st.checkbox("Watermark", **bind(f"{k}:watermark", False))
    if spec.images.fit_to_size:
        values["image_fit"] = image_fit
    return ModelOptions.from_dict(values)


def _eta_text(eta: EtaBook, spec: ModelSpec, options: ModelOptions, backend: Backend) -> str:
    """p50/p90 render time for this model and mode, from this deployment's history, else the catalog."""
    scale = backend.time_scale if backend.sandbox else 1.0
    return "Expected wait " + describe(eta.render_time(spec.id, options.get("mode")), time_scale=scale)


def _card(spec: ModelSpec, recipe: Recipe, image_fit: str, runner: Runner, eta: EtaBook,
          backend: Backend) -> CardResult | None:
    available = spec.availability.available
    toggle = bind(f"use:{spec.id}", spec.id in DEFAULT_MODELS)
    if not available:  # a model switched off in the catalog stays off, whatever the draft says
        st.session_state[toggle["key"]] = False
    on = st.toggle(spec.display_name, disabled=not available, **toggle,
                   help=None if available else f"Unavailable: {spec.availability.reason} ({spec.availability.since})")
    st.caption(f"`{spec.id}` · {spec.family.replace('_', ' ').title()}" + (" · sound" if spec.audio else ""))
    if not available:
        st.caption(f":orange[Off — {spec.availability.reason}]")
        return None
    if spec.card_note:
        st.caption(spec.card_note)
    if not spec.price.known:
        st.caption(":orange[No known price: sandbox runs only. A live run needs a price in the rate card "
                   "(Settings) first — the budget cannot guard what it cannot price.]")
    if not on:
        return None
    with st.expander("Parameters", expanded=False):
        options = _options(spec, image_fit)
    errors: dict[str, str] = {}
    sub: Submission | None = None
    try:
        sub = prepare(recipe, spec.id, options, runner.catalog)
    except ValidationErrors as e:
        errors = e.by_field()
    except DailiesError as e:
        errors = {"model": e.message}
    if not recipe.prompt.strip():
        # One hint above the cards says "write a prompt"; repeating it on every card is noise.
        errors.pop("prompt", None)
    if errors:
        for message in errors.values():
            st.error(message, icon=":material/error:")
    if sub is None and not errors:
        errors = {"prompt": "prompt: write a prompt first"}
    if sub is not None:
        st.markdown(f"**{sub.cost.display}** · {_eta_text(eta, spec, options, backend)}")
        st.caption(price_caption(sub.cost))
        changes = card_changes(sub, spec)
        if changes:
            st.markdown(":orange[:material/rule: " + " · ".join(changes) + "]")
        render_mapping_buttons(sub, spec, backend.base_url if backend.sandbox else None)
    return CardResult(spec=spec, options=options, submission=sub, errors=errors)


def render_model_cards(recipe: Recipe, image_fit: str, runner: Runner, eta: EtaBook,
                       backend: Backend) -> list[CardResult]:
    results: list[CardResult] = []
    specs = list(runner.catalog.models())
    for start in range(0, len(specs), CARDS_PER_ROW):
        row = specs[start:start + CARDS_PER_ROW]
        full = len(row) == CARDS_PER_ROW
        # A bordered column with no card would draw an empty box: a short last row borders only its cards.
        cols = st.columns(CARDS_PER_ROW, border=full)
        for col, spec in zip(cols, row, strict=False):
            with col if full else col.container(border=True):
                result = _card(spec, recipe, image_fit, runner, eta, backend)
                if result is not None:
                    results.append(result)
    return results
