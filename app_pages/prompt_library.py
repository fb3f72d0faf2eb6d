"""Prompt library: the team's saved recipes, each with its per-model variants, its runs and how its takes ranked."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from components import roles
from components.auth import current_identity
from components.keys import current_backend
from components.library_form import render_save_form
from components.queue import remember_run
from components.review_runtime import best_worst_store, boards, model_name, prompt_library, review_store
from components.runtime import get_runtime
from components.submit_guard import request_id_for
from jobs.ledger import BudgetExceeded, NotPermitted
from jobs.prefs import period_start
from library.prompts import LibraryError, SavedRecipe
from library.results import recipe_insight
from providers.errors import DailiesError, ValidationErrors

rt = get_runtime()
library = prompt_library(rt)
store = review_store(rt)

who = current_identity()
refused = roles.refusal(roles.LIBRARY)  # a viewer reads the library, and is told once why nothing here is theirs

st.title("Prompt library")
if refused:
    st.info(refused, icon=":material/visibility:")
else:
    with st.expander("Save a new recipe", icon=":material/bookmark_add:"):
        render_save_form(rt, library)

c1, c2 = st.columns(2)
text = c1.text_input("Search", key="lib_search", placeholder="name or prompt")
tag = c2.selectbox("Tag", ["all", *library.tags()], key="lib_tag")
# Signed in, "mine" first; a viewer saves nothing, so theirs would always be empty: they start on everyone's.
mine_only = bool(who.email) and not st.toggle(
    "Everyone's recipes", key="lib_everyone", value=refused is not None,
    help="Off: the recipes you saved. On: every recipe on this deployment, with who saved it.")
saved_list = library.list(tag=None if tag == "all" else tag, text=text or None,
                          created_by=who.email if mine_only else None)
if not saved_list:
    if text or tag != "all":
        st.info("No saved recipe matches.", icon=":material/search_off:")
    elif mine_only:
        st.info("You have saved no recipes yet. Turn on \"Everyone's recipes\" to see the team's.",
                icon=":material/book:")
    else:
        st.info("No saved recipes yet: save one above, then start runs from it in one click.", icon=":material/book:")

def _start(saved: SavedRecipe) -> None:
    backend = current_backend(rt)
    live = not backend.sandbox
    try:
        started = library.start_run(
            saved, rt.runner, backend, request_id=request_id_for("library", saved.id),
            budget_limit_usd=rt.prefs.budget_usd if live else None,
            budget_period_start=period_start(rt.prefs.budget_period) if live else None,
            **roles.admission(rt.prefs, backend.sandbox))
    except ValidationErrors as e:
        for message in e.by_field().values():
            st.error(message)
    except BudgetExceeded as e:
        st.error(f"Not sent — {e}")
    except NotPermitted as e:
        st.error(f"Refused: {e}")
    except (LibraryError, DailiesError) as e:
        st.error(str(e))
    else:
        remember_run(started.run_id)
        st.success(f"Started {len(started.job_ids)} take(s): follow them on Generate; the run is board "
                   f"“{saved.name}”.", icon=":material/rocket_launch:")


board_store = boards(rt) if saved_list else None
for saved in saved_list:
    with st.container(border=True):
        h1, h2, h3 = st.columns([5, 1, 1], vertical_alignment="center")
        h1.markdown(f"### {saved.name}")
        about = [*saved.tags, *([f"by {saved.created_by}"] if saved.created_by else [])]
        if about:
            h1.caption(" · ".join(about))
        if h2.button("Start run", key=f"lib_run:{saved.id}", type="primary", width="stretch",
                     disabled=not saved.variants or refused is not None,
                     help=refused or ("Send each model its own variant, as one board." if saved.variants else
                     "This recipe names no models (saved by an older version): save it again with at least one.")):
            _start(saved)
        if h3.button("Delete", key=f"lib_del:{saved.id}", width="stretch", disabled=refused is not None,
                     help=refused):
            library.delete(saved.id, role=who.role)
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
            insight = recipe_insight(library, rt.ledger, store, saved.id, best_worst=best_worst_store(rt).ballots())
            st.markdown("**How its takes did, per model**")
            st.caption("Rank and rating from the blind votes on this recipe's clips (sorted by the interval's lower "
                       "end; “—” until a model has enough votes). Flags: what the technical checks found on its "
                       "clips (warnings, not a score).")
            st.dataframe(pd.DataFrame([{
                "model": model_name(rt, m.model_id),
                "rank": str(m.ranking.rank) if m.ranking and m.ranking.rank else "—",
                "rating": round(m.ranking.rating) if m.ranking else None,
                "votes": m.ranking.votes if m.ranking else 0,
                "status": m.ranking.status if m.ranking else "no votes",
                "takes": f"{m.downloaded}/{m.takes}", "flagged clips": f"{m.flagged}/{m.checked}",
                "flags": m.flag_summary} for m in insight]), hide_index=True, width="stretch")
            if not any(m.ranking for m in insight):
                st.caption("No blind votes on its takes yet.")
