"""Helpers for the AppTest suite (a module name of its own: several test folders have a conftest)."""

from __future__ import annotations

import time
from collections.abc import Callable

from streamlit.testing.v1 import AppTest


def run_until(at: AppTest, pred: Callable[[AppTest], bool], timeout: float = 30.0) -> AppTest:
    """Rerun (each run stands in for a fragment tick) until `pred` holds; fail with the last state."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if pred(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s; errors: {[e.value for e in at.error]}")
        time.sleep(0.05)  # pacing between reruns, not a race guard: pred decides
