"""reliability.md §4 "Submit" rows S1-S10, each against the real sandbox with the expected outcome.

The rule under test throughout: a POST is sent again only when it provably never left this machine
or was explicitly refused (429, Kling 1303); anything ambiguous becomes `submit_unknown`, never a resend.
"""

from __future__ import annotations

import socket

import pytest
from jobs_helpers import SANDBOX_KEY, backend_for, no_options, recipe_for, run_one, submits, wait_state

from jobs.keys import backend_from_env
from jobs.ledger import JobState
from providers.client import Backend
from providers.errors import ValidationError, ValidationErrors

FAST = {"render_times": {"*": (5, 10)}}
ENDED = {JobState.DOWNLOADED, JobState.FAILED, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED, JobState.STALE}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_s1_connect_refused_keeps_the_job_waiting_and_sends_it_once_the_server_is_up(make_sandbox, make_runner):
    port = _free_port()
    backend = Backend(f"http://127.0.0.1:{port}", SANDBOX_KEY, sandbox=True, time_scale=0.01)
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend)
    assert runner.wait_for(
        lambda: (runner.ledger.get(job_id).error_message or "").startswith("could not connect"), 10)
    assert runner.ledger.get(job_id).state in (JobState.WAITING, JobState.SUBMITTING)
    server = make_sandbox(port=port, **FAST)
    job = wait_state(runner, job_id, ENDED, timeout=20)
    assert job.state == JobState.DOWNLOADED
    assert len(submits(server)) == 1


@pytest.mark.parametrize("before_upstream", [False, True])
def test_s2_connection_reset_after_the_post_was_sent_is_submit_unknown_never_resent(
        make_sandbox, make_runner, before_upstream, fault_proxy):
    server = make_sandbox(**FAST)
    proxy = fault_proxy(server.port)
    proxy.reset_next_n(1, match=r"^POST ", before_upstream=before_upstream)
    runner = make_runner()
    job_id = run_one(runner, server, "sora-2", base_url=proxy.base_url)
    job = wait_state(runner, job_id, ENDED)
    assert job.state == JobState.SUBMIT_UNKNOWN and job.error_kind == "submit_unknown"
    assert job.charged == "unknown"
    # Whether the provider saw it or not, the client cannot know: never a second POST.
    assert len(submits(server)) == (0 if before_upstream else 1)


@pytest.mark.parametrize("kind", ["http_500", "http_502", "http_503", "http_504", "http_524"])
def test_s3_5xx_on_submit_is_ambiguous_and_never_resent(sandbox, make_runner, kind):
    sandbox.faults.add(route="submit", kind=kind, count=1, created=True)
    runner = make_runner()
    job_id = run_one(runner, sandbox, "veo3.1-fast")
    job = wait_state(runner, job_id, ENDED)
    assert job.state == JobState.SUBMIT_UNKNOWN
    assert len(submits(sandbox)) == 1


def test_s3_500_invalid_request_is_a_refusal_not_an_unknown(sandbox, make_runner):
    sandbox.faults.add(route="submit", kind="http_500", count=1, invalid_request=True)
    runner = make_runner()
    job_id = run_one(runner, sandbox, "sora-2")
    job = wait_state(runner, job_id, ENDED)
    assert job.state == JobState.FAILED and job.error_kind == "validation"
    assert len(submits(sandbox)) == 1


@pytest.mark.parametrize("fault", [{"kind": "http_429", "retry_after": 1}, {"kind": "http_429", "retry_after": 1,
                                                                           "retry_after_format": "ms"},
                                   {"kind": "kling_1303", "family": "kling"}])
def test_s4_rate_limited_submit_goes_back_to_the_queue_and_is_sent_again(make_sandbox, make_runner, fault):
    server = make_sandbox(**FAST)
    server.faults.add(route="submit", count=2, **fault)
    runner = make_runner()
    job_id = run_one(runner, server, "kling-v1-6")
    job = wait_state(runner, job_id, ENDED, timeout=20)
    assert job.state == JobState.DOWNLOADED
    assert len(submits(server)) == 3  # two refusals, then the one that created the task
    states = [e["to_state"] for e in runner.ledger.events(job_id)]
    assert states.count("waiting") >= 3  # created, then re-queued twice


