"""The runner as a process-wide engine: leases shared between runners, slots, budget, keys, stop, fallback."""

from __future__ import annotations

import threading
import time

import pytest
from jobs_helpers import backend_for, no_options, recipe_for, submits, wait_state

from jobs.ledger import SLOT_STATES, BudgetExceeded, JobState
from jobs.runner import Runner
from providers.catalog import load_catalog

ENDED = {JobState.DOWNLOADED, JobState.FAILED, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED, JobState.STALE,
         JobState.CANCELED}


def queue_without_lease(ledger, clips, catalog, server, n, model="sora-2"):
    """Intent rows nobody holds (as `python -m jobs run --no-wait` leaves them)."""
    writer = Runner(ledger, clips, catalog)
    ids = writer.submit_run(recipe_for(model), [(model, no_options())], backend_for(server), takes=n)
    ledger.release(writer.owner)
    return ids


def test_two_runners_on_one_ledger_drive_each_job_exactly_once(make_sandbox, make_runner, ledger, clips, catalog):
    server = make_sandbox(render_times={"*": (10, 30)})
    ids = queue_without_lease(ledger, clips, catalog, server, 10)
    a, b = make_runner(), make_runner()
    for r in (a, b):
        r.set_key(backend_for(server))
    for job_id in ids:
        assert wait_state(a, job_id, ENDED, timeout=20).state == JobState.DOWNLOADED
    sent = submits(server)
    assert len(sent) == 10 and len({r["task_id"] for r in sent}) == 10
    assert {j.task_id for j in ledger.get_many(ids)} == {r["task_id"] for r in sent}


def test_the_account_concurrency_cap_holds_jobs_as_waiting(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (30, 40)})
    runner = make_runner(concurrency_cap=2)
    ids = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server), takes=5)
    peak = [0]

    def all_done() -> bool:
        jobs = runner.snapshot(ids)
        peak[0] = max(peak[0], sum(j.state in SLOT_STATES for j in jobs))
        return all(j.state in ENDED for j in jobs)

    assert runner.wait_for(all_done, 20)
    assert peak[0] == 2
    assert all(j.state == JobState.DOWNLOADED for j in runner.snapshot(ids))


def test_a_run_that_would_pass_the_budget_is_refused_before_anything_is_written(sandbox, make_runner):
    runner = make_runner()
    with pytest.raises(BudgetExceeded, match="budget"):
        runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options()), ("veo3.1", no_options())],
                          backend_for(sandbox), budget_limit_usd=0.5)
    assert runner.ledger.count_jobs() == 0 and submits(sandbox) == []


def test_stop_tracking_is_the_honest_cancel(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (300, 400)})
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server))
    wait_state(runner, job_id, {JobState.QUEUED, JobState.RUNNING})
    job = runner.stop_tracking(job_id)
    assert job.state == JobState.CANCELED and "may still" in job.note and job.task_id
    assert runner.ledger.spend_total("sandbox") > 0  # the reservation stays: the task may be billed


def test_after_a_restart_jobs_wait_for_their_key_then_resume(make_sandbox, make_runner, ledger, clips, catalog):
    server = make_sandbox(render_times={"*": (10, 20)})
    ids = queue_without_lease(ledger, clips, catalog, server, 2)
    runner = make_runner()  # a fresh process: knows no key
    assert runner.wait_for(lambda: all(j.needs_key for j in runner.snapshot(ids)), 5)
    assert submits(server) == []
    runner.set_key(backend_for(server))
    for job_id in ids:
        job = wait_state(runner, job_id, ENDED, timeout=15)
        assert job.state == JobState.DOWNLOADED and not job.needs_key


def test_stop_is_prompt_and_the_engine_uses_a_fixed_number_of_threads(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (500, 600)})
    runner = make_runner(workers=3, concurrency_cap=100)
    ids = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server), takes=30)
    assert runner.wait_for(lambda: all(j.task_id for j in runner.snapshot(ids)), 15)
    engine_threads = [t for t in threading.enumerate() if t.name.startswith("dailies-")]
    assert 1 < len(engine_threads) <= 3 + 1  # the pool and the scheduler, not a thread per job
    started = time.monotonic()
    runner.stop(timeout=5)
    assert time.monotonic() - started < 2.0
    assert all(j.lease_owner is None for j in runner.ledger.get_many(ids))  # handed back for the next process


def test_opt_in_fallback_sends_a_job_stuck_in_queue_to_another_model(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (5, 10)})
    server.faults.add(route="submit", kind="stuck_in_queue", count=1, family="sora")
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server),
                                  fallback_model="veo3.1-fast")
    assert runner.wait_for(lambda: bool(runner.ledger.children(job_id)), 15)
    (child,) = runner.ledger.children(job_id)
    assert child.model_id == "veo3.1-fast" and child.parent_job_id == job_id and child.run_id
    assert child.link_kind == "fallback"
    assert wait_state(runner, child.id, ENDED, timeout=15).state == JobState.DOWNLOADED
    parent = runner.ledger.get(job_id)
    assert "veo3.1-fast" in parent.note and parent.task_id  # the first job stays, tracked, in the ledger


