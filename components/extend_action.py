"""Extend (Kling): continue a downloaded Kling take from Compare or History, with the retention rule said."""

from __future__ import annotations

import streamlit as st

from components import roles
from components.data_cache import forget
from components.keys import current_backend
from components.runtime import Runtime
from components.submit_guard import request_id_for
from jobs import extend
from jobs.ledger import Job
from jobs.prefs import period_start
from providers.families.kling_extend import PROMPT_MAX

LINK_WORDS = {"extend": "extends", "retry": "retries", "remix": "remixes", "fallback": "falls back for"}


def lineage_caption(job: Job) -> str | None:
    """"extends take 1a2b3c4d": how this take came from its parent, for cards, History and the board."""
    if not job.parent_job_id:
        return None
    return f"{LINK_WORDS.get(job.link_kind or 'fallback', 'follows')} take `{job.parent_job_id[:8]}`"


def render_extend(rt: Runtime, job: Job, *, key_prefix: str) -> None:
    """An "Extend" expander under a downloaded Kling take; nothing for other takes."""
    if job.family not in extend.EXTENDABLE_FAMILIES:
        return
    verdict = extend.check(job)
    if not verdict.allowed and verdict.video_id is None and "downloaded" in verdict.reason:
        return  # not finished yet: nothing to offer
    with st.expander("Extend", icon=":material/arrow_forward:"):
        refused = roles.refusal(roles.GENERATE)
        if refused:
            st.info(refused, icon=":material/block:")
            return
        if not verdict.allowed:
            st.info(verdict.reason, icon=":material/block:")
            return
        if verdict.warning:
            st.warning(verdict.warning, icon=":material/schedule:")
        st.caption("A new take continuing this one, on the same account (Kling keeps videos 30 days).")
        prompt = st.text_input("What happens next", key=f"{key_prefix}_extend:{job.id}", max_chars=PROMPT_MAX)
        if st.button("Extend", key=f"{key_prefix}_extend_go:{job.id}", disabled=not prompt.strip(),
                     icon=":material/arrow_forward:"):
            backend = current_backend(rt)
            live = not backend.sandbox
            result = extend.submit_extend(
                rt.ledger, rt.runner, rt.runner.catalog, backend, job, prompt,
                request_id=request_id_for("extend", job.id, prompt.strip()),
                budget_limit_usd=rt.prefs.budget_usd if live else None,
                budget_period_start=period_start(rt.prefs.budget_period) if live else None,
                **roles.admission(rt.prefs, backend.sandbox))
            (st.success if result.job_id and "failed" not in result.message else st.error)(result.message)
            forget()
