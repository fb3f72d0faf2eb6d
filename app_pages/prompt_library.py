"""Prompt library: the team's saved recipes, each with its per-model variants, its runs and how its takes ranked."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from components.keys import current_backend
from components.library_form import render_save_form
from components.review_runtime import boards, model_name, prompt_library, review_store
from components.runtime import get_runtime
from components.submit_guard import request_id_for
from jobs.ledger import BudgetExceeded
from jobs.prefs import period_start
from library.prompts import LibraryError, SavedRecipe
from library.results import recipe_ranking
from providers.errors import DailiesError, ValidationErrors

rt = get_runtime()
library = prompt_library(rt)
store = review_store(rt)

st.title("Prompt library")
with st.expander("Save a new recipe", icon=":material/bookmark_add:"):
    render_save_form(rt, library)

c1, c2 = st.columns(2)
text = c1.text_input("Search", key="lib_search", placeholder="name or prompt")
tag = c2.selectbox("Tag", ["all", *library.tags()], key="lib_tag")
saved_list = library.list(tag=None if tag == "all" else tag, text=text or None)
if not saved_list:
    st.info("No saved recipes yet: save one above, then start runs from it in one click.", icon=":material/book:")


def _start(saved: SavedRecipe) -> None:
    backend = current_backend(rt)
    live = not backend.sandbox
    try:
        started = library.start_run(
            saved, rt.runner, backend, request_id=request_id_for("library", saved.id),
            budget_limit_usd=rt.prefs.budget_usd if live else None,
            budget_period_start=period_start(rt.prefs.budget_period) if live else None)
    except ValidationErrors as e:
        for message in e.by_field().values():
            st.error(message)
    except BudgetExceeded as e:
        st.error(f"Refused by the budget: {e}")
    except (LibraryError, DailiesError) as e:
        st.error(str(e))
    else:
        st.session_state.pop("_queue_cache", None)
        st.success(f"Started {len(started.job_ids)} take(s): follow them on Generate; the run is board "
                   f"“{saved.name}”.", icon=":material/rocket_launch:")


board_store = boards(rt) if saved_list else None
for saved in saved_list:
    with st.container(border=True):
        h1, h2, h3 = st.columns([5, 1, 1], vertical_alignment="center")
        h1.markdown(f"### {saved.name}")
        if saved.tags:
            h1.caption(" · ".join(saved.tags))
        if h2.button("Start run", key=f"lib_run:{saved.id}", type="primary", width="stretch",
                     disabled=not saved.variants,
                     help="Send each model its own variant, as one board." if saved.variants else
                     "This recipe names no models (saved by an older version): save it again with at least one."):
            _start(saved)
        if h3.button("Delete", key=f"lib_del:{saved.id}", width="stretch"):
            library.delete(saved.id)
            st.rerun()
        st.markdown(f"**Prompt:** {saved.recipe.prompt}" +
                    (f"  \n**Negative:** {saved.recipe.negative_prompt}" if saved.recipe.negative_prompt else ""))
        if saved.variants:
            st.dataframe(pd.DataFrame([{
                "model": model_name(rt, v.model_id), "prompt": v.prompt or "(base prompt)",
                "negative prompt": v.negative_prompt or "", "options": ", ".join(f"{k}={x}" for k, x in
                                                                                   v.options.items())}
                for v in saved.variants]), hide_index=True, width="stretch")
        runs = library.runs(saved.id)
        if runs:
            lines = []
            for run_id in runs[:10]:
                jobs = rt.ledger.list_jobs(run_id=run_id)
                board = board_store.for_run(run_id) if board_store else None
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(min(j.created_at or 0 for j in jobs))) \
                    if jobs else ""
                done = sum(1 for j in jobs if j.state.value == "downloaded")
                lines.append(f"- {board.name if board else run_id[:8]} · {when} · {done}/{len(jobs)} takes ready")
            st.markdown("**Runs (boards)**\n" + "\n".join(lines))
            ranking = recipe_ranking(library, rt.ledger, store, saved.id)
            if ranking:
                st.markdown("**How its takes ranked in blind review**")
                st.dataframe(pd.DataFrame([{"rank": r.rank, "model": model_name(rt, r.model_id),
                                            "rating": round(r.rating), "votes": r.votes, "won": r.wins,
                                            "lost": r.losses, "tied": r.ties} for r in ranking]),
                             hide_index=True, width="stretch")
            else:
                st.caption("No blind votes on its takes yet.")
