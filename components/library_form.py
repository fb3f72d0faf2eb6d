"""The form that saves a recipe to the library: a base prompt plus what each model gets instead."""

from __future__ import annotations

import streamlit as st

from components.runtime import Runtime
from library.prompts import LibraryError, ModelVariant, PromptLibrary
from providers.recipe import Recipe

RATIOS = ("16:9", "9:16", "1:1")


def render_save_form(rt: Runtime, library: PromptLibrary) -> None:
    catalog = rt.catalog
    specs = {s.id: s for s in catalog.available()}
    name = st.text_input("Name", key="lib_name", max_chars=120)
    tags = st.text_input("Tags (comma-separated)", key="lib_tags", help="e.g. product, people, motion")
    prompt = st.text_area("Prompt", key="lib_prompt", height=90)
    negative = st.text_input("Negative prompt", key="lib_negative",
                             help="Sent only to models that have one (Kling); others drop it.")
    c1, c2 = st.columns(2)
    duration = c1.selectbox("Duration (s)", [None, 4, 5, 8, 10], key="lib_duration",
                            format_func=lambda d: "model default" if d is None else f"{d} s")
    ratio = c2.selectbox("Aspect ratio", [None, *RATIOS], key="lib_ratio",
                         format_func=lambda r: "model default" if r is None else r)
    models = st.multiselect("Models", list(specs), format_func=lambda m: specs[m].display_name, key="lib_models")
    variants: list[ModelVariant] = []
    for model_id in models:
        spec = specs[model_id]
        with st.expander(f"{spec.display_name}: its own variant"):
            hint = "Runway animates an image: describe only the motion." if spec.family == "runway" else \
                "Leave empty to send the base prompt."
            own = st.text_area("Prompt for this model", key=f"lib_v_prompt:{model_id}", height=70, help=hint)
            own_negative = None
            if spec.params.negative_prompt:
                own_negative = st.text_input("Negative prompt for this model", key=f"lib_v_neg:{model_id}") or None
            options = {}
            if spec.params.mode is not None:
                options["mode"] = st.selectbox("Mode", spec.params.mode.allowed, key=f"lib_v_mode:{model_id}",
                                               index=spec.params.mode.allowed.index(spec.params.mode.default))
            variants.append(ModelVariant(model_id, prompt=own.strip() or None, negative_prompt=own_negative,
                                         options=options))
    if st.button("Save to library", key="lib_save", type="primary", icon=":material/bookmark_add:"):
        recipe = Recipe(prompt=prompt.strip(), negative_prompt=negative.strip(), duration_s=duration,
                        aspect_ratio=ratio)
        try:
            saved = library.save(name, recipe, tags=tags.split(","), variants=variants, catalog=catalog)
        except LibraryError as e:
            st.error(str(e), icon=":material/error:")
        else:
            st.success(f"Saved “{saved.name}”.", icon=":material/check:")
