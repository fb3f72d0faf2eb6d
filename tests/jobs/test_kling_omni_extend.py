"""Kling Omni takes and Extend through the engine against the sandbox: lineage, budget, retention, same account."""

from __future__ import annotations

import pytest
from jobs_helpers import backend_for, no_options, submits, wait_state

from jobs import extend
from jobs.ledger import JobState
from providers.client import Backend
from providers.recipe import ModelOptions, Recipe

DONE_STATES = {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED, JobState.STALE}
DAY = 86400.0


@pytest.mark.parametrize("shape", ["native", "wrapped"])
def test_an_omni_take_lands_verified_in_either_query_shape(make_sandbox, make_runner, shape):
    server = make_sandbox(render_times={"*": (20, 40)}, prerendered_clip=None, shapes={"kling_omni": shape})
    runner = make_runner()
    recipe = Recipe(prompt="a paper lantern rises", duration_s=5, aspect_ratio="9:16")
    (job_id,) = runner.submit_run(recipe, [("kling-video-o1", ModelOptions.of(mode="std"))], backend_for(server))
    job = wait_state(runner, job_id, DONE_STATES, timeout=20)
    assert job.state == JobState.DOWNLOADED, (job.error_kind, job.error_message)
    assert [s["path"] for s in submits(server)] == ["/kling/v1/videos/omni-video"]
    assert job.clip_meta["honoured"] == {"duration": True, "size": True, "audio": True}
    assert extend.check(job).allowed  # its video id is found in either shape


def _parent(server, runner, model_id: str = "kling-v1-6"):
    (job_id,) = runner.submit_run(Recipe(prompt="a red kite over a beach", duration_s=5), [(model_id, no_options())],
                                  backend_for(server))
    job = wait_state(runner, job_id, DONE_STATES, timeout=20)
    assert job.state == JobState.DOWNLOADED, (job.error_kind, job.error_message)
    return job


def test_extend_makes_a_linked_child_take_that_is_downloaded(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (20, 40)}, prerendered_clip=None)
    runner = make_runner()
    parent = _parent(server, runner)
    backend = backend_for(server)
    result = extend.submit_extend(runner.ledger, runner, runner.catalog, backend, parent, "the kite climbs higher",
                                  request_id="click-1")
    assert result.job_id is not None, result.message
    again = extend.submit_extend(runner.ledger, runner, runner.catalog, backend, parent, "the kite climbs higher",
                                 request_id="click-1")
    assert again.job_id == result.job_id and "already sent" in again.message
    child = wait_state(runner, result.job_id, DONE_STATES, timeout=20)
    assert child.state == JobState.DOWNLOADED, (child.error_kind, child.error_message)
    assert (child.parent_job_id, child.link_kind, child.family) == (parent.id, "extend", "kling_extend")
    assert child.run_id == parent.run_id and child.model_id == parent.model_id  # on the parent's board
    extends = [s for s in submits(server) if s["path"] == "/kling/v1/videos/video-extend"]
    assert len(extends) == 1  # the double click sent nothing
    assert child.clip_meta["probe"]["duration_s"] > parent.clip_meta["probe"]["duration_s"] + 4
    assert child.est_high_usd == parent.est_high_usd  # the parent model's price for one take
    assert runner.ledger.children(parent.id) == [child]
    from exports.code import take_scripts

    (script,) = take_scripts([child], runner.catalog, "python")
    video_id = extends[0]  # the request log has no body: the id is read back from the child's report
    assert "/kling/v1/videos/video-extend" in script.text and "the kite climbs higher" in script.text
    sent = next(r["sent"] for r in child.mapping["report"] if r["field"] == "video_id")
    assert sent and sent in script.text and video_id["status"] == 200


def test_extend_obeys_the_budget(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)})
    runner = make_runner()
    parent = _parent(server, runner)
    result = extend.submit_extend(runner.ledger, runner, runner.catalog, backend_for(server), parent, "more",
                                  request_id="b-1", budget_limit_usd=1.0)
    assert result.job_id is None and "budget" in result.message
    assert not [s for s in submits(server) if s["path"].endswith("video-extend")]


