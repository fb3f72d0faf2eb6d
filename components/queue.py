"""The live queue: jobs appear at once, a fragment refreshes them only while something is in flight."""

from __future__ import annotations

import streamlit as st

from components.job_card import render_active, render_job
from components.retry import render_retry
from components.runtime import Runtime
from jobs.ledger import ACTIVE_STATES, Job

RECENT_JOBS = 12
CACHE_KEY = "_queue_cache"


def recent_jobs(rt: Runtime) -> list[Job]:
    """This deployment's running jobs plus the latest takes, cached per session until the runner changes.

    Every session reads the same ledger, so a refresh or a second tab shows the same jobs.
    """
    counter = rt.runner.change_counter
    cached = st.session_state.get(CACHE_KEY)
    if cached and cached[0] == counter:
        return cached[1]
    active = rt.ledger.list_jobs(states=[s.value for s in ACTIVE_STATES])
    latest = rt.ledger.list_jobs(limit=RECENT_JOBS)
    jobs = list({j.id: j for j in [*active, *latest]}.values())
    jobs.sort(key=lambda j: (-(j.created_at or 0), j.run_id, j.take, j.model_id))
    st.session_state[CACHE_KEY] = (counter, jobs)
    return jobs


def _eta(rt: Runtime, job: Job) -> float | None:
    """Real seconds to the expected (p50) finish of this model and mode, from history."""
    left = rt.eta.remaining(job)
    return left[0] if left else None


def render_queue(rt: Runtime) -> None:
    jobs = recent_jobs(rt)
    if not jobs:
        st.info("No takes yet. Write a prompt, pick models and press Generate.", icon=":material/movie:")
        return
    active_ids = [j.id for j in jobs if j.state.active]
    finished_ids = frozenset(j.id for j in jobs if not j.state.active)

    @st.fragment(run_every=1.0 if active_ids else None)
    def live() -> None:
        if not active_ids:
            return
        current = rt.runner.snapshot(active_ids)
        if any(not j.state.active for j in current):
            # Something finished: one full rerun draws its clip and stops this timer when all are done.
            st.session_state.pop(CACHE_KEY, None)
            st.rerun()
        st.subheader(f"Rendering ({len(current)})")
        cols = st.columns(3)
        for i, job in enumerate(current):
            with cols[i % 3], st.container(border=True):
                render_active(job, rt.catalog, _eta(rt, job))
                if st.button("Stop tracking", key=f"stop:{job.id}",
                             help="No CometAPI route documents a cancel: the provider may still render "
                                  "and charge this task."):
                    rt.runner.stop_tracking(job.id)
                    st.session_state.pop(CACHE_KEY, None)
                    st.rerun()

    live()
    done = [j for j in jobs if j.id in finished_ids]
    if done:
        st.subheader("Takes")
        cols = st.columns(3)
        for i, job in enumerate(done):
            with cols[i % 3], st.container(border=True):
                render_job(job, rt.catalog)
                render_retry(rt, job)
