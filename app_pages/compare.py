"""Compare: every run is a board; screen its takes in sync with what each cost and whether it did what was asked."""

from __future__ import annotations

import time

import streamlit as st

from components.auth import current_owner
from components.board_picker import pick_board
from components.board_view import NEXT_BOARD, render_board
from components.data_cache import data_version, forget, get_boards, session_cached
from components.job_card import model_name
from components.keys import current_backend
from components.runtime import get_runtime
from jobs.boards import BoardError
from jobs.ledger import JobState

PICKABLE_CLIPS = 300

rt = get_runtime()
backend = current_backend(rt)
boards = get_boards(rt)

st.title("Compare")


# Each cache is keyed on what it depends on, so a job update from a worker (a ledger change, many a minute in a
# team) re-reads one board's takes, not every board and every job (1.1 s on PostgreSQL at 10,000 jobs; see
# bench/store_scale.py). Jobs are only ever added, never deleted, so their count moves exactly when a new run
# (or a run's fallback take) may need its board; the board list changes only with the boards' own counter (a
# board's takes are fixed rows); the takes shown are read for the board picked.
jobs_total, downloaded = session_cached(
    "compare_counts", rt.ledger.data_version(),
    lambda: (rt.ledger.count_jobs(), rt.ledger.count_jobs(states=[JobState.DOWNLOADED.value])))
session_cached("compare_sync", jobs_total, boards.sync_runs)
version = data_version(rt)  # after the sync, which may have added boards
all_boards = session_cached("compare_boards", version[1], boards.list)
board = pick_board(all_boards)
if board is None:
    st.stop()
jobs = session_cached("compare_takes", (version[0], board.id, board.job_ids),
                      lambda: rt.ledger.get_many(board.job_ids))

render_board(rt, backend, board, jobs)

st.divider()
st.subheader("Add clips")


def _downloaded() -> list:
    return rt.ledger.list_jobs(states=[JobState.DOWNLOADED.value], limit=PICKABLE_CLIPS)


# Only a job becoming downloaded (a terminal state) changes this list: what a label shows never changes.
pickable = session_cached("compare_pickable", downloaded, _downloaded)
choices = {j.id: j for j in pickable if j.id not in board.job_ids}


def _label(job_id: str) -> str:
    job = choices[job_id]
    prompt = " ".join(str(job.recipe.get("prompt", "")).split())[:40]
    when = time.strftime("%m-%d %H:%M", time.localtime(job.created_at or 0))
    return f"{model_name(rt.catalog, job.model_id)} · {prompt} · {when} · {job.id[:6]}"


c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
picked = c1.multiselect("Downloaded clips from History", list(choices), format_func=_label, key="compare_add",
                        placeholder="Pick clips to add to this board")
if c2.button("Add to board", key="compare_add_go", disabled=not picked, icon=":material/add:", width="stretch"):
    boards.add(board.id, picked)
    forget()
    st.session_state.pop("compare_add", None)
    st.rerun()

with st.expander("New board", icon=":material/add_box:"):
    name = st.text_input("Name", key="compare_new_name", placeholder="e.g. Dawn kite, best takes")
    if st.button("Create board", key="compare_new_go"):
        try:
            created = boards.create(name, picked, created_by=current_owner())
        except BoardError as e:
            st.error(str(e))
        else:
            forget()
            st.session_state[NEXT_BOARD] = created.id
            st.rerun()
