"""Cost figures: the calculator and recorded cost, against values computed by hand from the catalog."""

from __future__ import annotations

import dataclasses
import json

import pytest

from jobs.costs import calculate, recorded_cost, spend_by_model, totals
from jobs.ledger import Job, JobState
from providers.catalog import load_catalog
from providers.errors import ValidationError

CATALOG = load_catalog()


def _job(model: str, state: JobState, *, est: float, probed: float | None = None, size: str | None = None,
         mode: str | None = None, charged: str | None = None, kept: int | None = None) -> Job:
    report = [{"field": "aspect_ratio", "sent": size}] if size else []
    meta = {"probe": {"duration_s": probed, "width": 1280, "height": 720}} if probed else {}
    return Job(id=f"{model}-{state}-{est}-{probed}", run_id="r", take=0, model_id=model, family="veo",
               backend="sandbox", base_url="x", key_fingerprint=None, recipe_json="{}",
               options_json=json.dumps({"mode": mode} if mode else {}), mapping_json=json.dumps({"report": report}),
               state=state, est_high_usd=est, clip_meta_json=json.dumps(meta) if meta else None, charged=charged,
               kept=kept, task_id="t")


def test_calculator_rounds_to_offered_lengths_and_keeps_ranges() -> None:
    rows = {r.model_id: r for r in calculate(CATALOG, clips=4, duration_s=10, ratio="16:9", mode="pro", per_day=5)}
    assert rows["veo3.1"].duration_s == 8 and rows["veo3.1"].total_high == pytest.approx(4 * 0.40)
    assert rows["sora-2"].duration_s == 12 and rows["sora-2"].monthly_high == pytest.approx(0.96 * 5 * 30)
    assert rows["kling-v1-6"].mode == "pro" and not rows["kling-v1-6"].exact
    assert (rows["kling-v1-6"].total_low, rows["kling-v1-6"].total_high) == (pytest.approx(0.52), pytest.approx(10.56))
    assert rows["veo3.1"].mode is None and rows["gen3a_turbo"].size == "1280:768"


def test_sora_pro_wide_size_costs_more() -> None:
    spec = CATALOG.get("sora-2-pro")
    assert spec.size_px("1792x1024") == (1792, 1024)
    job = _job("sora-2-pro", JobState.DOWNLOADED, est=3.2, probed=8.03, size="1792x1024")
    assert recorded_cost(job, CATALOG) == pytest.approx(0.24 * 8 * 1.666667)


def test_calculator_refuses_bad_inputs_by_name() -> None:
    with pytest.raises(ValidationError, match="clips"):
        calculate(CATALOG, clips=-1, duration_s=5)
    with pytest.raises(ValidationError, match="duration_s"):
        calculate(CATALOG, clips=1, duration_s=0)


def test_spend_splits_failures_by_charge_and_counts_cost_per_kept_clip() -> None:
    jobs = [
        _job("veo3.1-fast", JobState.DOWNLOADED, est=0.40, probed=5.0, kept=1),   # billed as 6 s: $0.30
        _job("veo3.1-fast", JobState.DOWNLOADED, est=0.20, probed=4.02, kept=0),  # $0.20
        _job("veo3.1-fast", JobState.FAILED, est=0.40, charged="yes"),
        _job("veo3.1-fast", JobState.FAILED, est=0.40, charged="no"),
        _job("veo3.1-fast", JobState.EXPIRED, est=0.40),
        _job("veo3.1-fast", JobState.RUNNING, est=0.40),
    ]
    row = spend_by_model(jobs, CATALOG)["veo3.1-fast"]
    assert (row.takes, row.delivered, row.kept, row.discarded) == (6, 2, 1, 1)
    assert row.estimated_usd == pytest.approx(0.60) and row.recorded_usd == pytest.approx(0.50)
    assert (row.failed_charged, row.failed_not_charged, row.failed_unknown) == (1, 1, 1)
    assert row.cost_per_kept == pytest.approx(0.50 + 0.40)  # a charged failure is part of what the keeper cost
    assert totals({"a": row}).recorded_usd == pytest.approx(0.50)


def test_recorded_cost_uses_the_price_rule_in_force_when_the_take_was_made(make_sandbox, make_runner, ledger):
    from jobs_helpers import backend_for, no_options, recipe_for

    from jobs.costs import recorded_cost
    from jobs.ledger import JobState
    from providers.catalog import load_catalog

    server = make_sandbox(render_times={"*": (1, 2)})
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("veo3.1-fast"), [("veo3.1-fast", no_options())], backend_for(server))
    assert runner.wait_for(lambda: ledger.get(job_id).state == JobState.DOWNLOADED, 15)
    job = ledger.get(job_id)
    then = recorded_cost(job, load_catalog())
    dearer = load_catalog(overrides={"veo3.1-fast": {"price": {
        "kind": "per_second", "usd_per_second": 9.99, "source": "override in Settings", "as_of": "2026-12-01"}}})
    assert recorded_cost(job, dearer) == then  # a later price change does not rewrite past spend


def test_a_delivered_take_without_a_price_counts_as_delivered_and_a_range_is_booked_as_reserved_not_recorded() -> None:
    from jobs.costs import booked_label

    grok = _job("grok-imagine-video", JobState.DOWNLOADED, est=0.0, probed=6.0)
    row = spend_by_model([grok], CATALOG)["grok-imagine-video"]
    assert (row.delivered, row.unpriced_delivered, row.recorded_usd) == (1, 1, 0.0)  # delivered, not "$0.00"
    kling = dataclasses.replace(_job("kling-v1-6", JobState.DOWNLOADED, est=2.64, probed=5.0), est_low_usd=0.13)
    assert booked_label(kling, CATALOG) == "reserved $2.64 (top of the price range; no exact price)"
    veo = _job("veo3.1-fast", JobState.DOWNLOADED, est=0.40, probed=8.0)
    assert booked_label(veo, CATALOG) == "recorded $0.40"
    assert spend_by_model([kling], CATALOG)["kling-v1-6"].range_delivered == 1
