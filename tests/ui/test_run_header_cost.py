"""The Generate page's run header: a run with a range-priced take says its top is not an exact price."""

from __future__ import annotations

import json

from components.queue import Run, _cost
from jobs.ledger import Job, JobState


def _job(model: str, low: float, high: float) -> Job:
    return Job(id=model, run_id="r", take=0, model_id=model, family="veo", backend="sandbox", base_url="x",
               key_fingerprint=None, recipe_json="{}", options_json="{}", mapping_json=json.dumps({}),
               state=JobState.DOWNLOADED, est_low_usd=low, est_high_usd=high, task_id="t")


def test_a_run_header_with_a_range_priced_take_says_the_range_has_no_exact_price() -> None:
    veo = _job("veo3.1-fast", 1.0, 1.0)
    kling = _job("kling-v1-6", 0.13, 2.64)
    assert _cost(Run("r", (veo, kling))) == (
        "$1.13–$3.64 simulated (a range: no exact price for some takes; $3.64 is its top)")
    assert _cost(Run("r", (veo,))) == "$1.00 simulated"
