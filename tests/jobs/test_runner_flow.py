"""Happy paths through the real sandbox: every family's take ends as a verified clip with its facts recorded."""

from __future__ import annotations

import json

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
    assert job.task_id and job.clip_sha256 and runner.clips.path_of(job.clip_path).is_file()
    assert job.submitted_at <= job.detected_at <= job.downloaded_at
    meta = json.loads(job.clip_meta_json)
    assert meta["probe"]["width"] > 0 and meta["probe"]["duration_s"] > 0
    assert "honoured" in meta and "requested" in meta
    assert len(submits(server)) == 1


def test_ignored_settings_are_flagged_with_what_was_asked_and_what_came(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)}, prerendered_clip=None)
    server.faults.add(route="submit", kind="settings_ignored")  # 1280x720 -> 854x480, 4 s -> 2 s
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server))
    job = wait_state(runner, job_id, {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED}, timeout=15)
    assert job.state == JobState.DOWNLOADED, (job.error_kind, job.error_message)
    meta = job.clip_meta
    assert meta["requested"] == {"duration_s": 4.0, "size": [1280, 720], "has_audio": True}
    assert meta["honoured"] == {"duration": False, "size": False, "audio": True}
    by_field = {m["field"]: m for m in meta["mismatches"]}
    assert set(by_field) == {"duration", "resolution"}
    assert (by_field["resolution"]["requested"], by_field["resolution"]["applied"]) == ("1280x720", "854x480")
    assert by_field["duration"]["note"].startswith("shorter by")


def test_runway_1280x768_delivered_as_720p_is_honoured(make_sandbox, make_runner, tmp_path):
    from sandbox.render import ClipSpec, render_clip

    # Runway documents 1280:768 and delivers 1280x720 video: that is the model doing what it says.
    delivered = render_clip(ClipSpec(model="gen3a_turbo", prompt="720p", width=1280, height=720, seconds=5.0),
                            tmp_path / "runway-720p.mp4")
    server = make_sandbox(render_times={"*": (5, 10)}, prerendered_clip=delivered)
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("gen3a_turbo"), [("gen3a_turbo", no_options())], backend_for(server))
    job = wait_state(runner, job_id, {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED}, timeout=15)
    assert job.state == JobState.DOWNLOADED, (job.error_kind, job.error_message)
    meta = job.clip_meta
    assert meta["requested"]["size"] == [1280, 768]
    assert (meta["probe"]["width"], meta["probe"]["height"]) == (1280, 720)
    assert meta["honoured"] == {"duration": True, "size": True, "audio": True}
    assert meta["mismatches"] == []
