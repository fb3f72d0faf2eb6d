"""One board on screen: the synchronised player, a card per take (facts, keep/discard, note), re-run, export."""

from __future__ import annotations

import time
from collections.abc import Sequence

import streamlit as st

from components import rerun, roles
from components.clip_facts import FactRow, fact_rows, mismatches, mode_of, render_seconds
from components.clip_flags import render_flags
from components.data_cache import forget, get_boards
from components.extend_action import lineage_caption, render_extend
from components.job_card import model_name, render_failure, state_badge
from components.retry import render_retry
from components.runtime import Runtime
from components.submit_guard import request_id_for
from components.sync_player import render_sync_player
from exports.board import board_json
from exports.code import code_bundle
from jobs.boards import Board
from jobs.costs import booked_label, provider_reported, unpriced
from jobs.ledger import Job, JobState
from jobs.runner import RETRYABLE_STATES
from providers.client import Backend

COLUMNS = 3
NEXT_BOARD = "_compare_next_board"
"""Session key: the board to open on the next run (a widget's own key cannot be set once it is drawn)."""


OK_MARK = ":green[:material/check_circle: ok]"
BAD_MARK = ":orange[:material/warning: not honoured]"


def fact_line(row: FactRow) -> str:
    """One setting: requested → delivered, marked only when it was requested (and so compared)."""
    mark = "" if row.ok is None else " " + (OK_MARK if row.ok else BAD_MARK)
    return f"**{row.setting}** {row.requested} → {row.delivered}{mark}"


def set_kept(rt: Runtime, job_id: str, kept: int | None) -> None:
    rt.ledger.update(job_id, kept=kept)


def _save_note(rt: Runtime, job_id: str, key: str) -> None:
    rt.ledger.update(job_id, note=(st.session_state.get(key) or "").strip() or None)


def render_take_card(rt: Runtime, job: Job, board: Board | None) -> None:
    """Under each clip: model, mode, requested vs delivered, render time, cost, keep / discard, note."""
    catalog = rt.catalog
    st.markdown(f"**{model_name(catalog, job.model_id)}** · take {job.take + 1}")
    st.caption(f"{mode_of(job)} · {job.backend}" + (f" · task `{job.task_id}`" if job.task_id else ""))
    if (lineage := lineage_caption(job)) is not None:
        st.caption(f":material/call_split: {lineage}")
    if job.state != JobState.DOWNLOADED:
        state_badge(job)
    if job.error_kind or job.state in RETRYABLE_STATES:
        render_failure(job)
        render_retry(rt, job, key_prefix="board_retry")
    st.markdown("  \n".join(fact_line(row) for row in fact_rows(job)))
    render_flags(job)
    for m in mismatches(job):
        st.warning(f"Not honoured — {m.field}: asked {m.requested}, got {m.applied}"
                   + (f" ({m.note})" if m.note else ""), icon=":material/rule:")
    facts = []
    seconds = render_seconds(job)
    if seconds is not None:
        scale = job.time_scale or 1.0
        facts.append(f"render {seconds:.1f} s" + (f" (≈{seconds / scale:.0f} s simulated)" if scale != 1.0 else ""))
    if unpriced(job):
        facts.append("no price")
    elif job.est_high_usd is not None:
        est = (f"${job.est_high_usd:.2f}" if abs((job.est_low_usd or 0) - job.est_high_usd) < 1e-9
               else f"${job.est_low_usd or 0:.2f}–${job.est_high_usd:.2f}")
        facts.append(f"est. {est}")
    if (booked := booked_label(job, catalog)) is not None:
        facts.append(booked)  # "reserved … (top of the price range …)" for a range, never "recorded"
    if (reported := provider_reported(job)) is not None:
        facts.append(reported)
    if job.backend == "sandbox":
        facts.append("simulated")
    st.caption(" · ".join(facts))
    # A viewer watches: keep/discard, notes and board edits are a member's (roles.REVIEW says why, on hover).
    review_refused = roles.refusal(roles.REVIEW)
    c1, c2 = st.columns(2)
    label = {1: "Kept", 0: "Discarded"}.get(job.kept if job.kept is not None else -1, "Unreviewed")
    if c1.button("Keep", key=f"keep:{job.id}", type="primary" if job.kept == 1 else "secondary",
                 icon=":material/thumb_up:", width="stretch", disabled=review_refused is not None,
                 help=review_refused):
        set_kept(rt, job.id, None if job.kept == 1 else 1)
        forget()
        st.rerun()
    if c2.button("Discard", key=f"discard:{job.id}", type="primary" if job.kept == 0 else "secondary",
                 icon=":material/thumb_down:", width="stretch", disabled=review_refused is not None,
                 help=review_refused):
        set_kept(rt, job.id, None if job.kept == 0 else 0)
        forget()
        st.rerun()
    if board is not None and review_refused is None and st.button(
            "Remove from board", key=f"remove:{job.id}", icon=":material/close:",
                                       type="tertiary", help="Take this clip off the board (it stays in History)"):
        get_boards(rt).remove(board.id, job.id)
        forget()
        st.rerun()
    st.caption(label)
    render_extend(rt, job, key_prefix="board" if board is not None else "history")
    note_key = f"note:{job.id}"
    if note_key not in st.session_state:
        st.session_state[note_key] = job.note or ""
    st.text_input("Note", key=note_key, on_change=_save_note, args=(rt, job.id, note_key),
                  placeholder="What works, what doesn't…", disabled=review_refused is not None, help=review_refused)


