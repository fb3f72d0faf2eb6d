"""ETA from history: p50/p90 per model and mode from the ledger, the catalog prior until there is enough."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jobs.eta import EtaBook, describe, estimate_render_time
from jobs.ledger import JobState, Ledger
from providers.catalog import load_catalog


@pytest.fixture
def ledger(tmp_path: Path):
    led = Ledger(tmp_path / "ledger.sqlite3")
    yield led
    led.close()


def _finished(ledger: Ledger, model_id: str, render_s: float, *, mode: str | None = None, scale: float = 1.0) -> None:
    job = ledger.create_job(run_id="r", model_id=model_id, family="kling", backend="sandbox", base_url="http://x",
                            recipe_json="{}", options_json=json.dumps({"mode": mode} if mode else {}),
                            time_scale=scale)
    start = time.time() - 1000
    ledger.record_task_id(job.id, "t-" + job.id, submitted_at=start)
    ledger.transition(job.id, JobState.DOWNLOADED, detected_at=start + render_s * scale)


def test_each_mode_learns_its_own_render_time(ledger: Ledger) -> None:
    catalog = load_catalog()
    for s in (20, 25, 30, 35, 40):
        _finished(ledger, "kling-v1-6", s, mode="std")
    for s in (80, 90, 100, 110):
        _finished(ledger, "kling-v1-6", s, mode="pro")
    std = estimate_render_time(ledger, catalog, "kling-v1-6", "std")
    assert (std.p50_s, std.p90_s, std.source, std.samples) == (30, 40, "history", 5)
    prior = catalog.get("kling-v1-6").render
    pro = estimate_render_time(ledger, catalog, "kling-v1-6", "pro")
    assert (pro.p50_s, pro.p90_s, pro.source) == (prior.p50_s, prior.p90_s, "catalog"), "4 pro samples: too few"

    _finished(ledger, "kling-v1-6", 120, mode="pro")
    pro = estimate_render_time(ledger, catalog, "kling-v1-6", "pro")
    assert (pro.p50_s, pro.p90_s, pro.samples) == (100, 120, 5), "std times never leak into pro"
    assert estimate_render_time(ledger, catalog, "kling-v1-6").p50_s == 30, "no mode means the default (std)"


def test_jobs_sent_without_a_mode_count_as_the_default_and_sandbox_time_is_unscaled(ledger: Ledger) -> None:
    catalog = load_catalog()
    for s in (10, 20, 30, 40, 50):
        _finished(ledger, "kling-v1-6", s, scale=0.01)  # sandbox at 100x: 0.1-0.5 real seconds
    rt = estimate_render_time(ledger, catalog, "kling-v1-6", "std")
    assert rt.p50_s == pytest.approx(30) and rt.samples == 5
    assert "from 5 of your runs" in describe(rt) and "≈ 30 s" in describe(rt)
    veo = estimate_render_time(ledger, catalog, "veo3.1-fast")
    assert veo.source == "catalog" and "catalog estimate" in describe(veo)


def test_eta_book_counts_down_a_running_job(ledger: Ledger) -> None:
    catalog = load_catalog()
    book = EtaBook(ledger, catalog)
    job = ledger.create_job(run_id="r", model_id="veo3.1-fast", family="veo", backend="live", base_url="http://x",
                            recipe_json="{}")
    assert book.remaining(job) is None, "no ETA before it is submitted"
    ledger.record_task_id(job.id, "task-1", submitted_at=1000.0)
    job = ledger.transition(job.id, JobState.RUNNING)
    prior = catalog.get("veo3.1-fast").render
    p50, p90 = book.remaining(job, now=1010.0)
    assert (p50, p90) == (prior.p50_s - 10, prior.p90_s - 10)
