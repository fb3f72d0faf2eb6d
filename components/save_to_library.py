"""Generate's "Save to library": the recipe on screen and its switched-on models (with their parameters) kept as
a library entry, so a recipe that works can be started again in one click."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components import auth, roles
from components.model_cards import CardResult
from components.review_runtime import prompt_library
from components.runtime import Runtime
from library.prompts import LibraryError, ModelVariant
from providers.recipe import Recipe

_RESULT = "_gen_lib_result"


def _save(rt: Runtime, recipe: Recipe, cards: Sequence[CardResult]) -> None:
    name = (st.session_state.get("gen_lib_name") or "").strip()
    variants = [ModelVariant(c.spec.id, options=c.options.to_dict()) for c in cards]
    who = auth.current_identity()
    try:
        saved = prompt_library(rt).save(name, recipe, tags=(st.session_state.get("gen_lib_tags") or "").split(","),
                                        variants=variants, catalog=rt.catalog, created_by=who.email, role=who.role)
    except LibraryError as e:
        st.session_state[_RESULT] = ("error", str(e))
        return
    for key in ("gen_lib_name", "gen_lib_tags"):
        st.session_state.pop(key, None)
    st.session_state[_RESULT] = ("ok", f"Saved “{saved.name}” with {len(variants)} model(s): start it again from "
                                       "Library.")


def render_save_to_library(rt: Runtime, recipe: Recipe, cards: Sequence[CardResult]) -> None:
    with st.popover("Save to library", icon=":material/bookmark_add:", width="stretch"):
        refused = roles.refusal(roles.LIBRARY)
        if refused:
            st.caption(refused)
            return
        st.text_input("Name", key="gen_lib_name", max_chars=120, placeholder="e.g. Kite at dawn")
        st.text_input("Tags (comma-separated)", key="gen_lib_tags")
        names = ", ".join(c.spec.display_name for c in cards) or "none — switch one on first"
        st.caption(f"Saves this recipe and its models: {names}.")
        st.button("Save", key="gen_lib_save", type="primary", on_click=_save, args=(rt, recipe, list(cards)))


def render_save_result() -> None:
    """The last Save's outcome, full width under the Generate row."""
    result = st.session_state.pop(_RESULT, None)
    if result:
        kind, message = result
        (st.success if kind == "ok" else st.error)(message, icon=":material/check:" if kind == "ok"
                                                   else ":material/error:")