def render_takes(rt: Runtime, jobs: Sequence[Job], board: Board | None) -> None:
    cols = st.columns(COLUMNS)
    for i, job in enumerate(jobs):
        with cols[i % COLUMNS], st.container(border=True):
            render_take_card(rt, job, board)


def render_rerun(rt: Runtime, backend: Backend, jobs: Sequence[Job], board: Board) -> None:
    """The board again, with one setting changed: a new run, hence a new board."""
    with st.expander("Re-run this board with one setting changed", icon=":material/replay:"):
        refused = roles.refusal(roles.GENERATE)
        if refused:
            st.info(refused, icon=":material/block:")
            return
        setting = st.selectbox("Setting to change", list(rerun.CHANGES), format_func=rerun.CHANGES.get,
                               key=f"rerun_setting:{board.id}")
        first = jobs[0].recipe if jobs else {}
        value: object = None
        if setting == "kling_mode":
            value = st.segmented_control("Kling mode", ["std", "pro"], default="pro", required=True,
                                         key=f"rerun_mode:{board.id}") or "pro"
            if not any(j.family in rerun.KLING_MODE_FAMILIES for j in jobs):
                st.caption("No Kling take on this board: nothing would change.")
        elif setting == "duration":
            value = int(st.number_input("Duration (s)", min_value=1, max_value=20, step=1,
                                        value=int(first.get("duration_s") or 5), key=f"rerun_duration:{board.id}"))
        elif setting == "aspect_ratio":
            value = st.selectbox("Aspect ratio", rerun.RATIOS, key=f"rerun_ratio:{board.id}")
        elif setting == "seed":
            value = int(st.number_input("Seed", min_value=0, max_value=4294967295, step=1,
                                        value=int(first.get("seed") or 42), key=f"rerun_seed:{board.id}"))
        elif setting == "prompt":
            value = st.text_area("Prompt", value=first.get("prompt", ""), key=f"rerun_prompt:{board.id}")
        groups = rerun.plan(jobs, rerun.Change(setting, value))
        takes = sum(len(choices) for _, choices in groups)
        st.caption(f"{takes} take(s): one per model and recipe on this board"
                   + (" · sandbox, nothing charged" if backend.sandbox else " · live: the budget applies"))
        if st.button("Re-run", key=f"rerun_go:{board.id}", type="primary", disabled=not takes,
                     icon=":material/replay:"):
            run_id, ids, errors = rerun.submit(rt, backend, groups, run_id=request_id_for(
                "rerun", [(r.to_json(), [(m, o.to_dict()) for m, o in ch]) for r, ch in groups]))
            for message in errors:
                st.error(message)
            if ids:
                boards = get_boards(rt)
                boards.sync_runs()
                new = boards.for_run(run_id)
                forget()
                if new is not None:
                    st.session_state[NEXT_BOARD] = new.id
                st.toast(f"Re-run submitted: {len(ids)} take(s). Its board is now open.",
                         icon=":material/rocket_launch:")
                st.rerun()


def render_exports(rt: Runtime, jobs: Sequence[Job], board: Board) -> None:
    catalog = rt.catalog
    stamp = time.strftime("%Y%m%d-%H%M")
    c1, c2, c3 = st.columns(3)
    c1.download_button("Board as JSON", data=lambda: board_json(board.name, jobs, catalog, board_id=board.id,
                                                                 run_id=board.run_id),
                       file_name=f"board-{stamp}.json", mime="application/json", on_click="ignore",
                       icon=":material/data_object:", key=f"export_json:{board.id}", width="stretch")
    c2.download_button("Code: Python", data=lambda: code_bundle(jobs, catalog, "python", title=board.name),
                       file_name=f"board-{stamp}-python.zip", mime="application/zip", on_click="ignore",
                       icon=":material/code:", key=f"export_py:{board.id}", width="stretch")
    c3.download_button("Code: Node.js", data=lambda: code_bundle(jobs, catalog, "node", title=board.name),
                       file_name=f"board-{stamp}-node.zip", mime="application/zip", on_click="ignore",
                       icon=":material/javascript:", key=f"export_node:{board.id}", width="stretch")


def render_board(rt: Runtime, backend: Backend, board: Board, jobs: Sequence[Job]) -> None:
    if not jobs:
        st.info("This board is empty. Add clips from History below.", icon=":material/view_column:")
        return
    render_sync_player(jobs, rt.catalog, columns=COLUMNS)
    render_takes(rt, jobs, board)
    render_rerun(rt, backend, jobs, board)
    st.subheader("Export")
    render_exports(rt, jobs, board)