def test_s4_retry_after_beyond_the_cap_keeps_the_job_queued_not_failed(sandbox, make_runner):
    sandbox.faults.add(route="submit", kind="http_429", count=1, retry_after=100000)
    runner = make_runner()
    job_id = run_one(runner, sandbox, "sora-2")
    assert runner.wait_for(lambda: runner.ledger.get(job_id).error_kind == "rate_limited", 10)
    job = runner.ledger.get(job_id)
    assert job.state == JobState.WAITING and "waiting to send again" in job.error_message
    assert len(submits(sandbox)) == 1


def test_s5_rejected_key_fails_without_retry_and_never_echoes_the_key(sandbox, make_runner):
    runner = make_runner()
    bad = Backend(sandbox.base_url, "sk-wrong-key-123456", sandbox=True, time_scale=0.01)
    (job_id,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], bad)
    job = wait_state(runner, job_id, ENDED)
    assert job.state == JobState.FAILED and job.error_kind == "auth" and job.charged == "no"
    assert "sk-wrong-key-123456" not in (job.error_message or "")
    assert [r["method"] for r in sandbox.requests() if r["path"] == "/v1/videos"] == ["POST"]
    raw = runner.ledger.path.read_bytes()
    assert b"sk-wrong-key-123456" not in raw  # the key never reaches the ledger file


def test_s5_kling_billing_refusal_fails_with_its_kind(sandbox, make_runner):
    sandbox.faults.add(route="submit", kind="kling_1102", family="kling", count=1)
    runner = make_runner()
    job_id = run_one(runner, sandbox, "kling-v1-6")
    job = wait_state(runner, job_id, ENDED)
    assert job.state == JobState.FAILED and job.error_kind == "billing"
    assert len(submits(sandbox)) == 1
    assert runner.ledger.spend_total("sandbox") == 0  # refused: nothing charged, reservation returned


def test_s6_keys_are_stripped_and_whitespace_inside_is_refused_by_name():
    backend = backend_from_env({"COMETAPI_KEY": "sk-abc123\n", "COMETAPI_BASE_URL": "http://127.0.0.1:1/ "})
    assert backend is not None and backend.api_key == "sk-abc123" and backend.base_url == "http://127.0.0.1:1"
    with pytest.raises(ValidationError, match="COMETAPI_KEY"):
        backend_from_env({"COMETAPI_KEY": "sk-abc 123"})
    assert backend_from_env({}) is None


@pytest.mark.parametrize("kind", ["malformed_json", "html_error_page"])
def test_s7_unreadable_answer_to_a_submit_is_submit_unknown(sandbox, make_runner, kind):
    params = {"created": True} if kind == "html_error_page" else {}
    sandbox.faults.add(route="submit", kind=kind, count=1, **params)
    runner = make_runner()
    job_id = run_one(runner, sandbox, "sora-2")
    job = wait_state(runner, job_id, ENDED)
    assert job.state == JobState.SUBMIT_UNKNOWN
    assert len(submits(sandbox)) == 1


def test_s8_task_refused_by_moderation_fails_with_the_reason(sandbox, make_runner):
    sandbox.faults.add(route="submit", kind="content_policy", count=1)
    runner = make_runner()
    job_id = run_one(runner, sandbox, "sora-2")
    job = wait_state(runner, job_id, ENDED)
    assert job.state == JobState.FAILED and job.error_kind == "content_policy"
    assert job.task_id  # the provider's id is kept for the record
    assert len(submits(sandbox)) == 1


