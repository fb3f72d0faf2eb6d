"""One blind pair on screen: two unnamed clips (A, B), a verdict, and the names only after the vote.

Before the vote nothing on the page may name a model: videos play from content-hash copies in one blind
player (no time label or duration, both clips over the shorter length, one sound toggle for both), widget
keys use the pair's position, and the prompt is the only caption (both clips share it).
"""

from __future__ import annotations

import random
import uuid

import streamlit as st

from components.auth import current_owner
from components.review_runtime import model_name
from components.runtime import Runtime
from exports.player import PlayerClip, player_html
from jobs.ledger import Job
from review.blind import LABELS, blind_key, prompt_of
from review.store import REASONS, Review, ReviewStore

ACTIVE = "_review_active"
"""Session key: id of the review this browser is screening."""
DONE = "_review_done"
REVEALED = "_review_revealed"
SESSION_SEED = "_review_seed"
REVIEWER = "reviewer_name"
BLIND_PLAYER = "Blind pair"


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
    pair = [(label, job_id, jobs.get(job_id)) for label, job_id in zip(LABELS, (left, right), strict=True)]
    blind = revealed is None
    clips = [PlayerClip(url=rt.clips.url(blind_key(review.clips[job_id])), label=label,
                        caption="" if blind else _facts(job)) for label, job_id, job in pair]
    # The same fps for both before the vote: a frame step must not differ between the clips.
    st.iframe(player_html(clips, columns=2, blind=blind), height="content", alt=BLIND_PLAYER)
    if not blind:
        cols = st.columns(2)
        for col, (label, _job_id, job) in zip(cols, pair, strict=True):
            model_id = job.model_id if job is not None else "unknown"
            col.markdown(f"**{label} was {model_name(rt, model_id)}** (`{model_id}`)")

    if revealed is None:
        reasons = st.pills("Why (optional)", REASONS, selection_mode="multi", key=f"why:{review.id}:{index}")
        chosen: list[str] = []
        if review.tags:
            # The categories typed when the review started. A verdict counts in a category's ranking only when
            # it carries that category, so each category ranks on its own votes.
            chosen = st.pills("Categories this verdict is about (optional)", list(review.tags),
                              selection_mode="multi", key=f"tags:{review.id}:{index}",
                              help="Each category on the Rankings page uses only the votes tagged with it.") or []
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
                           reasons=reasons or [], reviewer=reviewer, prompt=prompt, tags=chosen,
                           vote_id=f"{_seed()}:{review.id}:{index}", voter=current_owner())
            done.add(index)
            st.session_state[REVEALED] = index
            st.rerun()
    else:
        if st.button("Next pair", key=f"next:{index}", type="primary"):
            st.session_state.pop(REVEALED, None)
            st.rerun()


def _facts(job: Job | None) -> str:
    """After the vote: what told the clips apart (length, size, sound)."""
    probe = (job.clip_meta.get("probe") or {}) if job is not None else {}
    if not probe:
        return ""
    sound = "with sound" if probe.get("has_audio") else "no sound"
    return f"{float(probe.get('duration_s') or 0):.1f} s · {probe.get('width')}x{probe.get('height')} · {sound}"
