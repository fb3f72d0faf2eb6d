"""How one job looks: its state while running, its clip when done, and plain words when it failed."""

from __future__ import annotations

import time

import streamlit as st

from components.clip_urls import clip_url
from jobs import vocabulary
from jobs.costs import RANGE_TOP_NOTE, range_priced, unpriced
from jobs.failure_text import failure_text
from jobs.ledger import ATTENTION_STATES, Job, JobState
from providers.catalog import Catalog
from providers.errors import ErrorKind, ValidationError


def model_name(catalog: Catalog, model_id: str) -> str:
    try:
        return catalog.get(model_id).display_name
    except ValidationError:  # a model removed from the catalog still has history
        return model_id


def _elapsed(job: Job) -> str:
    start = job.submitted_at or job.created_at or time.time()
    end = job.downloaded_at or job.detected_at or (time.time() if job.state.active else job.updated_at) or start
    return f"{max(0.0, end - start):.0f} s"


def state_badge(job: Job) -> None:
    w = vocabulary.words(job.state)
    st.badge(w.label, color=w.color, help=w.explanation)


def render_active(job: Job, catalog: Catalog, eta_s: float | None) -> None:
    st.markdown(f"**{model_name(catalog, job.model_id)}** · take {job.take + 1}")
    state_badge(job)
    progress = job.progress if job.progress is not None else 0
    eta = f" · ETA ≈ {max(0.0, eta_s):.0f} s" if eta_s is not None else ""
    st.progress(min(100, max(0, progress)) / 100, text=f"{progress}% · {_elapsed(job)} elapsed{eta}")
    if job.needs_key:
        st.warning("Needs attention: re-enter the API key in Settings to resume this job.")


def render_failure(job: Job) -> None:
    """What happened, whether it was charged, what to do: one message (see jobs/failure_text.py)."""
    st.error(failure_text(job).markdown(), icon=":material/error:")
    if job.error_kind in (ErrorKind.AUTH, ErrorKind.BILLING):
        st.page_link("app_pages/settings.py", label="Open Settings to check the key", icon=":material/key:")


def mismatches(job: Job) -> list[str]:
    """Settings the model did not honour, read from the probed clip (only what was actually requested)."""
    meta = job.clip_meta
    honoured = meta.get("honoured") or {}
    wanted = meta.get("requested") or {}
    got = meta.get("probe") or {}
    out = []
    if honoured.get("duration") is False:
        out.append(f"duration: asked {wanted.get('duration_s')} s, got {got.get('duration_s', 0):.1f} s")
    if honoured.get("size") is False:
        size = wanted.get("size") or ["?", "?"]
        out.append(f"resolution: asked {size[0]}x{size[1]}, got {got.get('width')}x{got.get('height')}")
    if honoured.get("audio") is False:
        out.append(f"audio: asked {'sound' if wanted.get('has_audio') else 'silent'}, got "
                   f"{'sound' if got.get('has_audio') else 'silent'}")
    return out


def render_done(job: Job, catalog: Catalog) -> None:
    st.markdown(f"**{model_name(catalog, job.model_id)}** · take {job.take + 1}")
    url = clip_url(job)
    if url:
        st.video(url, muted=True, loop=True)
    probe = job.clip_meta.get("probe") or {}
    facts = []
    if probe:
        facts.append(f"{probe.get('duration_s', 0):.1f} s · {probe.get('width')}x{probe.get('height')}"
                     f" · {probe.get('fps', 0):.0f} fps" + (" · sound" if probe.get("has_audio") else ""))
    if unpriced(job):
        facts.append("no price")
    elif job.est_high_usd is not None:
        simulated = " (simulated)" if job.backend == "sandbox" else ""
        if range_priced(job):  # the top of a range is what was reserved, not what the take cost
            facts.append(f"est. ${job.est_low_usd or 0:.2f}–${job.est_high_usd:.2f} · reserved "
                         f"${job.est_high_usd:.2f} ({RANGE_TOP_NOTE}){simulated}")
        else:
            facts.append(f"est. ${job.est_high_usd:.2f}{simulated}")
    facts.append(f"render {_elapsed(job)}")
    st.caption(" · ".join(facts))
    for text in mismatches(job):
        st.warning(f"Setting not honoured — {text}", icon=":material/rule:")


def render_job(job: Job, catalog: Catalog) -> None:
    if job.state == JobState.DOWNLOADED:
        render_done(job, catalog)
        return
    st.markdown(f"**{model_name(catalog, job.model_id)}** · take {job.take + 1}")
    state_badge(job)
    if job.state in (JobState.FAILED, JobState.EXPIRED, *ATTENTION_STATES) or job.error_kind:
        render_failure(job)
    elif job.state == JobState.CANCELED:
        st.caption(job.note or "Tracking stopped.")