def test_retention_warning_within_3_days_and_refusal_after_30(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)})
    runner = make_runner()
    parent = _parent(server, runner)
    born = extend.made_at(parent)
    assert born is not None
    fresh = extend.check(parent, now=born + 1 * DAY)
    assert fresh.allowed and not fresh.warning
    close = extend.check(parent, now=born + 28 * DAY)
    assert close.allowed and "Kling clears this video in about 48 h" in close.warning
    late = extend.check(parent, now=born + 30 * DAY + 60)
    assert not late.allowed and "after 30 days" in late.reason
    refused = extend.submit_extend(runner.ledger, runner, runner.catalog, backend_for(server), parent, "more",
                                   request_id="late-1", now=born + 31 * DAY)
    assert refused.job_id is None and "after 30 days" in refused.message
    assert not [s for s in submits(server) if s["path"].endswith("video-extend")]


def test_extend_runs_only_on_the_account_that_made_the_parent(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)})
    runner = make_runner()
    parent = _parent(server, runner)
    other = Backend(base_url=server.base_url, api_key="sk-another-account-000", sandbox=True, time_scale=0.01)
    result = extend.submit_extend(runner.ledger, runner, runner.catalog, other, parent, "more", request_id="x-1")
    assert result.job_id is None and "account that made it" in result.message
    assert len(runner.ledger.list_jobs()) == 1 and not runner.ledger.children(parent.id)


def test_an_unknown_extend_poll_route_keeps_the_task_instead_of_failing_it(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)}, shapes={"kling_extend": "no_poll_route"})
    runner = make_runner()
    parent = _parent(server, runner)
    result = extend.submit_extend(runner.ledger, runner, runner.catalog, backend_for(server), parent, "more",
                                  request_id="r-1")
    assert result.job_id is not None, result.message
    misses = lambda: [r for r in server.requests() if r["path"].startswith("/kling/v1/videos/video-extend/")]  # noqa: E731
    assert runner.wait_for(lambda: len(misses()) >= 3, timeout=20)
    child = runner.ledger.get(result.job_id)
    assert child is not None and child.state in (JobState.QUEUED, JobState.STALE) and child.task_id
    assert all(r["status"] == 404 for r in misses())


def test_only_downloaded_kling_takes_can_be_extended(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)})
    runner = make_runner()
    (veo_id,) = runner.submit_run(Recipe(prompt="x"), [("veo3.1-fast", no_options())], backend_for(server))
    veo = wait_state(runner, veo_id, DONE_STATES, timeout=20)
    assert extend.check(veo).reason == "Only Kling takes can be extended."


def test_an_extend_is_the_askers_take_held_to_their_limit_and_refused_to_a_viewer(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)})
    runner = make_runner()
    (parent_id,) = runner.submit_run(Recipe(prompt="a red kite over a beach", duration_s=5),
                                     [("kling-v1-6", no_options())], backend_for(server), owner="alice@example.com")
    parent = wait_state(runner, parent_id, DONE_STATES, timeout=20)
    assert parent.state == JobState.DOWNLOADED
    spent = runner.ledger.spend_total("sandbox", owner="alice@example.com")
    ask = {"owner": "alice@example.com", "budget_limit_usd": 100.0, "budget_period_start": 0.0}
    over = extend.submit_extend(runner.ledger, runner, runner.catalog, backend_for(server), parent, "more",
                                request_id="p-1", person_limit_usd=spent + 0.01, **ask)
    assert over.job_id is None and "per-person budget" in over.message, over.message
    viewer = extend.submit_extend(runner.ledger, runner, runner.catalog, backend_for(server), parent, "more",
                                  request_id="p-2", role="viewer", owner="vic@example.com")
    assert viewer.job_id is None and "vic@example.com is a viewer" in viewer.message, viewer.message
    assert not [s for s in submits(server) if s["path"].endswith("video-extend")]
    fits = extend.submit_extend(runner.ledger, runner, runner.catalog, backend_for(server), parent, "more",
                                request_id="p-3", person_limit_usd=100.0, role="member", **ask)
    assert fits.job_id is not None, fits.message
    assert runner.ledger.get(fits.job_id).owner == "alice@example.com"
