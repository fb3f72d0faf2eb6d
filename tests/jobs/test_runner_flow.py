"""Happy paths through the real sandbox: every family's take ends as a verified clip with its facts recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jobs_helpers import backend_for, no_options, recipe_for, submits, wait_state

from jobs.ledger import JobState

FAMILY_MODELS = ["veo3.1-fast", "sora-2", "kling-v1-6", "gen4_turbo"]


@pytest.mark.parametrize("model_id", FAMILY_MODELS)
def test_take_lands_as_verified_clip(make_sandbox, make_runner, model_id):
    server = make_sandbox(render_times={"*": (20, 40)}, prerendered_clip=None)  # a real render per model
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for(model_id), [(model_id, no_options())], backend_for(server))
    job = wait_state(runner, job_id, {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED}, timeout=15)
    assert job.state == JobState.DOWNLOADED, (job.error_kind, job.error_message)
    assert job.task_id and job.clip_sha256 and Path(job.clip_path).is_file()
    assert job.submitted_at <= job.detected_at <= job.downloaded_at
    meta = json.loads(job.clip_meta_json)
    assert meta["probe"]["width"] > 0 and meta["probe"]["duration_s"] > 0
    assert "honoured" in meta and "requested" in meta
    assert len(submits(server)) == 1
