"""The History rerun benchmark runs end to end on a small ledger and prints both rows (numbers are not judged)."""

from __future__ import annotations

import streamlit as st

from bench.history_rerun import main


def test_smoke_run_prints_both_pages_and_a_ratio(monkeypatch) -> None:
    monkeypatch.setenv("DAILIES_SANDBOX_PORT", "0")
    monkeypatch.setenv("DAILIES_DATA_DIR", "/nonexistent-overwritten-by-bench")
    lines: list[str] = []
    try:
        assert main(["--jobs", "40", "--reruns", "2"], out=lines.append) == 0
    finally:
        st.cache_resource.clear()
    text = "\n".join(lines)
    assert "| empty ledger |" in text and "0 jobs" in text
    assert "| 40 jobs |" in text and "24 tiles" in text and "| ratio |" in text
