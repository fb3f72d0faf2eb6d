"""Compare's board list: "mine" by default where people sign in, everyone's on request, a board shared by link
always shown, and the link itself, ready to copy.

A link is the Compare page's own URL with `?board=<id>` (the page keeps it in the address bar, so a reload or a
bookmark opens the same board). Anyone signed in to the same deployment who opens it sees that board whoever made
it; a request that is not signed in never gets here (components/auth.py shows the sign-in screen first).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components import roles
from components.auth import current_owner
from components.board_view import NEXT_BOARD
from jobs.boards import Board

BOARD_KEY = "compare_board"
BAD_LINK = "_compare_bad_link"
"""Session key: a board id from a link that names no board, said until another board is picked."""


def label(board: Board) -> str:
    clips = f"{len(board.job_ids)} clip{'s' if len(board.job_ids) != 1 else ''}"
    return f"{board.name} ({clips})" + (f" · by {board.created_by}" if board.created_by else "")


def board_link(board_id: str) -> str:
    """This page's address with the board in it (relative when the browser's URL is unknown, as in tests)."""
    page = (st.context.url or "/compare").rstrip("/")
    return f"{page}?board={board_id}"


def _forget_bad_link() -> None:
    st.session_state.pop(BAD_LINK, None)


def pick_board(all_boards: Sequence[Board]) -> Board | None:
    """The board to show, or None (nothing to show: the reason is on screen)."""
    me = current_owner()
    # A viewer makes no runs, so their own list would stay empty: they start on everyone's.
    mine_only = bool(me) and not st.toggle("Everyone's boards", key="compare_everyone",
                                           value=not roles.may(roles.GENERATE),
                                           help="Off: the boards you made (your runs' and the ones you put "
                                                "together). On: every board on this deployment, with who made it.")
    by_id = {b.id: b for b in all_boards}
    wanted = st.query_params.get("board")
    run_wanted = st.query_params.get("run")
    if run_wanted:  # History and Generate link to a take's run
        wanted = next((b.id for b in all_boards if b.run_id == run_wanted), wanted)
        st.query_params.pop("run", None)
        st.session_state.pop(BOARD_KEY, None)
    if wanted and wanted not in by_id:
        st.session_state[BAD_LINK] = wanted
    shown = [b for b in all_boards if not mine_only or b.created_by == me]
    # A board opened by link is shown whoever made it (on top of "mine", where it is not one of them).
    for extra in (wanted, st.session_state.get(BOARD_KEY)):
        if extra in by_id and by_id[extra] not in shown:
            shown.insert(0, by_id[extra])
    if st.session_state.get(BAD_LINK):
        st.error(f"No board with id “{st.session_state[BAD_LINK][:64]}” on this deployment: the link is mistyped, "
                 "or the board was deleted.", icon=":material/link_off:")
    if not shown:
        st.info("You have made no boards yet: each of your Generate runs becomes one. Turn on \"Everyone's "
                "boards\" to see the team's." if mine_only else
                "No boards yet: every Generate run becomes a board. Generate a few takes first.",
                icon=":material/view_column:")
        return None
    ids = [b.id for b in shown]
    pending = st.session_state.pop(NEXT_BOARD, None)
    if pending in ids:
        st.session_state[BOARD_KEY] = pending
    if wanted in ids and st.session_state.get(BOARD_KEY) not in ids:
        st.session_state[BOARD_KEY] = wanted
    if st.session_state.get(BOARD_KEY) not in ids:
        st.session_state[BOARD_KEY] = ids[0]
    c1, c2 = st.columns([5, 1], vertical_alignment="bottom")
    board_id = c1.selectbox("Board", ids, format_func=lambda i: label(by_id[i]), key=BOARD_KEY,
                            on_change=_forget_bad_link)
    board = by_id[board_id]
    st.query_params["board"] = board.id
    with c2.popover("Share", icon=":material/link:", width="stretch"):
        st.caption("Anyone signed in to this deployment who opens this link sees this board." if me else
                   "Anyone who can open this app sees this board at this link.")
        st.code(board_link(board.id), language=None, wrap_lines=True)
    return board
