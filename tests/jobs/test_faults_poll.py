"""reliability.md §4 "Polling" rows P1-P10 and the runner's side of D8, against the real sandbox."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest
from jobs_helpers import backend_for, polls, run_one, submits, wait_state

import jobs.eta
import jobs.runner
import jobs.store.budget
import jobs.store.leases
import jobs.store.ledger
from jobs.ledger import JobState
from providers import http
from providers.client import CometClient
from providers.status import TaskState

FAST = {"render_times": {"*": (5, 10)}}
ENDED = {JobState.DOWNLOADED, JobState.FAILED, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED, JobState.STALE,
         JobState.CANCELED}


def test_p1_task_not_exist_right_after_submit_is_waited_out(make_sandbox, make_runner):
    server = make_sandbox(**FAST)
    server.faults.add(route="submit", kind="task_not_exist", count=1, polls=2)
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server, "gen4_turbo"), ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED
    assert any(r.get("fault") == "task_not_exist" for r in polls(server))


def test_p1_a_task_still_unknown_after_the_grace_window_fails_but_keeps_its_id(make_sandbox, make_runner):
    server = make_sandbox(**FAST)
    server.faults.add(route="submit", kind="task_not_exist", count=1, polls=10_000)
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server, "gen4_turbo"), ENDED, timeout=15)
    assert job.state == JobState.FAILED and job.error_kind == "not_found" and job.task_id


@pytest.mark.parametrize("kind", ["http_429", "http_500", "http_503", "http_524", "malformed_json",
                                  "html_error_page"])
def test_p2_failed_status_calls_never_fail_the_job(make_sandbox, make_runner, kind):
    server = make_sandbox(**FAST)
    server.faults.add(route="poll", kind=kind, count=5, retry_after=1)
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server), ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED
    assert len(submits(server)) == 1
    assert server.faults.applied(kind) >= 1  # the job survived the fault, not a test that never faulted
    assert any(r.get("fault") == kind for r in polls(server))


def test_p2_connection_reset_on_status_calls_never_fails_the_job(make_sandbox, make_runner, fault_proxy):
    server = make_sandbox(**FAST)
    proxy = fault_proxy(server.port)
    proxy.reset_next_n(4, match=r"^GET /v1/videos/")
    runner = make_runner()
    job_id = run_one(runner, server, "sora-2", base_url=proxy.base_url)
    assert wait_state(runner, job_id, ENDED, timeout=15).state == JobState.DOWNLOADED
    assert proxy.applied("reset") == 4  # every reset was sent to the client, and still the job finished


def test_p3_a_hanging_status_call_times_out_and_polling_goes_on(make_sandbox, make_runner, monkeypatch, fault_proxy):
    monkeypatch.setattr(http, "STATUS_TIMEOUT", httpx.Timeout(0.3))
    server = make_sandbox(**FAST)
    proxy = fault_proxy(server.port)
    proxy.hang_next_n(1, match=r"^GET /v1/videos/")
    runner = make_runner()
    job_id = run_one(runner, server, "sora-2", base_url=proxy.base_url)
    assert wait_state(runner, job_id, ENDED, timeout=15).state == JobState.DOWNLOADED
    assert proxy.applied("hang") == 1  # an answer really was withheld


@pytest.mark.parametrize("family, shape, model", [
    ("runway", "bare", "gen4_turbo"), ("runway", "wrapped", "gen3a_turbo"), ("veo", "gen_a", "veo3-fast"),
    ("veo", "no_url", "veo3.1-fast"), ("veo", "content_only", "veo3.1-fast"), ("sora", "content_only", "sora-2")])
def test_p4_every_documented_status_shape_ends_with_a_clip(make_sandbox, make_runner, family, shape, model):
    """Includes the Veo/Sora URL fallbacks: video_url, then metadata.url, then /content."""
    server = make_sandbox(shapes={family: shape}, **FAST)
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server, model), ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED, job.error_message


def test_p5_progress_shown_never_goes_down(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (40, 60)})
    runner = make_runner()
    job_id = run_one(runner, server)
    seen: list[int] = []

    def record() -> bool:
        job = runner.ledger.get(job_id)
        if job.progress is not None:
            seen.append(job.progress)
        return job.state in ENDED

    assert runner.wait_for(record, 15)
    assert seen == sorted(seen) and seen[-1] == 100


class _NoUrlClient:
    """Our seam (client_factory): a real client whose successes come without a URL the first `n` times."""

    def __init__(self, real: CometClient, n: int) -> None:
        self.real, self.n = real, n

    def poll(self, family, path):
        status = self.real.poll(family, path)
        if status.state == TaskState.SUCCEEDED and self.n > 0:
            self.n -= 1
            return dataclasses.replace(status, video_url=None)
        return status

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.mark.parametrize("missing, expected", [(2, JobState.DOWNLOADED), (100, JobState.FAILED)])
def test_p6_succeeded_without_a_url_is_polled_again_a_few_times(make_sandbox, make_runner, missing, expected):
    server = make_sandbox(**FAST)
    made = []

    def factory(backend):
        made.append(_NoUrlClient(CometClient(backend), missing))
        return made[-1]

    runner = make_runner(client_factory=factory)
    job = wait_state(runner, run_one(runner, server, "kling-v1-6"), ENDED, timeout=15)
    assert job.state == expected
    if expected == JobState.FAILED:
        assert "completed_no_output" in job.error_message and job.charged == "yes"


def test_p7_a_job_that_never_finishes_goes_stale_and_keeps_its_task_id(make_sandbox, make_runner):
    server = make_sandbox(time_scale=0.0005)  # the 1200 s deadline passes in 0.6 s
    server.faults.add(route="submit", kind="stuck_in_queue", count=1)
    runner = make_runner()
    job_id = run_one(runner, server)
    job = wait_state(runner, job_id, ENDED, timeout=15)
    assert job.state == JobState.STALE and job.task_id and job.error_kind == "timeout"
    before = len(polls(server))
    resumed = runner.resume(job_id)
    assert resumed.state == JobState.QUEUED
    assert runner.wait_for(lambda: len(polls(server)) > before, 5)  # resume polls the same task again
    assert len(submits(server)) == 1


def test_p9_a_second_runner_resumes_what_a_stopped_one_left(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (100, 120)})
    first = make_runner()
    job_id = run_one(first, server)
    wait_state(first, job_id, {JobState.QUEUED, JobState.RUNNING})
    first.stop()
    second = make_runner()
    second.set_key(backend_for(server))
    job = wait_state(second, job_id, ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED
    assert len(submits(server)) == 1


class _FirstUrlsExpired:
    """Our seam: the first `n` result URLs are presented with a spoiled signature, so the sandbox answers 403."""

    def __init__(self, real: CometClient, n: int) -> None:
        self.real, self.n = real, n

    def open_download(self, url, **kw):
        if self.n > 0:
            self.n -= 1
            url = url.replace("sig=", "sig=0")
        return self.real.open_download(url, **kw)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_d8_an_expired_result_url_is_refreshed_by_polling_again(make_sandbox, make_runner):
    server = make_sandbox(**FAST)
    runner = make_runner(client_factory=lambda backend: _FirstUrlsExpired(CometClient(backend), 1))
    job_id = run_one(runner, server, "kling-v1-6")
    job = wait_state(runner, job_id, ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED
    downloads = [r["status"] for r in server.requests() if r.get("route") == "download"]
    assert downloads == [403, 200]
    log = server.requests()
    first_403 = next(i for i, r in enumerate(log) if r.get("route") == "download")
    assert any(r.get("route") == "poll" for r in log[first_403:]), "a fresh URL comes from polling the task again"
    assert len(submits(server)) == 1


def test_d8_a_url_that_stays_expired_ends_as_expired_after_two_fresh_urls(make_sandbox, make_runner):
    # A negative lifetime signs URLs that are already expired (the signer rounds up to whole seconds).
    server = make_sandbox(url_ttl_s=-5, **FAST)
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server, "gen4_turbo"), ENDED, timeout=15)
    assert job.state == JobState.EXPIRED and job.error_kind == "url_expired" and job.charged == "yes"
    downloads = [r for r in server.requests() if r.get("route") == "download"]
    assert len(downloads) == 3  # the first URL and two fresh ones, no hammering


class _WallClock:
    """The wall clock as the engine reads it (`time.time()` in the modules it is patched into), shifted at will:
    a laptop resume or an NTP correction. `time.monotonic`, `time.sleep` and the rest stay the real ones, and the
    sandbox (the provider's machine) keeps the true time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def time_ns(self) -> int:
        return time.time_ns() + int(self.offset * 1e9)

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def wall_clock(monkeypatch) -> _WallClock:
    clock = _WallClock()
    for module in (jobs.runner, jobs.store.ledger, jobs.store.leases, jobs.store.budget, jobs.eta, http):
        monkeypatch.setattr(module, "time", clock)
    return clock


DAY = 86_400.0
SLOW = (200, 300)  # provider seconds: 2-3 s of real time, so the clock can jump while the job renders


@pytest.mark.parametrize("jump_s", [DAY, -3600.0], ids=["forward_a_day", "back_an_hour"])
def test_p10_a_wall_clock_jump_while_rendering_neither_stales_the_job_nor_spoils_its_times(
        make_sandbox, make_runner, wall_clock, jump_s):
    server = make_sandbox(render_times={"*": SLOW})
    runner = make_runner()
    job_id = run_one(runner, server)
    # After the first poll the job's deadline is on the monotonic clock; jump the wall clock then.
    assert runner.wait_for(lambda: len(polls(server)) >= 1, 10)
    wall_clock.offset = jump_s
    assert runner.ledger.get(job_id).state in {JobState.QUEUED, JobState.RUNNING}, "the jump came too late"
    job = wait_state(runner, job_id, ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert job.clip_path and runner.clips.path_of(job.clip_path).is_file()
    assert JobState.STALE not in {e["to_state"] for e in runner.ledger.events(job_id)}
    assert job.downloaded_at >= job.detected_at >= job.submitted_at  # what the job card's "took" is made of
    # The render took 200-300 provider seconds; the history the ETAs learn from must say so, not
    # a day, not zero and never a negative time.
    deadline = runner.catalog.get("sora-2").render.deadline_s
    for seconds in (*runner.ledger.render_times("sora-2"), jobs.eta.render_seconds(job)):
        assert SLOW[0] / 2 <= seconds <= deadline, f"render time {seconds:.0f} s recorded across a {jump_s:+.0f} s jump"


def test_p10_a_stuck_job_still_goes_stale_on_time_after_the_wall_clock_goes_back(make_sandbox, make_runner,
                                                                                  wall_clock):
    server = make_sandbox(time_scale=0.002)  # the 1200 s deadline passes in 2.4 s
    server.faults.add(route="submit", kind="stuck_in_queue", count=1)
    runner = make_runner()
    job_id = run_one(runner, server)
    assert runner.wait_for(lambda: len(polls(server)) >= 1, 10)
    wall_clock.offset = -3600.0  # a wall-clock deadline would now be an hour further away
    job = wait_state(runner, job_id, ENDED, timeout=15)
    assert job.state == JobState.STALE and job.error_kind == "timeout" and job.task_id


def _poll_answers_after_429(server) -> list[int]:
    log = polls(server)
    first = next(i for i, r in enumerate(log) if r.get("fault") == "http_429")
    return [r["status"] for r in log[first:]]


@pytest.mark.parametrize("skew_s, retry_after_s", [(0.0, -3600), (DAY, 2)],
                         ids=["date_in_the_past", "date_in_the_past_for_our_clock_a_day_ahead"])
def test_p10_a_retry_after_date_in_the_past_means_poll_again_promptly(make_sandbox, make_runner, wall_clock,
                                                                      skew_s, retry_after_s):
    """Read as "no hint": never a negative wait, nor its absolute value (3600 s would be 36 s here)."""
    server = make_sandbox(**FAST)
    wall_clock.offset = skew_s
    server.faults.add(route="poll", kind="http_429", count=3, retry_after=retry_after_s, retry_after_format="date")
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server), ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED, job.error_message
    answers = _poll_answers_after_429(server)
    assert answers[:3] == [429, 429, 429] and 200 in answers[3:]
    assert len(submits(server)) == 1


@pytest.mark.parametrize("skew_s, retry_after_s", [(0.0, 10**7), (-DAY, 2)],
                         ids=["date_months_ahead", "date_a_day_ahead_for_our_clock_a_day_behind"])
def test_p10_a_far_future_retry_after_date_pauses_the_job_for_at_most_the_cap_then_finishes_it(
        make_sandbox, make_runner, wall_clock, skew_s, retry_after_s):
    """The pause is capped (LONG_PAUSE_MAX_S = 3600 provider s: 3.6 s here), and the job is polled again after
    it: a server's (or our clock's) far-future date must not cost the user a clip the provider finished."""
    server = make_sandbox(time_scale=0.001, **FAST)
    wall_clock.offset = skew_s
    server.faults.add(route="poll", kind="http_429", count=1, retry_after=retry_after_s, retry_after_format="date")
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server), ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED, f"{job.state}: {job.error_message}"
    assert _poll_answers_after_429(server)[1:2] == [200], "polled again after the capped pause"
    assert len(submits(server)) == 1


