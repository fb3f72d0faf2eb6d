"""History and Compare reruns with 10,000 jobs, SQLite and PostgreSQL, each against an empty ledger of its backend.

What runs, per backend: the real app (app.py, sidebar included) in AppTest, once on an empty ledger, once on a
ledger of `--jobs` jobs (bench/store_seed.py: runs of 1-3 models × 1-3 takes, 80 % downloaded with clip keys,
thumbnails and technical flags), then on the empty one again (two baseline samples; their drift is reported).
Each page is visited once untimed, then timed two ways:

* **ordinary**: a rerun where nothing changed (the pages' session caches hit; what a click or a player costs);
* **after a job write**: a rerun after another writer moved the ledger's change counter (an empty write on its
  channel, as every job update by a worker does), so the page reads its job data again;
* **after a board write**: the same with the boards' counter (a new run became a board, a take was added).

The app runs with DAILIES_ENGINE=external (a team's app replicas; workers drive the jobs elsewhere), so no
engine thread writes during the timings; on PostgreSQL with DAILIES_AUTH=none (every job shown to everyone). The
PostgreSQL database is created with a unique name on the server `--pg-server` (default: tests/pg_helpers.py's,
i.e. DAILIES_TEST_PG_URL or scripts/ensure-postgres.sh), ANALYZEd after seeding (as autovacuum would be within a
minute) and dropped at the end. A second table times the data calls the pages make, outside Streamlit.

    .venv/bin/python -m bench.store_scale                          # 10,000 jobs, both backends, 10 reruns
    .venv/bin/python -m bench.store_scale --jobs 2000 --reruns 5 --backends sqlite
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import store_calls
from bench.store_seed import job_specs, seed

TARGET_RATIO = 4.0
PAGES = {"History": "app_pages/history.py", "Compare": "app_pages/compare.py"}
KINDS = ("ordinary", "after a job write", "after a board write")
# A baseline is called starved when its own samples disagree this much: then a ratio against it means little.
SPREAD_LIMIT = 2.0  # slowest / median rerun
DRIFT_LIMIT = 0.5  # |first − second baseline median| / the smaller
CPU_SHARE_FLOOR = 0.5  # this process's CPU seconds per wall second while timing (below: waiting for a core)


@dataclass
class Sample:
    times: list[float]
    cpu_share: float
    load: float
    shown: str

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _shown(at: object, page: str) -> str:
    if page == "History":
        count = next((m.value for m in at.markdown if " job" in m.value and "page" in m.value), "")
        return count.replace("**", "")
    boards = next((s for s in at.selectbox if s.key == "compare_board"), None)
    if boards is None:
        return "no boards"
    return f"{len(boards.options)} boards"


def _time(at: object, page: str, reruns: int, before: Callable[[], None]) -> Sample:
    times = []
    load = os.getloadavg()[0]
    cpu0, wall0 = _cpu(), time.perf_counter()
    for _ in range(reruns):
        before()
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    share = (_cpu() - cpu0) / max(1e-9, time.perf_counter() - wall0)
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    return Sample(times, share, max(load, os.getloadavg()[0]), _shown(at, page))


def measure_app(target: str | Path, data_dir: Path, clips_dir: Path, reruns: int) -> dict[tuple[str, str], Sample]:
    """(page, kind) -> timings of AppTest reruns on this ledger."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from jobs import settings
    from jobs.ledger import Ledger

    os.environ["DAILIES_DATA_DIR"] = str(data_dir)
    os.environ["DAILIES_CLIPS_DIR"] = str(clips_dir)
    if isinstance(target, str):
        os.environ["DAILIES_DATABASE_URL"] = target
        os.environ["DAILIES_AUTH"] = "none"  # a shared store needs a sign-in mode; everyone sees every job
    else:
        os.environ.pop("DAILIES_DATABASE_URL", None)
        os.environ.pop("DAILIES_AUTH", None)
    st.cache_resource.clear()
    other = Ledger(target)  # another writer on the same database (on PostgreSQL, this process's pool)

    def bump(channel: str) -> Callable[[], None]:
        def write() -> None:
            with other.database.write(channel):
                pass

        return write

    out: dict[tuple[str, str], Sample] = {}
    try:
        at = AppTest.from_file(str(settings.PROJECT_ROOT / "app.py"), default_timeout=300)
        at.run()
        # Ordinary reruns of both pages first: a write's change notification arriving late cannot touch them.
        for kind, before in zip(KINDS, (lambda: None, bump("ledger"), bump("boards")), strict=True):
            for page, path in PAGES.items():
                at.switch_page(path).run()
                at.run()
                out[(page, kind)] = _time(at, page, reruns, before)
    finally:
        other.close()
        st.cache_resource.clear()
    return out


def _fmt(s: Sample) -> str:
    return (f"{s.median * 1000:.1f} | {min(s.times) * 1000:.1f} | {max(s.times) * 1000:.1f} | "
            f"{s.cpu_share:.2f} | {s.load:.1f}")


