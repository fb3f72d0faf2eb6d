"""A Seedance/Grok take asked for an aspect ratio: its fact line says so, not "resolution 16:9"."""

from __future__ import annotations

import json

from components.board_view import fact_line
from components.clip_facts import fact_rows
from jobs.ledger import Job, JobState


def _job(requested_size: list[int], sent_field: str) -> Job:
    mapping = {"report": [{"field": sent_field, "sent": "16:9" if sent_field == "aspect_ratio" else "1280x720"}],
               "requested_size": requested_size}
    meta = {"probe": {"duration_s": 5.0, "width": 1280, "height": 720}}
    return Job(id="j", run_id="r", take=0, model_id="doubao-seedance-2-0", family="seedance", backend="sandbox",
               base_url="x", key_fingerprint=None, recipe_json="{}", options_json="{}",
               mapping_json=json.dumps(mapping), state=JobState.DOWNLOADED, est_high_usd=0.4,
               clip_meta_json=json.dumps(meta), task_id="t")


def test_an_aspect_ratio_request_is_labelled_aspect_ratio_and_pixels_stay_resolution() -> None:
    lines = [fact_line(r) for r in fact_rows(_job([16, 9], "aspect_ratio"))]
    assert any(line.startswith("**aspect ratio** 16:9 → delivered 1280x720") for line in lines), lines
    assert not any(line.startswith("**resolution** 16:9") for line in lines)
    lines = [fact_line(r) for r in fact_rows(_job([1280, 720], "size"))]
    assert any(line.startswith("**resolution** 1280x720 → 1280x720") for line in lines), lines
