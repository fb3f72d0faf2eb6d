"""History: every take ever generated, newest first, with filters, details, re-run, download and clean-up."""

from __future__ import annotations

import streamlit as st

from components import roles
from components.auth import current_identity
from components.data_cache import forget, session_cached
from components.history_view import (
    KEPT_FILTERS,
    PAGE_SIZE,
    Filters,
    attention_jobs,
    day_bounds,
    describe,
    query,
    render_attention,
    render_detail,
    thumbnail_grid,
)
from components.job_card import model_name
from components.keys import current_backend
from components.runtime import get_runtime
from jobs import vocabulary

rt = get_runtime()
backend = current_backend(rt)
who = current_identity()
st.title("History")

version = rt.ledger.data_version()  # jobs only: nothing here shows a board, so a board edit re-reads nothing
render_attention(rt, session_cached("history_attention", version, lambda: attention_jobs(rt.ledger)))

with st.container(border=True):
    c1, c2, c3 = st.columns([2, 2, 2])
    text = c1.text_input("Search prompts", key="h_text", placeholder="words from the prompt, a task id, a note…")
    models = c2.multiselect("Model", rt.catalog.ids(), format_func=lambda m: model_name(rt.catalog, m),
                            key="h_models")
    states = c3.multiselect("State", vocabulary.filter_options(), format_func=vocabulary.label, key="h_states")
    d1, d2, d3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    dates = d1.date_input("Created between", value=(), key="h_dates", format="YYYY-MM-DD")
    kept = d2.selectbox("Kept / discarded", list(KEPT_FILTERS), format_func=KEPT_FILTERS.get, key="h_kept")
    flagged = d3.toggle("Has flags", key="h_flagged",
                        help="Only clips whose technical checks found something: black frames, a freeze, flicker, "
                             "bars, a hard cut, odd motion or sound trouble.")

    # A viewer starts no jobs of their own: they watch everyone's from the start.
    everyone = bool(who.email) and st.toggle(
        "Everyone's jobs", key="h_everyone", value=not roles.may(roles.GENERATE),
        help="Off: only the jobs you started. On: every job on this deployment.")

start, end = (tuple(dates) + (None, None))[:2] if isinstance(dates, tuple | list) else (dates, None)
since, until = day_bounds(start, end)
filters = Filters(text=text, model_ids=tuple(models), states=tuple(states), since=since, until=until, kept=kept,
                  flagged=flagged, owner=who.email if who.email and not everyone else None)
if st.session_state.get("_h_filters") != describe(filters):  # new filters start at the first page
    st.session_state["_h_filters"] = describe(filters)
    st.session_state["h_page"] = 1

page_no = int(st.session_state.get("h_page", 1))
result = session_cached("history_page", (version, describe(filters), page_no),
                        lambda: query(rt.ledger, filters, page_no - 1))
pages = max(1, -(-result.total // PAGE_SIZE))
if page_no > pages:
    st.session_state["h_page"] = pages
    st.rerun()

n1, n2 = st.columns([3, 1], vertical_alignment="bottom")
n1.markdown(f"**{result.total} job{'s' if result.total != 1 else ''}** · page {page_no} of {pages}")
n2.number_input("Page", min_value=1, max_value=pages, step=1, key="h_page")

if not result.jobs:
    unfiltered = describe(filters) == describe(Filters(owner=filters.owner))
    if unfiltered and filters.owner:
        message = "You have started no jobs yet. Turn on \"Everyone's jobs\" to see the team's."
    elif unfiltered:
        message = "No jobs yet: every take generated here, on Library or by the batch CLI appears on this page."
    else:
        message = "No job matches these filters."
    st.info(message, icon=":material/search_off:")
else:
    st.html(thumbnail_grid(result.jobs, rt.catalog))

    on_page = {j.id: j for j in result.jobs}
    linked = st.query_params.get("job")
    if linked and linked not in on_page:
        found = rt.ledger.get(linked)
        if found is not None:
            on_page = {found.id: found, **on_page}
    options = ["", *on_page]
    if st.session_state.get("h_open") not in options:
        st.session_state.pop("h_open", None)
    if linked in on_page and "h_open" not in st.session_state:
        st.session_state["h_open"] = linked

    def _label(job_id: str) -> str:
        if not job_id:
            return "—"
        job = on_page[job_id]
        prompt = " ".join(str(job.recipe.get("prompt", "")).split())[:50]
        return f"{model_name(rt.catalog, job.model_id)} · {vocabulary.label(job.state)} · {prompt} · {job.id[:8]}"

    opened = st.selectbox("Open a job", options, format_func=_label, key="h_open")
    if opened:
        job = rt.ledger.get(opened)
        if job is None:
            forget()
        else:
            render_detail(rt, backend, job)
