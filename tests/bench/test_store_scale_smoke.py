"""The store-scale benchmark runs end to end on both backends with a tiny ledger (numbers are not judged): every
row and ratio is printed, the pages showed the seeded jobs and boards, and its PostgreSQL databases are gone."""

from __future__ import annotations

import os

import streamlit as st

from bench.store_scale import main
from tests import pg_helpers


def test_smoke_run_prints_every_row_and_drops_its_databases(pg_server_url: str, monkeypatch) -> None:
    monkeypatch.setenv("DAILIES_SANDBOX_PORT", "0")
    monkeypatch.setenv("DAILIES_DATA_DIR", "/nonexistent-overwritten-by-bench")
    monkeypatch.delenv("DAILIES_ENGINE", raising=False)
    before = set(pg_helpers.list_test_databases(pg_server_url))
    lines: list[str] = []
    try:
        assert main(["--jobs", "40", "--reruns", "2", "--pg-server", pg_server_url], out=lines.append) == 0
    finally:
        st.cache_resource.clear()
    text = "\n".join(lines)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for backend in ("sqlite", "postgresql"):
        for ledger in ("empty", "40 jobs", "empty again"):
            for page in ("History", "Compare"):
                for kind in ("ordinary", "after a job write", "after a board write"):
                    assert any(r.startswith(f"| {backend} | {ledger} | {page} | {kind} |") for r in rows), text
        assert f"| {backend} | 40 jobs | History | ordinary |" in text
        full = [r for r in rows if r.startswith(f"| {backend} | 40 jobs |")]
        assert all("40 jobs · page 1 of 2" in r for r in full if "| History |" in r), text
        assert all(" boards |" in r and "no boards" not in r for r in full if "| Compare |" in r), text
        empty = [r for r in rows if r.startswith(f"| {backend} | empty")]
        assert all("0 jobs" in r or "no boards" in r for r in empty), text
        assert sum(r.startswith((f"| {backend} | History |", f"| {backend} | Compare |"))
                   for r in rows) == 6, text  # the ratio rows
    assert "| Compare: boards.list() |" in text and "sqlite full | postgresql empty" in text
    left = {n for n in set(pg_helpers.list_test_databases(pg_server_url)) - before if "storebench" in n}
    assert left == set(), left
    assert os.environ.get("DAILIES_ENGINE") is None and os.environ["DAILIES_DATA_DIR"].startswith("/nonexistent")
