"""How much a full rerun of the History page costs with 1,000 jobs in the ledger, against the same page empty.

Both are measured in one process with AppTest (the real app from app.py, sidebar included): each ledger
is opened by a fresh runtime, the page is run once (filling the session caches, as a user's first visit
does), then timed over `--reruns` ordinary reruns. The 1,000 jobs are written straight through the Ledger
API; every job carries one of a few real thumbnails, so the page renders a full page of them.

    .venv/bin/python -m bench.history_rerun                # 1,000 jobs, 15 reruns each
    .venv/bin/python -m bench.history_rerun --jobs 200 --reruns 3
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

TARGET_RATIO = 4.0
MODELS = ("veo3.1-fast", "veo3.1", "kling-v1-6", "gen3a_turbo", "sora-2")
STATES = ("downloaded",) * 17 + ("failed", "canceled", "expired")


def seed(data_dir: Path, clips_dir: Path, jobs: int) -> None:
    """`jobs` rows of realistic shape (recipe, mapping, probe, costs) in one transaction."""
    import json

    from bench.store_calls import thumbnails
    from components.runtime import clips_url_prefix
    from jobs import settings
    from jobs.ledger import Ledger

    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    thumbs = thumbnails(clips_dir, clips_url_prefix(clips_dir))
    now = time.time()
    specs = []
    for i in range(jobs):
        model, state = MODELS[i % len(MODELS)], STATES[i % len(STATES)]
        done = state == "downloaded"
        specs.append({
            "run_id": f"run-{i // 3}", "take": 0, "model_id": model,
            "family": model.split("-")[0].rstrip("0123456789."),
            "backend": "sandbox", "base_url": "http://127.0.0.1:8765", "key_fingerprint": "bench",
            "recipe_json": json.dumps({"prompt": f"take {i}: a red kite over a beach at dawn", "duration_s": 8}),
            "mapping_json": json.dumps({"report": [{"field": "duration", "sent": "8"}], "requested_duration_s": 8,
                                        "requested_size": [1280, 720], "has_audio": True}),
            "state": state, "task_id": f"task-{i}", "est_low_usd": 0.4, "est_high_usd": 0.4,
            "created_at": now - (jobs - i) * 60, "submitted_at": now - (jobs - i) * 60 + 1,
            "detected_at": now - (jobs - i) * 60 + 50, "kept": (1, 0, None)[i % 3],
            "thumb_url": thumbs[i % len(thumbs)] if done else None,
            "clip_url": f"/app/static/clips/missing-{i}.mp4" if done else None,
            "clip_meta_json": json.dumps({"probe": {"duration_s": 8.0, "width": 1280, "height": 720, "fps": 24,
                                                    "has_audio": True}}) if done else None,
        })
    ledger.create_jobs(specs)
    ledger.close()


def _time_page(data_dir: Path, clips_dir: Path, reruns: int) -> tuple[list[float], str]:
    """Seconds per ordinary rerun of History, and the page's job-count line (to prove what was shown)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from jobs import settings

    os.environ["DAILIES_DATA_DIR"] = str(data_dir)
    os.environ["DAILIES_CLIPS_DIR"] = str(clips_dir)
    st.cache_resource.clear()
    at = AppTest.from_file(str(settings.PROJECT_ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/history.py").run()
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    times = []
    for _ in range(reruns):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    count = next((m.value for m in at.markdown if " job" in m.value and "page" in m.value), "")
    grid = next((h.proto.body for h in at.get("html") if "hgrid" in h.proto.body), "")
    thumbs = len(re.findall(r"<img ", grid))
    tiles = len(re.findall(r'class="tile"', grid))
    st.cache_resource.clear()
    return times, f"{count.replace('**', '')} · {tiles} tiles, {thumbs} with a thumbnail"


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--reruns", type=int, default=15)
    args = parser.parse_args(argv)
    from jobs import settings

    os.environ.setdefault("DAILIES_SANDBOX_PORT", "0")
    os.environ.pop("COMETAPI_KEY", None)
    root = Path(tempfile.mkdtemp(prefix="bench-history-"))
    clips_dir = settings.PROJECT_ROOT / "static" / "clips" / f"test-bench-{uuid.uuid4().hex[:8]}"
    clips_dir.mkdir(parents=True)
    try:
        full, empty = root / "full", root / "empty"
        full.mkdir()
        empty.mkdir()
        seed(full, clips_dir, args.jobs)
        rows = []
        for name, data in (("empty ledger", empty), (f"{args.jobs} jobs", full)):
            times, shown = _time_page(data, clips_dir, args.reruns)
            rows.append((name, statistics.median(times), min(times), max(times), shown))
        ratio = rows[1][1] / rows[0][1]
        out(f"History page, full rerun (AppTest, median of {args.reruns}):")
        out("| page | median ms | min ms | max ms | shown |")
        out("|---|---|---|---|---|")
        for name, med, lo, hi, shown in rows:
            out(f"| {name} | {med * 1000:.1f} | {lo * 1000:.1f} | {hi * 1000:.1f} | {shown} |")
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        out(f"| ratio | {ratio:.2f}x | | | target ≤ {TARGET_RATIO:g}x: {verdict} |")
        return 0
    finally:
        shutil.rmtree(clips_dir, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
