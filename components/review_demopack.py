"""Export a board as an offline demo pack (folder + zip) from the UI; any page showing boards can mount it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from components.review_runtime import model_name
from components.runtime import Runtime
from exports.demopack import DemoPackError, export_demo_pack, slug
from jobs.boards import Board

EXPORTS_SUBDIR = "exports"


def render_demopack_export(rt: Runtime, all_boards: Sequence[Board], *, key: str = "demopack") -> None:
    if not all_boards:
        st.caption("No boards yet.")
        return
    by_id = {b.id: b for b in all_boards}
    board_id = st.selectbox("Board", list(by_id), format_func=lambda i: f"{by_id[i].name} · "
                            f"{len(by_id[i].job_ids)} takes", key=f"{key}:board")
    c1, c2 = st.columns(2)
    title = c1.text_input("Title on the page", value=by_id[board_id].name, key=f"{key}:title:{board_id}")
    show_costs = c2.checkbox("Show costs", value=False, key=f"{key}:costs",
                             help="Off by default: a customer demo rarely needs our prices. Keys are never included.")
    if st.button("Export demo pack", key=f"{key}:go", icon=":material/folder_zip:"):
        board = by_id[board_id]
        dest = rt.data_dir / EXPORTS_SUBDIR / f"{slug(title)}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            pack = export_demo_pack(rt.ledger.get_many(board.job_ids), dest, title=title,
                                    model_name=lambda m: model_name(rt, m), show_costs=show_costs, as_zip=True,
                                    clips=rt.clips)
        except (DemoPackError, OSError) as e:
            st.error(f"Demo pack not exported: {e}", icon=":material/error:")
            return
        st.session_state[f"{key}:last"] = str(pack.zip_path)
        note = f" ({len(pack.skipped)} take(s) without a clip left out)" if pack.skipped else ""
        st.success(f"Exported {len(pack.files)} files to `{pack.folder}`{note}. Open its index.html in any "
                   "browser, offline.", icon=":material/check:")
    last = st.session_state.get(f"{key}:last")
    zip_path = Path(last) if last else None
    if zip_path is not None and zip_path.is_file():
        # A callable: the zip (clips included) is read only when the user clicks, not on every rerun.
        st.download_button("Download the zip", data=zip_path.read_bytes, file_name=zip_path.name,
                           mime="application/zip", key=f"{key}:download")
