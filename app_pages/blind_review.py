"""Blind review: pick boards, screen their takes in unnamed pairs, vote; the team's votes pool into Rankings."""

from __future__ import annotations

import time

import streamlit as st

from components import best_worst_session, roles
from components.review_demopack import render_demopack_export
from components.review_runtime import boards, prompt_library, review_store
from components.review_session import ACTIVE, DONE, REVEALED, REVIEWER, render_session
from components.runtime import get_runtime
from review.blind import reviewable, start_review
from review.store import ReviewError

rt = get_runtime()
store = review_store(rt)

st.title("Blind review")
refused = roles.refusal(roles.VOTE)
if refused:  # a viewer where viewers do not vote: the votes stay the members' (Rankings shows them)
    st.info(refused, icon=":material/how_to_vote:")
    st.stop()
active = st.session_state.get(ACTIVE)
review = store.get_review(active) if active else None

if best_worst_session.active():  # a best–worst round draws nothing else either (see below)
    best_worst_session.render_round(rt)
    st.stop()
if review is not None:
    # While a review runs nothing else is drawn: the setup lists boards, whose takes name their models.
    render_session(rt, store, review)
    st.stop()

st.caption("Clips play side by side as A and B, in random order, with the model hidden until you vote. "
           "Everyone's votes on this deployment are pooled on the Rankings page.")
st.text_input("Your name (optional)", key=REVIEWER, max_chars=80,
              help="Stored with your votes so the team can see who judged what.")


def _join(review_id: str) -> None:
    st.session_state[ACTIVE] = review_id
    st.session_state[DONE] = set()
    st.session_state.pop(REVEALED, None)


reviews = store.list_reviews()
if reviews:
    st.subheader("Join a review")
    for r in reviews[:20]:
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        votes = len(store.votes(review_id=r.id))
        tags = f" · {', '.join(r.tags)}" if r.tags else ""
        c1.markdown(f"**{r.name}** · {len(r.pairs)} pairs · {votes} votes so far{tags}")
        if c2.button("Join", key=f"join:{r.id}", width="stretch"):
            _join(r.id)
            st.rerun()

st.subheader("Start a review")
board_store = boards(rt)
all_boards = board_store.list(limit=200)
jobs_by_board = {b.id: reviewable(rt.ledger.get_many(b.job_ids), rt.clips) for b in all_boards}
candidates = [b for b in all_boards if len({j.model_id for j in jobs_by_board[b.id]}) >= 2]
if not candidates:
    st.info("No board has finished takes from two different models yet. Generate one prompt on two or more "
            "models first.", icon=":material/movie:")
else:
    labels = {b.id: f"{b.name} · {len(jobs_by_board[b.id])} takes" + (f" · by {b.created_by}" if b.created_by else "")
              for b in candidates}
    # With a single board there is nothing to choose: start with it picked.
    picked = st.multiselect("Boards", list(labels), format_func=labels.__getitem__, key="review_boards",
                            placeholder="Pick one or more boards", default=list(labels) if len(labels) == 1 else None)
    library = prompt_library(rt)
    runs = [b.run_id for b in candidates if b.id in picked and b.run_id]
    default_tags = ", ".join(library.tags_for_runs(runs))
    c1, c2 = st.columns(2)
    name = c1.text_input("Review name", value=f"Review {time.strftime('%Y-%m-%d %H:%M')}", key="review_name")
    tags = c2.text_input("Categories (comma-separated)", value=default_tags, key=f"review_tags:{','.join(picked)}",
                         help="Rankings can be broken down by these (e.g. product, people, motion).")
    if not picked:  # the buttons below are greyed out: say why next to them
        st.caption("Pick at least one board above to start a review.")
    if st.button("Start review", type="primary", disabled=not picked, key="review_start"):
        jobs = [j for bid in picked for j in jobs_by_board[bid]]
        try:
            created = start_review(store, jobs, rt.clips, name=name,
                                   tags=[t for t in tags.split(",") if t.strip()], sources=picked)
        except (ReviewError, OSError) as e:
            st.error(str(e), icon=":material/error:")
        else:
            _join(created.id)
            st.rerun()
    if st.button("Start a best–worst round", disabled=not picked, key="bw_start",
                 help="Sets of 3–4 clips of one prompt from different models: pick the best and the worst. "
                      "Each verdict counts as best over every other clip and every other clip over worst."):
        if not best_worst_session.start_round(rt, [j for bid in picked for j in jobs_by_board[bid]], picked):
            st.error("boards: no prompt has finished takes from three different models", icon=":material/error:")
        else:
            st.rerun()

with st.expander("Export a board as an offline demo pack"):
    render_demopack_export(rt, all_boards)
