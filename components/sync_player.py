"""The synchronised player inside the app: the shared HTML page from exports/player.py in an iframe."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components.clip_urls import clip_url
from components.job_card import model_name
from exports.player import PlayerClip, job_flags, player_html
from jobs.ledger import Job
from providers.catalog import Catalog

PLAYER_TITLE = "Synchronised player"


def player_clips(jobs: Sequence[Job], catalog: Catalog) -> list[PlayerClip]:
    clips = []
    for job in jobs:
        url = clip_url(job)
        if not url:
            continue
        probe = job.clip_meta.get("probe") or {}
        caption = f"take {job.take + 1}"
        if probe:
            caption += f" · {probe.get('width')}x{probe.get('height')} · {float(probe.get('duration_s') or 0):.1f} s"
        clips.append(PlayerClip(url=url, label=model_name(catalog, job.model_id), caption=caption,
                                fps=float(probe.get("fps") or 24.0), flags=job_flags(job.flags)))
    return clips


def render_sync_player(jobs: Sequence[Job], catalog: Catalog, *, columns: int = 3) -> int:
    """Draw one player for every take that has a clip; returns how many clips it shows."""
    clips = player_clips(jobs, catalog)
    if not clips:
        st.info("No clip on this board is on disk yet.", icon=":material/hourglass_empty:")
        return 0
    # The iframe is srcdoc: relative /app/static/... URLs resolve against the app's own origin. Its height follows
    # the content (no empty band under the controls, and it grows when a tile is enlarged).
    st.iframe(player_html(clips, columns=columns), height="content", alt=PLAYER_TITLE)
    return len(clips)