def test_s9_the_same_form_request_twice_creates_one_set_of_jobs(sandbox, make_runner):
    runner = make_runner()
    args = (recipe_for("sora-2"), [("sora-2", no_options()), ("veo3.1-fast", no_options())], backend_for(sandbox))
    first = runner.submit_run(*args, request_id="form-123")
    second = runner.submit_run(*args, request_id="form-123")
    assert first == second and len(first) == 2
    for job_id in first:
        assert wait_state(runner, job_id, ENDED, timeout=15).state == JobState.DOWNLOADED
    assert len(submits(sandbox)) == 2


def test_s10_invalid_parameters_are_refused_before_anything_is_written_or_sent(sandbox, make_runner):
    runner = make_runner()
    bad = recipe_for("kling-v1-6").__class__(prompt="x", duration_s=7)
    with pytest.raises(ValidationErrors) as err:
        runner.submit_run(bad, [("kling-v1-6", no_options())], backend_for(sandbox))
    assert "duration" in err.value.by_field()
    with pytest.raises(ValidationErrors):
        runner.submit_run(recipe_for("sora-2").__class__(prompt=""), [("sora-2", no_options())],
                          backend_for(sandbox))
    assert runner.ledger.count_jobs() == 0
    assert submits(sandbox) == []


def test_s2_an_unclear_kling_submit_is_found_by_its_own_id_and_finished_without_a_second_post(
        make_sandbox, make_runner, fault_proxy):
    """reliability.md §5.4: Kling takes our id as external_task_id and can be queried by it, so a reset after
    the POST reached the provider is settled by a lookup, not by the user and never by a resend."""
    server = make_sandbox(**FAST)
    proxy = fault_proxy(server.port)
    proxy.reset_next_n(1, match=r"^POST ")  # the sandbox created the task; its answer is lost
    runner = make_runner()
    job_id = run_one(runner, server, "kling-v1-6", base_url=proxy.base_url)
    job = wait_state(runner, job_id, {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED}, timeout=20)
    assert job.state == JobState.DOWNLOADED, job.error_message
    (submit,) = submits(server)
    assert job.task_id == submit["task_id"] and job.clip_path
    states = [e["to_state"] for e in runner.ledger.events(job_id)]
    assert states.index(JobState.SUBMIT_UNKNOWN) < states.index(JobState.QUEUED)  # unclear, then found
    assert job.charged == "yes"


def test_s2_an_unclear_kling_submit_the_provider_never_saw_stays_for_the_user_after_the_lookups(
        make_sandbox, make_runner, fault_proxy):
    server = make_sandbox(time_scale=0.002, **FAST)
    proxy = fault_proxy(server.port)
    proxy.reset_next_n(1, match=r"^POST ", before_upstream=True)  # nothing reached the provider
    runner = make_runner()
    job_id = run_one(runner, server, "kling-v1-6", base_url=proxy.base_url)
    assert runner.wait_for(lambda: "no such task" in (runner.ledger.get(job_id).error_message or ""), 20)
    job = runner.ledger.get(job_id)
    assert job.state == JobState.SUBMIT_UNKNOWN and job.task_id is None
    lookups = [r for r in server.requests() if r.get("route") == "poll"]
    assert len(lookups) == 4 and {r["task_id"] for r in lookups} == {job_id}
    assert submits(server) == []


def test_s2_an_unclear_kling_submit_left_by_a_stopped_process_is_looked_up_by_the_next(
        make_sandbox, make_runner, fault_proxy):
    server = make_sandbox(time_scale=0.5, **FAST)  # the first lookup would come 2.5 s after the unclear submit
    proxy = fault_proxy(server.port)
    proxy.reset_next_n(1, match=r"^POST ")
    first = make_runner()
    job_id = run_one(first, server, "kling-v1-6", base_url=proxy.base_url)
    wait_state(first, job_id, JobState.SUBMIT_UNKNOWN)
    first.stop()  # gone before its lookup, as the batch CLI exits
    assert [r for r in server.requests() if r.get("route") == "poll"] == []
    second = make_runner()
    second.set_key(backend_for(server, base_url=proxy.base_url))
    job = wait_state(second, job_id, {JobState.DOWNLOADED, JobState.FAILED}, timeout=20)
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert len(submits(server)) == 1
