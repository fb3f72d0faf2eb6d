"""A clip's technical flags (jobs/checks) on screen: warnings with a plain line and a time range, never a score."""

from __future__ import annotations

import html

import streamlit as st

from jobs.ledger import Job, JobState

FLAG_ICON = ":material/flag:"
CHECKING = "Technical checks: running…"
NOTHING = "Technical checks: nothing flagged."


def flag_summary(job: Job) -> str | None:
    """One short line for a tile, or None when there is nothing to warn about."""
    flags = job.flags
    if not flags:
        return None
    return f"⚑ {len(flags)} flag{'s' if len(flags) != 1 else ''}: " + ", ".join(
        dict.fromkeys(str(f.get("kind", "")).replace("_", " ") for f in flags))


def tile_badge(job: Job) -> str:
    """HTML for History's thumbnail tile; the messages go in the tooltip."""
    summary = flag_summary(job)
    if summary is None:
        return ""
    tip = " · ".join(str(f.get("message", "")) for f in job.flags)
    return f'<br><em class="flags" title="{html.escape(tip, quote=True)}">{html.escape(summary)}</em>'


def render_flags(job: Job) -> None:
    """Under a take: each flag as a warning line (what a viewer would see, where), the rule in the tooltip."""
    if job.state != JobState.DOWNLOADED or not job.clip_path:
        return
    if job.flags_json is None:
        st.caption(CHECKING)
        return
    if not job.flags:
        st.caption(NOTHING)
        return
    for flag in job.flags:
        st.markdown(f":orange[{FLAG_ICON}] {flag.get('message', '')}", help=f"Rule: {flag.get('threshold', '')}")
