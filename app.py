"""Dailies: the entry point builds the navigation and the shared frame (sidebar); pages do the rest."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from components.auth import gate, render_banner, render_user
from components.draft_state import ensure_draft
from components.runtime import get_runtime
from components.sidebar import render_sidebar
from providers.redact import RedactingFilter

# A local file, not ":material/movie:": Streamlit fetches a material page icon from fonts.gstatic.com, and an
# offline app must make no request to another host.
ICON = Path(__file__).resolve().parent / "static" / "dailies-icon.png"
st.set_page_config(page_title="Dailies", page_icon=str(ICON), layout="wide")
# Records from every library pass through the root handlers: scrub keys and signed-URL tokens there.
for handler in logging.getLogger().handlers:
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())


pages = [
    st.Page("app_pages/generate.py", title="Generate", icon=":material/movie_edit:", default=True),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/view_column:"),
    st.Page("app_pages/costs.py", title="Costs", icon=":material/payments:"),
    st.Page("app_pages/history.py", title="History", icon=":material/history:"),
    st.Page("app_pages/blind_review.py", title="Review", icon=":material/how_to_vote:"),
    st.Page("app_pages/rankings.py", title="Rankings", icon=":material/leaderboard:"),
    st.Page("app_pages/prompt_library.py", title="Library", icon=":material/book:"),
    st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
]
# Before anything reads the store: a team deployment shows nobody's data to a request with no signed-in user
# (the pages stay registered, hidden, so a deep link shows the sign-in screen rather than 'page not found').
who = gate(pages)
runtime = get_runtime()
nav = st.navigation(pages)
# Every run, whatever the page: Streamlit clears query parameters on a page change, and the draft id in the URL
# is what lets a reload find the recipe again.
ensure_draft()
render_sidebar(runtime)
with st.sidebar:
    render_user(who)
render_banner(who)
nav.run()
