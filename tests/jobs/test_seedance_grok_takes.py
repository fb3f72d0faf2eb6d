"""Seedance and Grok Imagine takes through the engine and the CLI against the sandbox, and the no-price gate."""

from __future__ import annotations

import io

import pytest
from jobs_helpers import backend_for, no_options, submits, wait_state

from jobs import cli
from jobs.ledger import JobState, Ledger
from jobs.runner import SubmitRefused
from providers.client import Backend
from providers.recipe import Recipe

DONE_STATES = {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED, JobState.STALE}


@pytest.mark.parametrize("model_id, shape", [
    ("doubao-seedance-2-0", None), ("doubao-seedance-1-5-pro", None),
    ("grok-imagine-video", "bare"), ("grok-imagine-video-1.5", "wrapped"),
])
def test_a_take_lands_verified(make_sandbox, make_runner, model_id, shape):
    shapes = {"grok": shape} if shape else {}
    server = make_sandbox(render_times={"*": (20, 40)}, prerendered_clip=None, shapes=shapes)
    runner = make_runner()
    recipe = Recipe(prompt="a lantern drifting down a river at night", duration_s=4, aspect_ratio="9:16")
    (job_id,) = runner.submit_run(recipe, [(model_id, no_options())], backend_for(server))
    job = wait_state(runner, job_id, DONE_STATES, timeout=20)
    assert job.state == JobState.DOWNLOADED, (job.error_kind, job.error_message)
    assert runner.clips.path_of(job.clip_path).is_file() and len(submits(server)) == 1
    meta = job.clip_meta
    assert meta["requested"]["duration_s"] == 4.0 and meta["requested"]["size"] == [9, 16]
    assert meta["honoured"] == {"duration": True, "size": True, "audio": True}
    assert meta["probe"]["height"] > meta["probe"]["width"]  # 9:16 came back portrait


def test_a_failed_seedance_task_fails_the_job_with_its_message(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)})
    runner = make_runner()
    server.faults.add(route="submit", kind="content_policy", family="seedance", when="end",
                      message="InputTextSensitiveContentDetected", count=1)
    (bad,) = runner.submit_run(Recipe(prompt="y"), [("doubao-seedance-2-0", no_options())], backend_for(server))
    failed = wait_state(runner, bad, DONE_STATES, timeout=20)
    assert failed.state == JobState.FAILED and failed.error_message == "InputTextSensitiveContentDetected"


def test_a_live_run_of_a_model_without_a_price_is_refused_before_anything_is_written(sandbox, make_runner):
    runner = make_runner()
    live = Backend(base_url="https://api.cometapi.com", api_key="sk-live-test-0123456789", sandbox=False)
    with pytest.raises(SubmitRefused) as caught:
        runner.submit_run(Recipe(prompt="x"), [("doubao-seedance-2-0", no_options()),
                                               ("grok-imagine-video", no_options())], live)
    message = caught.value.message
    assert "Grok Imagine Video (grok-imagine-video) has no known price" in message and "rate card" in message
    assert "doubao-seedance-2-0" not in message  # it has a price; the run is refused whole for Grok
    assert runner.ledger.list_jobs() == []
    (job_id,) = runner.submit_run(Recipe(prompt="x"), [("grok-imagine-video", no_options())], backend_for(sandbox))
    assert runner.ledger.get(job_id) is not None  # the sandbox runs it


def test_the_cli_runs_seedance_grok_and_kling_omni_in_the_sandbox(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("COMETAPI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("COMETAPI_KEY", "sk-sandbox")
    monkeypatch.setenv("DAILIES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAILIES_CLIPS_DIR", str(tmp_path / "clips"))
    out = io.StringIO()
    code = cli.main(["run", "--model", "doubao-seedance-2-0-fast", "--model", "grok-imagine-video", "--model",
                     "kling-video-o1", "--prompt", "a paper boat", "--duration", "5", "--time-scale", "0.01",
                     "--timeout", "60"], out=out)
    assert code == 0, out.getvalue()
    jobs = Ledger(tmp_path / "data" / "ledger.sqlite3").list_jobs()
    assert {j.model_id for j in jobs} == {"doubao-seedance-2-0-fast", "grok-imagine-video", "kling-video-o1"}
    assert all(j.state == JobState.DOWNLOADED and j.backend == "sandbox" for j in jobs)


def test_xais_own_cost_report_is_kept_for_display_never_booked(make_sandbox, make_runner):
    from jobs.costs import provider_reported, recorded_cost
    from providers.families.grok import cost_ticks

    server = make_sandbox(render_times={"*": (5, 10)}, shapes={"grok": "wrapped"})
    runner = make_runner()
    (job_id,) = runner.submit_run(Recipe(prompt="x", duration_s=2), [("grok-imagine-video", no_options())],
                                  backend_for(server))
    job = wait_state(runner, job_id, DONE_STATES, timeout=20)
    assert job.state == JobState.DOWNLOADED
    # The card says a cost was reported in an unknown unit; the raw number stays in the take's raw status.
    assert provider_reported(job) == "xAI reported a cost in an undocumented unit (not booked)"
    assert "1,000,000,000" not in provider_reported(job) and cost_ticks(job.raw_status) == 1_000_000_000
    assert recorded_cost(job, runner.catalog) is None  # no price: nothing booked
