"""Per-session caches keyed on the ledger's change counter, so an ordinary rerun reads nothing from SQLite twice."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import streamlit as st

from components.runtime import Runtime
from jobs.boards import Boards

T = TypeVar("T")
_PREFIX = "_dc:"


def session_cached(name: str, version: Hashable, build: Callable[[], T]) -> T:
    """build() once per (name, version) in this browser session; a new version replaces the old value."""
    key = _PREFIX + name
    hit = st.session_state.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    value = build()
    st.session_state[key] = (version, value)
    return value


def forget(name: str | None = None) -> None:
    """Drop one cache (or every one) of this session after a write the version would not see."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(_PREFIX)]:
        if name is None or key == _PREFIX + name:
            del st.session_state[key]


@st.cache_resource(on_release=lambda b: b.close(), show_spinner=False)
def _boards_for(ledger_path: str) -> Boards:
    return Boards(ledger_path)


def get_boards(rt: Runtime) -> Boards:
    """The process-wide board store on the runtime's ledger file."""
    return _boards_for(str(rt.ledger.target))


def data_version(rt: Runtime) -> tuple[int, int]:
    """Changes whenever a job or a board changes, in this process or another."""
    return rt.ledger.data_version(), get_boards(rt).version()
