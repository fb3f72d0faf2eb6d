"""The data calls History, Compare and the sidebar make, timed one by one outside Streamlit (bench/store_scale.py).

Where the page table says a rerun grew, this one says which query grew. The calls are the pages' own
(components/history_view.py `query`, app_pages/compare.py `_load`, components/sidebar.py), with the filters a
user sets most: a search word, one model, a state, "has flags", a deep page.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from jobs.ledger import ACTIVE_STATES, ATTENTION_STATES, JobState, Ledger
from jobs.store.boards import Boards

PAGE = 24


def thumbnails(clips_dir: Path, url_prefix: str, count: int = 4) -> list[str]:
    """A few real JPEGs, so History renders a full grid of pictures."""
    from PIL import Image

    urls = []
    for i in range(count):
        name = f"bench-thumb-{i}.jpg"
        Image.new("RGB", (320, 180), (40 * i, 90, 160)).save(clips_dir / name, format="JPEG")
        urls.append(f"{url_prefix}/{name}")
    return urls


def create_pg_database(server: str | None, prefix: str) -> str:
    """A new, uniquely named database on the tests' server (or `server`); its name marks it a test database, so
    a run killed before its cleanup is swept by the next test session a day later."""
    from tests import pg_helpers

    return pg_helpers.create_database(prefix, base=server or pg_helpers.server_url())


def analyze_pg(url: str) -> None:
    """What autovacuum does within a minute of a bulk load: without statistics the planner guesses 30 rows per
    state and sorts the whole table for a page (26 ms instead of 1.5 ms for History's page 100 here)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def drop_pg_database(url: str) -> None:
    from tests import pg_helpers

    pg_helpers.drop_database(url)


def _calls(ledger: Ledger, boards: Boards) -> dict[str, Callable[[], object]]:
    def page(**filters: object) -> Callable[[], object]:
        return lambda: (ledger.count_jobs(**filters), ledger.list_jobs(limit=PAGE, **filters))

    def compare() -> object:
        boards.sync_runs()
        listed = boards.list()
        return ledger.get_many({i for b in listed for i in b.job_ids})

    return {
        "sidebar: 2 counts, 2 spend totals": lambda: (
            ledger.count_jobs(states=[s.value for s in ACTIVE_STATES]),
            ledger.count_jobs(states=[s.value for s in ATTENTION_STATES]),
            ledger.spend_total("live", since=0.0), ledger.spend_total("sandbox", since=0.0)),
        "data_version (ledger + boards)": lambda: (ledger.data_version(), boards.version()),
        "History: count + first page": page(),
        "History: count + page 100": lambda: (ledger.count_jobs(), ledger.list_jobs(limit=PAGE, offset=99 * PAGE)),
        "History: search 'kite'": page(text="kite"),
        "History: one model": page(model_id="kling-v1-6"),
        "History: state failed": page(states=["failed"]),
        "History: has flags": page(flagged=True),
        "History: attention list": lambda: ledger.list_jobs(
            states=[s.value for s in (JobState.STALE, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED)]),
        "Compare: sync_runs (nothing new)": boards.sync_runs,
        "Compare: boards.list()": boards.list,
        "Compare: whole _load (sync, list, get_many)": compare,
        "Compare: 300 downloaded to pick": lambda: ledger.list_jobs(states=["downloaded"], limit=300),
    }


def time_calls(target: str | Path, repeats: int) -> dict[str, float]:
    """call -> median seconds over `repeats` (after one untimed call)."""
    ledger = Ledger(target)
    boards = Boards(ledger.database)
    try:
        medians = {}
        for name, call in _calls(ledger, boards).items():
            call()
            times = []
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            medians[name] = statistics.median(times)
        return medians
    finally:
        boards.close()
        ledger.close()


def report(calls: dict[str, dict[str, dict[str, float]]], jobs: int, out: Callable[[str], None]) -> None:
    backends = list(calls)
    out("Data calls the pages make (median ms; full = " f"{jobs} jobs):")
    out("| call | " + " | ".join(f"{b} empty | {b} full" for b in backends) + " |")
    out("|---|" + "---|---|" * len(backends))
    names = list(next(iter(calls.values()))["empty"])
    for name in names:
        cells = " | ".join(f"{calls[b]['empty'][name] * 1000:.2f} | {calls[b]['full'][name] * 1000:.2f}"
                           for b in backends)
        out(f"| {name} | {cells} |")
