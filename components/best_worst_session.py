"""A best–worst round on the Review page: 3–4 unnamed clips of one prompt in one blind player; the reviewer
picks the best and the worst; the names appear only after the vote.

The round's plan lives in the browser session (which sets, their blind copies); each verdict is stored in the
best–worst table and counts in Rankings as its implied pairs. Nothing before the vote names a model: the clips
play from content-hash copies, are labelled A–D in a random order and keys use the set's position.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence

import streamlit as st

from components.auth import current_owner
from components.review_runtime import best_worst_store, model_name
from components.review_session import REVIEWER
from components.runtime import Runtime
from exports.player import PlayerClip, player_html
from jobs.ledger import Job
from review.bestworst import plan_sets
from review.blind import blind_copy, prompt_of, reviewable

ROUND = "_best_worst_round"
LETTERS = "ABCD"
PLAYER_TITLE = "Blind set"


def start_round(rt: Runtime, jobs: Sequence[Job], sources: Sequence[str]) -> int:
    """Plan the sets and copy their clips blind; returns how many sets (0: no prompt has 3 models)."""
    ready = reviewable(jobs, rt.clips)
    sets = plan_sets(ready, random.Random())
    by_id = {j.id: j for j in ready}
    used = {job_id for s in sets for job_id in s}
    clips = {job_id: blind_copy(rt.clips, by_id[job_id].clip_path or "", by_id[job_id].clip_sha256).url
             for job_id in used}
    if sets:
        st.session_state[ROUND] = {"id": uuid.uuid4().hex, "sets": sets, "clips": clips, "done": 0,
                                   "revealed": False, "sources": list(sources)}
    return len(sets)


def active() -> bool:
    return ROUND in st.session_state


def render_round(rt: Runtime) -> None:
    state = st.session_state[ROUND]
    sets, index = state["sets"], state["done"]
    top1, top2 = st.columns([4, 1], vertical_alignment="center")
    top1.subheader("Best–worst round")
    if top2.button("Leave round", key="bw_leave", width="stretch"):
        st.session_state.pop(ROUND, None)
        st.rerun()
    st.progress(min(1.0, index / len(sets)), text=f"{index} of {len(sets)} sets judged")
    if index >= len(sets):
        st.success("Every set has your verdict. Thank you! See the pooled result on Rankings.",
                   icon=":material/how_to_vote:")
        return
    job_ids = list(sets[index])
    jobs = {j.id: j for j in rt.ledger.get_many(job_ids)}
    if len(jobs) != len(job_ids):  # a take was deleted since the round started
        state["done"] += 1
        st.rerun()
    labels = list(LETTERS[:len(job_ids)])
    st.markdown(f"**Prompt:** {prompt_of(jobs[job_ids[0]]) or '(none)'}")
    clips = [PlayerClip(url=state["clips"][j], label=label) for label, j in zip(labels, job_ids, strict=True)]
    st.iframe(player_html(clips, columns=len(clips), blind=True), height="content", alt=PLAYER_TITLE)
    if state["revealed"]:
        st.markdown("  \n".join(f"**{label} was {model_name(rt, jobs[j].model_id)}**"
                                for label, j in zip(labels, job_ids, strict=True)))
        if st.button("Next set", key=f"bw_next:{index}", type="primary"):
            state["done"] += 1
            state["revealed"] = False
            st.rerun()
        return
    c1, c2 = st.columns(2)
    best = c1.segmented_control("Best", labels, key=f"bw_best:{state['id']}:{index}")
    worst = c2.segmented_control("Worst", labels, key=f"bw_worst:{state['id']}:{index}")
    same = best is not None and best == worst
    if same:
        st.warning("Best and worst: pick two different clips.", icon=":material/rule:")
    if st.button("Record vote", key=f"bw_vote:{index}", type="primary", disabled=best is None or worst is None
                 or same):
        best_worst_store(rt).add(job_ids, [jobs[j].model_id for j in job_ids], labels.index(best),
                                 labels.index(worst), source=",".join(state["sources"]),
                                 reviewer=str(st.session_state.get(REVIEWER) or ""),
                                 prompt=prompt_of(jobs[job_ids[0]]), vote_id=f"{state['id']}:{index}",
                                 voter=current_owner())
        state["revealed"] = True
        st.rerun()
