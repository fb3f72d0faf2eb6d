"""One client request id per form submission: a double click or a rerun within the window is the same request.

The runner turns a repeated request id into the jobs it already created, so the provider is paid once.
"""

from __future__ import annotations

import hashlib
import time
import uuid

import streamlit as st

DUPLICATE_WINDOW_S = 5.0
_STATE_KEY = "_submit_guard"


def request_id_for(*parts: object, window_s: float = DUPLICATE_WINDOW_S) -> str:
    """The same id for the same submission (same `parts`) repeated within `window_s`; a new one otherwise."""
    signature = hashlib.sha256(repr(parts).encode()).hexdigest()
    last = st.session_state.get(_STATE_KEY)
    now = time.time()
    if last and last[0] == signature and now - last[2] < window_s:
        return last[1]
    request_id = uuid.uuid4().hex
    st.session_state[_STATE_KEY] = (signature, request_id, now)
    return request_id
