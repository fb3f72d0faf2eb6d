"""Retry: a failed take sent again is one new job in the same run, its parent the failed job; a repeated
click (the same request id) is the same job, and the live budget applies to it."""

from __future__ import annotations

import pytest
from jobs_helpers import backend_for, no_options, recipe, submits, wait_state

from jobs.ledger import BudgetExceeded, JobState
from jobs.runner import SubmitRefused


def test_retry_of_a_sandbox_fault_is_one_new_job_on_the_same_run(make_sandbox, make_runner) -> None:
    server = make_sandbox()
    runner = make_runner()
    backend = backend_for(server)
    server.faults.add(route="submit", kind="content_policy", family="kling", count=1)
    (failed_id,) = runner.submit_run(recipe(duration_s=5), [("kling-v1-6", no_options())], backend)
    failed = wait_state(runner, failed_id, JobState.FAILED)
    sent_before = len(submits(server))

    new_id = runner.retry(failed_id, backend, request_id="click-1")
    assert runner.retry(failed_id, backend, request_id="click-1") == new_id  # a double click: one job
    done = wait_state(runner, new_id, JobState.DOWNLOADED)
    assert (done.run_id, done.take, done.model_id, done.parent_job_id) == (failed.run_id, failed.take,
                                                                           "kling-v1-6", failed_id)
    assert done.recipe == failed.recipe
    assert len(submits(server)) == sent_before + 1
    assert len(runner.ledger.list_jobs(run_id=failed.run_id)) == 2

    with pytest.raises(SubmitRefused, match="only a failed take"):
        runner.retry(new_id, backend, request_id="click-2")


def test_retry_is_refused_by_the_budget(make_sandbox, make_runner) -> None:
    server = make_sandbox()
    runner = make_runner()
    backend = backend_for(server)
    server.faults.add(route="submit", kind="content_policy", family="kling", count=1)
    (failed_id,) = runner.submit_run(recipe(duration_s=5), [("kling-v1-6", no_options())], backend)
    wait_state(runner, failed_id, JobState.FAILED)
    with pytest.raises(BudgetExceeded):
        runner.retry(failed_id, backend, request_id="click-1", budget_limit_usd=0.01, budget_period_start=0)
    assert len(runner.ledger.list_jobs()) == 1
