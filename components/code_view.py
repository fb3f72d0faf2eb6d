""""View code": runnable Python and Node.js for exactly the request a card will send."""

from __future__ import annotations

import streamlit as st

from providers import codegen
from providers.submission import Submission


def render_code_view(sub: Submission, base_url: str) -> None:
    python_tab, node_tab = st.tabs(["Python", "Node.js"])
    with python_tab:
        st.code(codegen.python_snippet(sub, base_url), language="python")
        st.caption("Needs `pip install httpx`. The key is read from COMETAPI_KEY.")
    with node_tab:
        st.code(codegen.node_snippet(sub, base_url), language="javascript")
        st.caption("Node.js 18+. The key is read from COMETAPI_KEY.")