def starved(first: Sample, second: Sample) -> list[str]:
    """Why a baseline (two samples of the empty ledger) cannot be trusted, if it cannot."""
    why = []
    pooled = first.times + second.times
    spread = max(pooled) / statistics.median(pooled)
    if spread > SPREAD_LIMIT:
        why.append(f"spread {spread:.1f}x")
    drift = abs(first.median - second.median) / min(first.median, second.median)
    if drift > DRIFT_LIMIT:
        why.append(f"drift {drift:.0%}")
    share = min(first.cpu_share, second.cpu_share)
    if share < CPU_SHARE_FLOOR:
        why.append(f"CPU share {share:.2f}")
    cores = os.cpu_count() or 1
    load = max(first.load, second.load)
    if load > cores:
        why.append(f"load {load:.1f} on {cores} cores")
    return why


def report(results: dict[str, dict[str, dict[tuple[str, str], Sample]]], jobs: int, reruns: int,
           out: Callable[[str], None]) -> bool:
    """Prints the rerun table and the ratios; True when every ratio met the target on a trusted baseline."""
    out(f"History and Compare, full reruns (AppTest, {reruns} each; CPU = this process's CPU s per wall s; "
        "load = 1-min load average):")
    out("| backend | ledger | page | rerun | median ms | min ms | max ms | CPU | load | shown |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    for backend, ledgers in results.items():
        for ledger, samples in ledgers.items():
            for (page, kind), s in samples.items():
                out(f"| {backend} | {ledger} | {page} | {kind} | {_fmt(s)} | {s.shown} |")
    out("")
    out(f"Ratios: {jobs} jobs / empty ledger of the same backend (baseline: median of both empty samples):")
    out("| backend | page | rerun | empty ms | full ms | ratio | target | baseline |")
    out("|---|---|---|---|---|---|---|---|")
    all_met = True
    for backend, ledgers in results.items():
        for page in PAGES:
            for kind in KINDS:
                first, second = ledgers["empty"][(page, kind)], ledgers["empty again"][(page, kind)]
                base = statistics.median(first.times + second.times)
                full = ledgers[f"{jobs} jobs"][(page, kind)].median
                ratio = full / base
                why = starved(first, second)
                met = ratio <= TARGET_RATIO
                all_met &= met and not why
                verdict = f"≤ {TARGET_RATIO:g}x: {'met' if met else 'MISSED'}"
                trust = ("BASELINE STARVED: " + ", ".join(why)) if why else "steady"
                out(f"| {backend} | {page} | {kind} | {base * 1000:.1f} | {full * 1000:.1f} | {ratio:.2f}x | "
                    f"{verdict} | {trust} |")
    return all_met


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--reruns", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--pg-server", default=None, help="postgresql://user@host:port (default: the tests' server)")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"--backends: {', '.join(sorted(unknown))} is not one of sqlite, postgresql")
    from components.runtime import clips_url_prefix
    from jobs import settings

    saved_env = dict(os.environ)  # the bench points the app at each ledger through the environment
    os.environ.setdefault("DAILIES_SANDBOX_PORT", "0")
    os.environ["DAILIES_ENGINE"] = "external"
    os.environ.pop("COMETAPI_KEY", None)
    root = Path(tempfile.mkdtemp(prefix="bench-store-"))
    clips_dir = settings.PROJECT_ROOT / "static" / "clips" / f"test-bench-{uuid.uuid4().hex[:8]}"
    clips_dir.mkdir(parents=True)
    created: list[str] = []
    try:
        thumbs = store_calls.thumbnails(clips_dir, clips_url_prefix(clips_dir))
        specs = job_specs(args.jobs, thumbs, clips_url_prefix(clips_dir))
        results: dict[str, dict[str, dict[tuple[str, str], Sample]]] = {}
        calls: dict[str, dict[str, dict[str, float]]] = {}
        for backend in backends:
            targets: dict[str, str | Path] = {}
            for name in ("empty", "full"):
                (root / backend / name).mkdir(parents=True)
                if backend == "sqlite":
                    targets[name] = root / backend / name / settings.LEDGER_FILENAME
                else:
                    url = store_calls.create_pg_database(args.pg_server, f"storebench_{name}")
                    created.append(url)
                    targets[name] = url
            took = seed(targets["full"], specs)
            if backend == "postgresql":
                store_calls.analyze_pg(str(targets["full"]))
            out(f"{backend}: seeded {args.jobs} jobs and their run boards in {took:.1f} s")
            results[backend] = {}
            for ledger, name in (("empty", "empty"), (f"{args.jobs} jobs", "full"), ("empty again", "empty")):
                results[backend][ledger] = measure_app(targets[name], root / backend / name, clips_dir, args.reruns)
            calls[backend] = {name: store_calls.time_calls(targets[name], args.reruns) for name in ("empty", "full")}
        out("")
        all_met = report(results, args.jobs, args.reruns, out)
        out("")
        store_calls.report(calls, args.jobs, out)
        out("")
        out("all ratios met on steady baselines" if all_met else "NOT all ratios met on steady baselines (above)")
        return 0
    finally:
        for url in created:
            store_calls.drop_pg_database(url)
        for name in set(os.environ) - set(saved_env) - {"DAILIES_TEST_PG_URL"}:
            del os.environ[name]
        os.environ.update(saved_env)
        shutil.rmtree(clips_dir, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
