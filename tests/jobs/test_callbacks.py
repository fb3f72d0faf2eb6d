"""Callbacks as hints: a Kling take sent with `callback_url` is polled at once when the sandbox calls back.

Real HTTP both ways on loopback: the engine submits and polls the in-process sandbox, the sandbox POSTs its
callback to the worker's HTTP server (the same MetricsServer `python -m jobs worker` runs, with the callback
route). The sandbox's own request and callback logs are the witnesses: how many status GETs a task cost, and
that the poll which found the clip came after the callback.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jobs.callbacks import MAX_BODY_BYTES, CallbackConfig, CallbackReceiver, config_from_env
from jobs.ledger import Job, JobState, Ledger
from jobs.runner import Runner
from jobs.worker_http import MetricsServer
from providers import codegen
from providers.errors import DailiesError
from sandbox.pytest_plugin import wait_until
from sandbox.server import SandboxServer
from tests.jobs.jobs_helpers import backend_for, downloads, polls, run_one, submits, wait_state

MODEL = "kling-v1-6"
SCALE = 0.05
RENDER_S = 100.0
"""Simulated (5 s here). With a callback expected the engine polls at 5 s (an instant rejection), then waits for
the callback (at 100 s), with a safety-net poll no earlier than the median render time (the catalog's 180 s)."""
PROMPT_S = 15.0
"""Simulated seconds from callback to the poll that found the clip, at most (the sandbox's log times); without
the hint the safety net would find it at 180 s, 80 s late."""


@dataclass
class Hooked:
    runner: Runner
    config: CallbackConfig
    server: MetricsServer

    def post(self, job_id: str, body: bytes, *, token: str | None = None) -> int:
        token = self.config.token(job_id) if token is None else token
        url = f"{self.config.public_url}/callbacks/{job_id}?token={token}"
        req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code


@pytest.fixture
def kling_sandbox(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox(time_scale=SCALE, render_times={"kling": (RENDER_S, RENDER_S)})


@pytest.fixture
def hooked(make_runner: Callable[..., Runner], ledger: Ledger) -> Iterator[Callable[[], Hooked]]:
    """hooked() -> a runner wired as a worker with DAILIES_PUBLIC_URL: callback URLs on submit, the callback
    route on its HTTP port, a ledger watch that wakes on a callback."""
    servers: list[MetricsServer] = []

    def make() -> Hooked:
        sock = socket.create_server(("127.0.0.1", 0))
        config = CallbackConfig(f"http://127.0.0.1:{sock.getsockname()[1]}", secrets.token_hex(32).encode())
        runner = make_runner(watch_interval_s=0.5)
        ctx = runner._ctx  # noqa: SLF001 - wired as jobs/worker.py does
        ctx.callback_url = config.url_for
        receiver = CallbackReceiver(ledger, config, wake=ctx.request_watch)
        server = MetricsServer(ledger, runner.owner, dict, running=lambda: True, routes=receiver.routes())
        server.start(sock)
        servers.append(server)
        return Hooked(runner, config, server)

    yield make
    for server in servers:
        server.stop()


def _callbacks(server: SandboxServer, n: int) -> list[dict[str, Any]]:
    """The sandbox's callback records once there are n: it records one when its POST is answered, which can be
    after the poll that POST caused."""
    wait_until(lambda: len(server.callbacks()) >= n, timeout=10)
    return server.callbacks()


def _done(runner: Runner, job_id: str) -> Job:
    return wait_state(runner, job_id, {JobState.DOWNLOADED, JobState.FAILED}, timeout=30)


def test_a_callback_brings_detection_forward_with_fewer_polls(kling_sandbox: SandboxServer, hooked,
                                                              make_runner, tmp_path: Path):
    hook = hooked()
    job_id = run_one(hook.runner, kling_sandbox, MODEL)
    job = _done(hook.runner, job_id)
    assert job.state == JobState.DOWNLOADED, job.error_message
    (callback,) = _callbacks(kling_sandbox, 1)
    assert (callback["outcome"], callback["status"], callback["task_id"]) == ("delivered", 202, job.task_id)
    with_hooks = polls(kling_sandbox, job.task_id)
    # The poll that found the clip came right after the callback: detection by hint, not by the schedule.
    assert 0 <= (with_hooks[-1]["time"] - callback["time"]) / SCALE <= PROMPT_S
    assert len(with_hooks) <= 3, len(with_hooks)
    assert any(line["field"] == "callback_url" for line in job.mapping["report"])

    hook.runner.stop()
    # Its own ledger: the plain schedule must not learn the render time from the first take.
    plain = make_runner(ledger=Ledger(tmp_path / "plain.sqlite3"))
    plain_id = run_one(plain, kling_sandbox, MODEL)
    plain_job = _done(plain, plain_id)
    assert plain_job.state == JobState.DOWNLOADED
    without = polls(kling_sandbox, plain_job.task_id)
    assert len(kling_sandbox.callbacks()) == 1, "no callback_url was sent without a public URL"
    assert len(with_hooks) < len(without), (len(with_hooks), len(without))


def test_a_dropped_callback_still_completes_by_polling(kling_sandbox: SandboxServer, hooked):
    kling_sandbox.faults.add(route="callback", kind="callback_drop", count=1)
    hook = hooked()
    job = _done(hook.runner, run_one(hook.runner, kling_sandbox, MODEL))
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert [c["outcome"] for c in kling_sandbox.callbacks()] == ["dropped"]
    assert job.poll_hint is None
    assert len(downloads(kling_sandbox)) == 1


def test_a_duplicated_callback_downloads_and_charges_once(kling_sandbox: SandboxServer, hooked, ledger: Ledger):
    kling_sandbox.faults.add(route="callback", kind="callback_duplicate", count=1, copies=3)
    hook = hooked()
    job = _done(hook.runner, run_one(hook.runner, kling_sandbox, MODEL))
    assert job.state == JobState.DOWNLOADED, job.error_message
    wait_until(lambda: len(kling_sandbox.callbacks()) == 3, timeout=10)
    sent = kling_sandbox.callbacks()
    assert [c["outcome"] for c in sent] == ["delivered"] * 3
    statuses = [c["status"] for c in sent]
    assert 202 in statuses and set(statuses) <= {200, 202}, statuses  # one marked the job, the copies were no-ops
    # One clip fetched, one submit, one reservation: the copies brought at most one extra poll.
    assert len(downloads(kling_sandbox)) == 1
    assert len(submits(kling_sandbox)) == 1
    assert ledger.spend_total("sandbox") == pytest.approx(job.est_high_usd)
    assert len(polls(kling_sandbox, job.task_id)) <= 4


def test_forged_and_broken_callbacks_are_refused_and_change_nothing(kling_sandbox: SandboxServer, hooked,
                                                                    ledger: Ledger):
    kling_sandbox.faults.add(route="submit", kind="stuck_in_queue", count=1)  # it never ends: no real callback
    hook = hooked()
    job_id = run_one(hook.runner, kling_sandbox, MODEL)
    job = wait_state(hook.runner, job_id, JobState.QUEUED)
    wait_until(lambda: polls(kling_sandbox, job.task_id), timeout=10)  # past the first poll: quiet until 65 s
    before, version, seen = ledger.get(job_id), ledger.data_version(), len(kling_sandbox.requests())
    good = json.dumps({"task_id": job.task_id, "task_status": "succeed"}).encode()
    assert hook.post(job_id, good, token="0" * 32) == 403
    assert hook.post(job_id, good, token="") == 403
    other = "f" * 32
    assert hook.post(other, good) == 404  # a well-signed URL for a job the ledger does not have
    assert hook.post(job_id, b"x" * (MAX_BODY_BYTES + 1)) == 413
    assert hook.post(job_id, b"{not json") == 400
    assert hook.post(job_id, b"[1, 2]") == 400
    assert hook.post(job_id, json.dumps({"task_status": "succeed"}).encode()) == 400
    assert hook.post(job_id, json.dumps({"task_id": "someone-else"}).encode()) == 409
    assert ledger.data_version() == version
    assert ledger.get(job_id) == before
    assert len(kling_sandbox.requests()) == seen, "a refused callback made no status call"
    # The genuine one still works: marked, polled, cleared.
    assert hook.post(job_id, good) == 202
    wait_until(lambda: len(kling_sandbox.requests()) > seen and ledger.get(job_id).poll_hint is None, timeout=10)


def test_the_token_never_shows_in_logs_mapping_or_view_code(kling_sandbox: SandboxServer, hooked,
                                                            caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    hook = hooked()
    job = _done(hook.runner, run_one(hook.runner, kling_sandbox, MODEL))
    token = hook.config.token(job.id)
    assert hook.post(job.id, b"{broken", token=token) == 400
    assert hook.post(job.id, b"{}", token=token[::-1]) == 403
    assert "callbacks" in caplog.text and "refused" in caplog.text  # the refusals were logged
    assert token not in caplog.text
    assert token not in json.dumps(dataclasses.asdict(job), default=str)  # mapping report, raw status, every field
    assert "callback_url" in job.mapping_json
    sub = _sent_submission(hook, job)
    assert sub.request.json is not None and token in sub.request.json["callback_url"]
    for snippet in (codegen.python_snippet(sub, kling_sandbox.base_url), codegen.node_snippet(sub, "https://x")):
        assert "callback_url" in snippet and token not in snippet
    report = [line for line in sub.report if line.field == "callback_url"]
    assert report and token not in str(report[0].sent)


def _sent_submission(hook: Hooked, job: Job) -> Any:
    from providers import callback_url
    from providers.mapping import prepare
    from providers.recipe import ModelOptions, Recipe

    sub = prepare(Recipe.from_dict(job.recipe), job.model_id, ModelOptions.from_dict(job.options),
                  hook.runner.catalog, request_id=job.id)
    return callback_url.with_callback(sub, hook.config.url_for(job.id))


def test_routes_that_document_no_callback_get_none(kling_sandbox: SandboxServer, hooked, make_sandbox):
    hook = hooked()
    server = make_sandbox(render_times={"*": (1, 1)})
    job = _done(hook.runner, run_one(hook.runner, server, "veo3.1-fast"))
    assert job.state == JobState.DOWNLOADED
    assert "callback_url" not in job.mapping_json
    assert server.callbacks() == []


def test_worker_settings_name_the_variable():
    assert config_from_env({}) is None
    with pytest.raises(DailiesError, match="DAILIES_CALLBACK_SECRET: not set"):
        config_from_env({"DAILIES_PUBLIC_URL": "https://workers.example"})
    with pytest.raises(DailiesError, match="DAILIES_CALLBACK_SECRET: too short"):
        config_from_env({"DAILIES_PUBLIC_URL": "https://workers.example", "DAILIES_CALLBACK_SECRET": "abc"})
    with pytest.raises(DailiesError, match="DAILIES_PUBLIC_URL: 'ftp://x' is not a base URL; allowed: http"):
        config_from_env({"DAILIES_PUBLIC_URL": "ftp://x", "DAILIES_CALLBACK_SECRET": "s" * 40})
    config = config_from_env({"DAILIES_PUBLIC_URL": "https://w.example/team/", "DAILIES_CALLBACK_SECRET": "s" * 40})
    assert config is not None
    url = config.url_for("a" * 32)
    assert url.startswith("https://w.example/team/callbacks/" + "a" * 32 + "?token=")
    assert config.verify("a" * 32, url.rsplit("=", 1)[1]) and not config.verify("b" * 32, url.rsplit("=", 1)[1])


def test_an_extend_sent_by_the_app_is_called_back_too(make_sandbox, hooked, monkeypatch: pytest.MonkeyPatch):
    from jobs import extend

    server = make_sandbox(time_scale=SCALE, render_times={"kling": (RENDER_S, RENDER_S),
                                                          "kling_extend": (RENDER_S, RENDER_S)})
    hook = hooked()
    # The app process shares the workers' settings: its extend POST names the workers' callback URL.
    monkeypatch.setenv("DAILIES_PUBLIC_URL", hook.config.public_url)
    monkeypatch.setenv("DAILIES_CALLBACK_SECRET", hook.config.secret.decode())
    parent = _done(hook.runner, run_one(hook.runner, server, MODEL))
    result = extend.submit_extend(hook.runner.ledger, hook.runner, hook.runner.catalog, backend_for(server), parent,
                                  "the kite climbs higher", request_id="extend-1")
    assert result.job_id is not None, result.message
    child = _done(hook.runner, result.job_id)
    assert child.state == JobState.DOWNLOADED, child.error_message
    wait_until(lambda: len(server.callbacks()) == 2, timeout=10)
    by_task = {c["task_id"]: c for c in server.callbacks()}
    assert (by_task[child.task_id]["outcome"], by_task[child.task_id]["status"]) == ("delivered", 202)
    assert len(polls(server, child.task_id)) <= 3
    assert "callback_url" in child.mapping_json and hook.config.token(child.id) not in child.mapping_json


def test_a_callback_taken_by_another_worker_wakes_the_lease_holder(kling_sandbox: SandboxServer, make_runner,
                                                                   store_target):
    """Worker A serves the public URL; worker B holds the lease. A writes the mark, B's ledger watch (the
    data_version interface: SQLite's counter row, PostgreSQL's NOTIFY) sees it and polls."""
    shared = Ledger(store_target)  # worker B's connection (on PostgreSQL its own pool)
    sock = socket.create_server(("127.0.0.1", 0))
    config = CallbackConfig(f"http://127.0.0.1:{sock.getsockname()[1]}", secrets.token_hex(32).encode())
    other = Ledger(store_target)  # worker A's own connection to the shared ledger
    server = MetricsServer(other, "worker-a", dict, running=lambda: True,
                           routes=CallbackReceiver(other, config, wake=lambda: None).routes())
    server.start(sock)
    holder = make_runner(ledger=shared, watch_interval_s=0.25)
    holder._ctx.callback_url = config.url_for  # noqa: SLF001 - wired as jobs/worker.py does
    try:
        job = _done(holder, run_one(holder, kling_sandbox, MODEL))
        assert job.state == JobState.DOWNLOADED, job.error_message
        (callback,) = _callbacks(kling_sandbox, 1)
        assert (callback["outcome"], callback["status"]) == ("delivered", 202)
        task_polls = polls(kling_sandbox, job.task_id)
        assert 0 <= (task_polls[-1]["time"] - callback["time"]) / SCALE <= PROMPT_S
        assert len(task_polls) <= 3
    finally:
        server.stop()
        holder.stop()
        other.close()
        shared.close()


def test_at_real_speed_a_take_is_detected_within_a_second_of_its_finish(make_sandbox, hooked):
    """Issue 13's bar, on the sandbox's own clock and log: finished at created_at + render, found by a status GET
    at most 1 simulated second later, with at most 3 status GETs in all."""
    server = make_sandbox(time_scale=1.0, render_times={"kling": (8, 8)})
    hook = hooked()
    job = _done(hook.runner, run_one(hook.runner, server, MODEL))
    assert job.state == JobState.DOWNLOADED, job.error_message
    task = server.sandbox.store.get(job.task_id)
    finished = task.created_at + task.render_s * server.config.time_scale
    task_polls = polls(server, job.task_id)
    assert 0 <= task_polls[-1]["time"] - finished <= 1.0, task_polls[-1]["time"] - finished
    assert len(task_polls) <= 3, len(task_polls)


def test_a_callback_that_beats_the_submit_answer_brings_the_first_poll_forward(make_sandbox, hooked):
    """The task ends (and calls back) while its submit answer is still on the way: the job is `submitting`, with
    no task id yet. The mark waits in the ledger; once the task id is recorded the first poll goes at once
    instead of at the family's first-poll time (5 s)."""
    scale = 0.5
    server = make_sandbox(time_scale=scale, render_times={"kling": (1, 1)})
    server.faults.add(route="submit", kind="slow", count=1, delay_s=2.0)  # real seconds: past the render
    hook = hooked()
    job = _done(hook.runner, run_one(hook.runner, server, MODEL))
    assert job.state == JobState.DOWNLOADED, job.error_message
    (callback,) = _callbacks(server, 1)
    (submit,) = submits(server)
    assert callback["status"] == 202 and callback["time"] < submit["time"]  # marked while still submitting
    first_poll = polls(server, job.task_id)[0]
    assert (first_poll["time"] - submit["time"]) / scale < 2.5, "the first poll waited for its schedule"
