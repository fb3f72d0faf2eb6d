"""One blind pair on screen: two unnamed clips (A, B), a verdict, and the names only after the vote.

Before the vote nothing on the page may name a model: videos play from content-hash copies, widget keys
use the pair's position, and the prompt is the only caption (both clips share it).
"""

from __future__ import annotations

import random
import uuid

import streamlit as st

from components.review_runtime import model_name
from components.runtime import Runtime
from review.blind import LABELS, blind_url, prompt_of
from review.store import REASONS, Review, ReviewStore

ACTIVE = "_review_active"
"""Session key: id of the review this browser is screening."""
DONE = "_review_done"
REVEALED = "_review_revealed"
SESSION_SEED = "_review_seed"
REVIEWER = "reviewer_name"


def _seed() -> str:
    if SESSION_SEED not in st.session_state:
        st.session_state[SESSION_SEED] = uuid.uuid4().hex
    return st.session_state[SESSION_SEED]


def shown_order(review: Review, index: int) -> tuple[str, str]:
    """This browser's left/right order of a pair: flipped at random per session, against position bias."""
    a, b = review.pairs[index]
    flip = random.Random(f"{_seed()}:{review.id}:{index}").random() < 0.5
    return (b, a) if flip else (a, b)


def next_pair(review: Review, done: set[int], already: set[tuple[str, str]]) -> int | None:
    for i, (a, b) in enumerate(review.pairs):
        if i not in done and (min(a, b), max(a, b)) not in already:
            return i
    return None


def leave() -> None:
    for key in (ACTIVE, DONE, REVEALED):
        st.session_state.pop(key, None)


def render_session(rt: Runtime, store: ReviewStore, review: Review) -> None:
    reviewer = str(st.session_state.get(REVIEWER) or "").strip()
    done: set[int] = st.session_state.setdefault(DONE, set())
    revealed: int | None = st.session_state.get(REVEALED)
    top1, top2 = st.columns([4, 1], vertical_alignment="center")
    top1.subheader(review.name)
    if top2.button("Leave review", key="review_leave", width="stretch"):
        leave()
        st.rerun()

    index = revealed if revealed is not None else next_pair(
        review, done, store.voted_pairs(review.id, reviewer) if reviewer else set())
    st.progress(min(1.0, len(done) / len(review.pairs)),
                text=f"{len(done)} of {len(review.pairs)} pairs judged in this session")
    if index is None:
        st.success("Every pair in this review has your verdict. Thank you! See the pooled result on Rankings.",
                   icon=":material/how_to_vote:")
        return

    left, right = shown_order(review, index)
    jobs = {j.id: j for j in rt.ledger.get_many([left, right])}
    prompt = prompt_of(jobs[left]) if left in jobs else ""
    st.markdown(f"**Prompt:** {prompt}" if prompt else "**Prompt:** (none)")
    cols = st.columns(2)
    for col, label, job_id in zip(cols, LABELS, (left, right), strict=True):
        with col, st.container(border=True):
            st.markdown(f"### {label}")
            st.video(blind_url(rt.clips.url_prefix, review.clips[job_id]), loop=True)
            if revealed is not None:
                model_id = jobs[job_id].model_id if job_id in jobs else "unknown"
                st.markdown(f"**{label} was {model_name(rt, model_id)}** (`{model_id}`)")

    if revealed is None:
        reasons = st.pills("Why (optional)", REASONS, selection_mode="multi", key=f"why:{review.id}:{index}")
        b1, b2, b3 = st.columns(3)
        choice = None
        if b1.button("A is better", key=f"vote_a:{index}", type="primary", width="stretch"):
            choice = "a"
        if b2.button("Tie", key=f"vote_tie:{index}", width="stretch"):
            choice = "tie"
        if b3.button("B is better", key=f"vote_b:{index}", type="primary", width="stretch"):
            choice = "b"
        if choice is not None:
            store.add_vote(review.id, left, right, jobs[left].model_id, jobs[right].model_id, choice,
                           reasons=reasons or [], reviewer=reviewer, prompt=prompt,
                           vote_id=f"{_seed()}:{review.id}:{index}")
            done.add(index)
            st.session_state[REVEALED] = index
            st.rerun()
    else:
        if st.button("Next pair", key=f"next:{index}", type="primary"):
            st.session_state.pop(REVEALED, None)
            st.rerun()
