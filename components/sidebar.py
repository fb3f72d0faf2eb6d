"""The shared frame: which backend this session talks to, what is running, and spend against budget."""

from __future__ import annotations

import streamlit as st

from components.auth import current_owner
from components.clip_urls import clip_store_label
from components.keys import current_backend
from components.runtime import Runtime
from jobs.ledger import ACTIVE_STATES, ATTENTION_STATES
from jobs.prefs import period_start


def render_sidebar(rt: Runtime) -> None:
    backend = current_backend(rt)
    with st.sidebar:
        if backend.sandbox:
            st.badge("Sandbox", icon=":material/science:", color="orange")
            st.caption("No API key: everything runs against the local simulator. Nothing is charged.")
        else:
            st.badge("Live", icon=":material/bolt:", color="green")
            st.caption("Talking to CometAPI with your key. Takes cost real money.")
        running = rt.ledger.count_jobs(states=[s.value for s in ACTIVE_STATES])
        attention = rt.ledger.count_jobs(states=[s.value for s in ATTENTION_STATES])
        st.metric("Jobs running", running)
        if attention:
            st.warning(f"{attention} job(s) need attention — see History.", icon=":material/warning:")
        since = period_start(rt.prefs.budget_period)
        spent = rt.ledger.spend_total("live", since=since)
        budget = rt.prefs.budget_usd
        st.metric(f"Live spend this {rt.prefs.budget_period}", f"${spent:.2f}", help=f"Budget ${budget:.2f}")
        st.progress(min(1.0, spent / budget) if budget else 1.0, text=f"${spent:.2f} of ${budget:.2f}")
        owner = current_owner()
        if owner:
            mine = rt.ledger.spend_total("live", since=since, owner=owner)
            limit = rt.prefs.person_budget_usd
            st.caption(f"you: ${mine:.2f}" + (f" of ${limit:.2f}" if limit is not None else "") +
                       f" this {rt.prefs.budget_period} · team: ${spent:.2f} of ${budget:.2f}")
        simulated = rt.ledger.spend_total("sandbox", since=since)
        st.caption(f"Simulated (sandbox) spend, never counted: ${simulated:.2f}")
        st.caption(f"Ledger: {rt.ledger.backend_name} · Clips: {clip_store_label(rt.clips)}")