def test_an_empty_status_bucket_never_holds_up_a_submit_or_a_download(make_sandbox, make_runner):
    """One worker, and a process-wide status limit of one request per ~17 real minutes: the second job's
    submit and the first job's download must still go out at once, and the held poll is never sent."""
    server = make_sandbox(render_times={"*": (0, 0)})  # done at once: the first poll finds a finished clip
    runner = make_runner(workers=1, poll_rate=1e-5, poll_burst=1)  # x 1/time_scale: 1e-3 requests/s real
    backend = backend_for(server)
    (first,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend)
    done = wait_state(runner, first, {JobState.DOWNLOADED, JobState.FAILED}, timeout=10)
    assert done.state == JobState.DOWNLOADED, done.error_message  # used the one token; download needed none
    (second,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend)
    job = wait_state(runner, second, {JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED}, timeout=5)
    assert job.task_id
    polls = [r for r in server.requests() if r.get("route") == "poll" and r.get("task_id") == job.task_id]
    assert polls == []  # its first poll waits for a token, in the heap, not on a worker thread
    started = time.monotonic()
    runner.stop(timeout=5)
    assert time.monotonic() - started < 2.0


def test_a_task_id_recorded_just_before_a_crash_is_polled_not_reported_unknown(
        make_sandbox, make_runner, ledger, clips, catalog):
    from providers.client import CometClient
    from providers.mapping import prepare

    server = make_sandbox(render_times={"*": (5, 10)})
    (job_id,) = queue_without_lease(ledger, clips, catalog, server, 1, model="veo3.1-fast")
    # A process that sent the POST and stored the answer, then died before its next transition.
    assert ledger.claim(job_id, "crashed-process", ttl_s=0.01)
    assert ledger.begin_submit(job_id, owner="crashed-process", cap=10) is not None
    assert ledger.get(job_id).task_id is None  # mid-submit: nothing recorded yet
    sub = prepare(recipe_for("veo3.1-fast"), "veo3.1-fast", no_options(), catalog)
    status = CometClient(backend_for(server)).submit(sub)
    ledger.record_task_id(job_id, status.task_id, poll_path=sub.poll_path_template.format(task_id=status.task_id))
    ledger.release("crashed-process")
    # The crash point: the answer is durable, the state still says the POST is in flight (read afresh).
    crashed = ledger.get(job_id)
    assert crashed.state == JobState.SUBMITTING and crashed.task_id == status.task_id

    runner = make_runner()
    runner.set_key(backend_for(server))
    job = wait_state(runner, job_id, ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED and job.task_id == status.task_id
    assert len(submits(server)) == 1  # never sent again


def test_a_key_the_client_refuses_fails_the_job_as_not_charged_without_sending(make_sandbox, make_runner):
    from providers.client import Backend

    server = make_sandbox()
    runner = make_runner()
    bad = Backend(base_url=server.base_url, api_key="sk-abc\ndef123", sandbox=True, time_scale=0.01)
    (job_id,) = runner.submit_run(recipe_for("veo3.1-fast"), [("veo3.1-fast", no_options())], bad)
    job = wait_state(runner, job_id, ENDED, timeout=10)
    assert job.state == JobState.FAILED and job.charged == "no", (job.state, job.charged, job.error_message)
    assert submits(server) == []


def test_cancel_unsent_only_cancels_a_job_that_was_never_sent(ledger, clips, catalog, make_sandbox):
    server = make_sandbox()
    first, second = queue_without_lease(ledger, clips, catalog, server, 2, model="veo3.1-fast")
    ledger.record_task_id(second, "task_already_sent")
    assert ledger.cancel_unsent(first, note="x").state == JobState.CANCELED
    assert ledger.get(first).charged == "no"
    assert ledger.cancel_unsent(second, note="x") is None  # it has a task: the provider may charge it
    assert ledger.get(second).state == JobState.WAITING


def test_the_ledger_keeps_no_signed_url_token_of_a_finished_task(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (1, 2)})
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("veo3.1-fast"), [("veo3.1-fast", no_options())], backend_for(server))
    job = wait_state(runner, job_id, ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED
    assert "/files/" in job.raw_status_json  # the result URL is recorded...
    assert "sig=" not in job.raw_status_json and "expires=" not in job.raw_status_json  # ...without its token


def test_a_delivered_clip_books_its_recorded_cost_instead_of_the_reserved_estimate(make_sandbox, make_runner, ledger):
    server = make_sandbox(render_times={"*": (1, 2)})
    runner = make_runner()
    recipe = recipe_for("veo3.1-fast")
    (job_id,) = runner.submit_run(recipe, [("veo3.1-fast", no_options())], backend_for(server))
    reserved = ledger.spend_total("sandbox")
    job = wait_state(runner, job_id, ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED
    probed = job.clip_meta["probe"]["duration_s"]
    # $0.05/s for the length the model offers nearest the probed clip (the bench clip is 1 s: 4 s billed)
    assert ledger.spend_total("sandbox") == pytest.approx(0.05 * min((4, 6, 8), key=lambda s: abs(s - probed)))
    assert reserved == pytest.approx(job.est_high_usd)


def test_jobs_written_by_another_process_bump_the_change_counter_the_ui_caches_on(make_sandbox, make_runner,
                                                                                  ledger, clips, catalog):
    server = make_sandbox()
    runner = make_runner(rescan_interval_s=600)  # no rescan will notice: only the ledger watch can
    assert runner.wait_for(lambda: runner.change_counter > 0, 5)  # the first look at the ledger
    before = runner.change_counter
    queue_without_lease(ledger, clips, catalog, server, 1, model="veo3.1-fast")  # as `python -m jobs` would
    assert runner.wait_for(lambda: runner.change_counter > before, 5)


def test_a_busy_database_after_a_paid_post_does_not_lose_the_task_id(make_sandbox, make_runner, ledger,
                                                                      monkeypatch):
    from jobs.store.db import StoreError

    server = make_sandbox(render_times={"*": (1, 2)})
    real = ledger.record_task_id
    failures = []

    def flaky(*args, **kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise StoreError("SQLite: database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "record_task_id", flaky)
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("veo3.1-fast"), [("veo3.1-fast", no_options())], backend_for(server))
    job = wait_state(runner, job_id, ENDED, timeout=15)
    assert job.state == JobState.DOWNLOADED and job.task_id and len(failures) == 2
    assert len(submits(server)) == 1


def test_a_run_of_several_recipes_is_admitted_by_the_budget_whole_or_not_at_all(make_sandbox, make_runner, ledger):
    server = make_sandbox()
    runner = make_runner()
    one = (recipe_for("veo3.1-fast", "a red kite"), [("veo3.1-fast", no_options())])
    other = (recipe_for("veo3.1-fast", "a blue kite"), [("veo3.1-fast", no_options())])
    single = runner.prepare_run(*one)[0].cost.high_usd
    with pytest.raises(BudgetExceeded):
        runner.submit_groups([one, other], backend_for(server), budget_limit_usd=single * 1.5)
    assert ledger.count_jobs() == 0  # the first group was not sent on its own
    ids = runner.submit_groups([one, other], backend_for(server), request_id="run-1", budget_limit_usd=single * 2)
    again = runner.submit_groups([one, other], backend_for(server), request_id="run-1", budget_limit_usd=single * 2)
    assert len(ids) == 2 and again == ids and len({j.run_id for j in ledger.list_jobs()}) == 1


def test_the_live_queue_reads_the_ledger_only_when_something_changed(make_sandbox, make_runner, ledger,
                                                                      monkeypatch):
    server = make_sandbox(render_times={"*": (1, 2)})
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for("veo3.1-fast"), [("veo3.1-fast", no_options())], backend_for(server))
    wait_state(runner, job_id, ENDED, timeout=15)
    reads = []
    real = ledger.get_many
    monkeypatch.setattr(ledger, "get_many", lambda ids: reads.append(1) or real(ids))
    runner.snapshot([job_id])
    ticks = [runner.snapshot([job_id])[0].state for _ in range(5)]  # what the fragment does each second
    assert ticks == [JobState.DOWNLOADED] * 5 and len(reads) <= 1
    ledger.update(job_id, note="changed elsewhere")  # as another process would
    assert runner.wait_for(lambda: runner.snapshot([job_id])[0].note == "changed elsewhere", 5)


def test_a_model_switched_off_in_settings_while_its_take_waits_is_never_sent(make_sandbox, make_runner):
    """Settings swaps the live runner's catalog; a waiting take of a switched-off model must not be POSTed."""
    server = make_sandbox(render_times={"*": (300, 400)})
    runner = make_runner(concurrency_cap=1)
    ids = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server), takes=2)
    assert runner.wait_for(lambda: len(submits(server)) == 1, 10)
    (second,) = [j.id for j in runner.snapshot(ids) if j.state == JobState.WAITING]  # held back by the cap
    runner.catalog = load_catalog(overrides={"sora-2": {"available": False}})
    failed = wait_state(runner, second, ENDED, timeout=20)
    assert failed.state == JobState.FAILED and "switched off" in failed.error_message
    assert failed.charged == "no"
    assert len(submits(server)) == 1


def test_raising_the_concurrency_cap_in_settings_lets_waiting_takes_go(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (3000, 4000)})
    runner = make_runner(concurrency_cap=1)
    ids = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server), takes=3)

    def sent() -> int:  # whichever take got the one slot (the pool picks the order)
        return sum(j.state in {JobState.QUEUED, JobState.RUNNING} for j in runner.snapshot(ids))

    assert runner.wait_for(lambda: sent() == 1, 10)
    assert len(submits(server)) == 1
    runner.concurrency_cap = 3
    assert runner.wait_for(lambda: sent() == 3, 10)
    assert len(submits(server)) == 3
