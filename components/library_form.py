"""The form that saves a recipe to the library: a base prompt plus what each model gets instead.

Its values live in the draft (components/draft_state.py) like Generate's, so a page switch or a reload keeps a
half-written entry; saving clears them so the next entry starts blank.
"""

from __future__ import annotations

import streamlit as st

from components import auth, draft_state
from components.runtime import Runtime
from library.prompts import LibraryError, ModelVariant, PromptLibrary
from providers.recipe import Recipe

RATIOS = ("16:9", "9:16", "1:1")
DURATIONS = (None, 4, 5, 8, 10)
BASE_KEYS = ("lib_name", "lib_tags", "lib_prompt", "lib_negative", "lib_duration", "lib_ratio", "lib_models")
_RESULT = "_lib_save_result"
"""Session key: ("ok" | "error", message) of the last Save, drawn on the next run."""


def _variant_keys(model_id: str) -> tuple[str, ...]:
    return (f"lib_v_prompt:{model_id}", f"lib_v_neg:{model_id}", f"lib_v_mode:{model_id}")


def _variants(rt: Runtime, models: list[str]) -> list[ModelVariant]:
    specs = {s.id: s for s in rt.catalog.available()}
    out = []
    for model_id in models:
        spec = specs.get(model_id)
        if spec is None:
            continue
        own = (st.session_state.get(f"lib_v_prompt:{model_id}") or "").strip()
        own_negative = (st.session_state.get(f"lib_v_neg:{model_id}") or "").strip() or None
        options = {}
        if spec.params.mode is not None:
            options["mode"] = st.session_state.get(f"lib_v_mode:{model_id}") or spec.params.mode.default
        out.append(ModelVariant(model_id, prompt=own or None,
                                negative_prompt=own_negative if spec.params.negative_prompt else None,
                                options=options))
    return out


def _save(rt: Runtime, library: PromptLibrary) -> None:
    """on_click of Save: runs before the page is drawn, so the form's values can be reset on success."""
    get = st.session_state.get
    models = list(get("lib_models") or [])
    recipe = Recipe(prompt=(get("lib_prompt") or "").strip(), negative_prompt=(get("lib_negative") or "").strip(),
                    duration_s=get("lib_duration"), aspect_ratio=get("lib_ratio"))
    try:
        who = auth.current_identity()
        saved = library.save(get("lib_name") or "", recipe, tags=(get("lib_tags") or "").split(","),
                             variants=_variants(rt, models), catalog=rt.catalog, created_by=who.email, role=who.role)
    except LibraryError as e:
        st.session_state[_RESULT] = ("error", str(e))
        return
    draft_state.reset([*BASE_KEYS, *(k for m in models for k in _variant_keys(m))])
    st.session_state[_RESULT] = ("ok", f"Saved “{saved.name}”. The form is cleared for the next one.")


def render_save_form(rt: Runtime, library: PromptLibrary) -> None:
    catalog = rt.catalog
    specs = {s.id: s for s in catalog.available()}
    bind = draft_state.bind
    st.text_input("Name", max_chars=120, **bind("lib_name", ""))
    st.text_input("Tags (comma-separated)", help="e.g. product, people, motion", **bind("lib_tags", ""))
    st.text_area("Prompt", height=90, **bind("lib_prompt", ""))
    st.text_input("Negative prompt", help="Sent only to models that have one (Kling); others drop it.",
                  **bind("lib_negative", ""))
    c1, c2 = st.columns(2)
    c1.selectbox("Duration (s)", DURATIONS, format_func=lambda d: "model default" if d is None else f"{d} s",
                 **bind("lib_duration", None, allowed=DURATIONS))
    c2.selectbox("Aspect ratio", [None, *RATIOS], format_func=lambda r: "model default" if r is None else r,
                 **bind("lib_ratio", None, allowed=[None, *RATIOS]))
    stored_models = [m for m in (draft_state.value("lib_models") or []) if m in specs]
    models = st.multiselect("Models", list(specs), format_func=lambda m: specs[m].display_name,
                            help="A saved recipe starts on these models; pick at least one.",
                            **bind("lib_models", [], load=lambda _: stored_models))
    for model_id in models:
        spec = specs[model_id]
        with st.expander(f"{spec.display_name}: its own variant"):
            hint = "Runway animates an image: describe only the motion." if spec.family == "runway" else \
                "Leave empty to send the base prompt."
            st.text_area("Prompt for this model", height=70, help=hint, **bind(f"lib_v_prompt:{model_id}", ""))
            if spec.params.negative_prompt:
                st.text_input("Negative prompt for this model", **bind(f"lib_v_neg:{model_id}", ""))
            if spec.params.mode is not None:
                modes = spec.params.mode.allowed
                st.selectbox("Mode", modes, **bind(f"lib_v_mode:{model_id}", spec.params.mode.default, allowed=modes))
    st.button("Save to library", key="lib_save", type="primary", icon=":material/bookmark_add:",
              on_click=_save, args=(rt, library))
    result = st.session_state.pop(_RESULT, None)
    if result:
        kind, message = result
        (st.success if kind == "ok" else st.error)(message, icon=":material/check:" if kind == "ok"
                                                   else ":material/error:")