def test_p7_past_the_deadline_a_failed_look_is_not_taken_for_still_running(make_sandbox, make_runner):
    """A long server pause carries the job past its deadline while the task finishes; the first look after it
    fails (the network is not back yet). The job must keep looking and collect the paid clip, not go stale."""
    server = make_sandbox(time_scale=0.001, **FAST)
    server.faults.add(route="poll", kind="http_429", count=1, retry_after=10**7, retry_after_format="date")
    server.faults.add(route="poll", kind="http_503", count=3)  # every attempt of the next status call fails
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server), ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED, f"{job.state}: {job.error_message}"
    assert JobState.STALE not in {e["to_state"] for e in runner.ledger.events(job.id)}
    answers = [r["status"] for r in polls(server)]
    assert answers.count(503) == 3 and answers[-1] == 200
    assert job.downloaded_at >= job.detected_at >= job.submitted_at


def test_p7_past_the_deadline_status_calls_that_keep_failing_end_stale_with_the_task_id(make_sandbox, make_runner):
    server = make_sandbox(time_scale=0.001, **FAST)
    server.faults.add(route="poll", kind="http_429", count=1, retry_after=10**7, retry_after_format="date")
    server.faults.add(route="poll", kind="http_503", count=1000)
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server), ENDED, timeout=20)
    assert job.state == JobState.STALE and job.task_id and job.error_kind == "timeout"
    assert len(submits(server)) == 1
