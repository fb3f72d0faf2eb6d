"""The ledger contract, on a real SQLite file and a real PostgreSQL database alike (`store_target`): intent
rows, task ids never lost, no regressions, leases, budget races between threads and between processes."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from jobs.ledger import BudgetExceeded, JobState, Ledger, LedgerError
from tests.jobs.jobs_helpers import job_spec as spec


@pytest.fixture
def ledger(store_target):
    led = Ledger(store_target)
    yield led
    led.close()


def test_intent_row_is_written_as_waiting_with_an_event(ledger):
    job = ledger.create_job(**spec())
    assert job.state == JobState.WAITING and job.task_id is None and job.created_at
    assert [e["to_state"] for e in ledger.events(job.id)] == ["waiting"]


def test_the_same_request_id_twice_returns_the_first_job_and_reserves_once(ledger):
    first = ledger.create_job(**spec(id="req-1"))
    again = ledger.create_job(**spec(id="req-1", model_id="other"))
    assert again == first
    assert ledger.count_jobs() == 1
    assert ledger.spend_total("sandbox") == pytest.approx(1.0)


def test_a_known_task_id_is_never_cleared_or_replaced(ledger):
    job = ledger.create_job(**spec())
    ledger.record_task_id(job.id, "task_A")
    assert ledger.transition(job.id, JobState.RUNNING, task_id=None).task_id == "task_A"
    with pytest.raises(LedgerError, match="task_id"):
        ledger.transition(job.id, JobState.RUNNING, task_id="task_B")
    assert ledger.get(job.id).task_id == "task_A"


@pytest.mark.parametrize("terminal", [JobState.DOWNLOADED, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED])
def test_a_terminal_state_never_regresses(ledger, terminal):
    job = ledger.create_job(**spec())
    ledger.record_task_id(job.id, "t1")
    ledger.transition(job.id, terminal)
    for late in (JobState.SUCCEEDED, JobState.RUNNING, JobState.QUEUED, JobState.STALE, JobState.WAITING):
        assert ledger.transition(job.id, late).state == terminal
    assert any("refused" in (e["detail"] or "") for e in ledger.events(job.id))


def test_downloaded_outranks_a_late_succeeded_and_running_never_goes_back_to_queued(ledger):
    job = ledger.create_job(**spec())
    ledger.transition(job.id, JobState.RUNNING, progress=40)
    assert ledger.transition(job.id, JobState.QUEUED).state == JobState.RUNNING
    assert ledger.transition(job.id, JobState.RUNNING, progress=20).progress == 40  # monotonic (P5)
    ledger.transition(job.id, JobState.DOWNLOADED)
    assert ledger.transition(job.id, JobState.SUCCEEDED).state == JobState.DOWNLOADED


def test_first_observation_timestamps_are_kept(ledger):
    job = ledger.create_job(**spec())
    ledger.transition(job.id, JobState.RUNNING, first_running_at=100.0)
    assert ledger.transition(job.id, JobState.RUNNING, first_running_at=200.0).first_running_at == 100.0


def test_leases_one_owner_at_a_time_until_expiry(ledger):
    job = ledger.create_job(**spec())
    assert ledger.claim(job.id, "A", ttl_s=30)
    assert not ledger.claim(job.id, "B", ttl_s=30)
    assert [j.id for j in ledger.claimable("B")] == []
    assert [j.id for j in ledger.claimable("A")] == [job.id]
    assert ledger.claim(job.id, "A", ttl_s=-1)  # let it lapse
    assert ledger.claim(job.id, "B", ttl_s=30)
    assert ledger.heartbeat("B", 30) == 1
    assert ledger.release("B") == 1
    assert ledger.claim(job.id, "A", ttl_s=30)


def test_a_dead_owner_can_be_named_to_take_its_lease_at_once(ledger):
    job = ledger.create_job(**spec())
    ledger.claim(job.id, "dead", ttl_s=600)
    assert not ledger.claim(job.id, "B", ttl_s=30)
    assert ledger.claim(job.id, "B", ttl_s=30, steal_from="dead")


def test_terminal_jobs_are_not_claimable(ledger):
    job = ledger.create_job(**spec())
    ledger.transition(job.id, JobState.FAILED)
    assert not ledger.claim(job.id, "A", ttl_s=30)


def test_concurrency_slots_are_counted_atomically(ledger):
    jobs = [ledger.create_job(**spec()) for _ in range(5)]
    for job in jobs:
        ledger.claim(job.id, "A", ttl_s=30)
    started = [ledger.begin_submit(j.id, owner="A", cap=3) for j in jobs]
    assert sum(s is not None for s in started) == 3
    assert ledger.active_count("abc", "http://127.0.0.1:1") == 3


def test_budget_refuses_a_run_that_would_pass_the_limit_and_writes_nothing(ledger):
    ledger.create_jobs([spec(est_high_usd=3.0)], limit_usd=5.0)
    with pytest.raises(BudgetExceeded, match=r"budget: this run needs up to \$4.00"):
        ledger.create_jobs([spec(est_high_usd=2.0), spec(est_high_usd=2.0)], limit_usd=5.0)
    assert ledger.count_jobs() == 1


def test_sandbox_spend_never_counts_against_live_spend(ledger):
    ledger.create_jobs([spec(backend="sandbox", est_high_usd=100.0)])
    ledger.create_jobs([spec(backend="live", est_high_usd=2.0, model_id="veo3.1")], limit_usd=5.0)
    assert ledger.spend_total("live") == pytest.approx(2.0)
    assert ledger.spend_total("sandbox") == pytest.approx(100.0)
    assert ledger.spend_by_model("live") == {"veo3.1": pytest.approx(2.0)}
    assert sum(ledger.spend_by_day("live").values()) == pytest.approx(2.0)


def test_a_failure_that_was_not_charged_gives_its_reservation_back(ledger):
    job = ledger.create_job(**spec(est_high_usd=4.0))
    ledger.transition(job.id, JobState.FAILED, charged="no")
    assert ledger.spend_total("sandbox") == 0


def test_budget_reservation_is_atomic_across_threads(ledger):
    led = ledger
    ids = [led.create_job(**spec(est_high_usd=None)).id for _ in range(20)]
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def worker(job_id: str) -> None:
        barrier.wait()
        ok = led.reserve(job_id, 1.0, limit_usd=5.0, period_start=None, backend="live")
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results.count(True) == 5
    assert led.spend_total("live") == pytest.approx(5.0)


def _reserve_in_process(target: str, job_id: str, barrier, out: multiprocessing.Queue) -> None:
    led = Ledger(target)
    barrier.wait(20)
    out.put(led.reserve(job_id, 1.0, limit_usd=3.0, period_start=None, backend="live"))


def test_budget_reservation_is_atomic_across_processes(ledger, store_target):
    led = ledger
    ids = [led.create_job(**spec(est_high_usd=None)).id for _ in range(8)]
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    barrier = ctx.Barrier(len(ids))
    procs = [ctx.Process(target=_reserve_in_process, args=(str(store_target), i, barrier, out)) for i in ids]
    for p in procs:
        p.start()
    results = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(10)
    assert results.count(True) == 3
    assert led.spend_total("live") == pytest.approx(3.0)


def _create_in_process(target: str) -> None:
    Ledger(target).create_job(**spec())


def test_data_version_moves_with_a_write_from_another_process(ledger, store_target):
    """The UI's cache key: on SQLite a counter row, on PostgreSQL a NOTIFY heard by this process's listener."""
    before = ledger.data_version()
    proc = multiprocessing.get_context("spawn").Process(target=_create_in_process, args=(str(store_target),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert _eventually(lambda: ledger.data_version() > before)


def _eventually(pred, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def test_list_and_count_filter_by_state_model_run_and_text(ledger):
    a = ledger.create_job(**spec(recipe_json='{"prompt": "a lighthouse"}'))
    ledger.create_job(**spec(model_id="veo3.1", run_id="run2"))
    ledger.transition(a.id, JobState.RUNNING)
    assert [j.id for j in ledger.list_jobs(states=["running"])] == [a.id]
    assert ledger.count_jobs(model_id="veo3.1") == 1
    assert ledger.count_jobs(run_id="run1") == 1
    assert [j.id for j in ledger.list_jobs(text="lighthouse")] == [a.id]
    assert [j.id for j in ledger.list_jobs(text="LightHouse")] == [a.id]  # case-insensitive on both backends
    assert ledger.count_jobs(text="100%_") == 0
    assert len(ledger.list_jobs(limit=1)) == 1 and len(ledger.list_jobs(limit=1, offset=1)) == 1


def test_unknown_fields_are_refused_by_name(ledger):
    with pytest.raises(LedgerError, match="colour"):
        ledger.create_job(**spec(colour="red"))
    with pytest.raises(LedgerError, match="backend"):
        ledger.create_job(**spec(backend="staging"))


def test_progress_samples_come_back_per_finished_render_in_provider_seconds(ledger):
    """The curve's evidence (jobs/curve.py): each `progress N` event of a finished render, at provider seconds
    since its submit (a sandbox's time scale undone). Other events and unfinished renders are not evidence."""
    submitted = time.time() - 40.0
    finished = ledger.create_job(**spec(model_id="veo3.1", time_scale=0.5))
    running = ledger.create_job(**spec(model_id="veo3.1"))
    other = ledger.create_job(**spec(model_id="sora-2"))
    for job in (finished, running, other):
        ledger.record_task_id(job.id, f"task_{job.id}", submitted_at=submitted)
        ledger.transition(job.id, JobState.RUNNING, progress=10, detail="progress 10")
        ledger.transition(job.id, JobState.RUNNING, progress=55, detail="progress 55")
    ledger.transition(finished.id, JobState.RUNNING, detail="a note that is not a sample")
    ended = time.time() + 10.25
    for job in (finished, other):
        ledger.transition(job.id, JobState.SUCCEEDED, provider_finished_at=ended, detected_at=ended)
    times = {e["detail"]: e["at"] for e in ledger.events(finished.id)}
    (render_s, samples), = ledger.progress_samples("veo3.1")
    assert render_s == pytest.approx((ended - submitted) / 0.5)
    assert samples == [pytest.approx(((times["progress 10"] - submitted) / 0.5, 10.0)),
                       pytest.approx(((times["progress 55"] - submitted) / 0.5, 55.0))]
    assert ledger.progress_samples("kling-v1-6") == []


def test_a_finish_stamped_in_whole_seconds_is_placed_between_the_last_running_poll_and_detection(ledger):
    """OpenAI-style `completed_at` is whole seconds: up to a second before the real finish, tens of provider
    seconds on a sandbox's compressed clock. The render ended after the last poll that saw it running."""
    submitted = float(int(time.time()) - 2)
    job = ledger.create_job(**spec(model_id="sora-2", time_scale=0.01))
    ledger.record_task_id(job.id, "task_W", submitted_at=submitted)
    ledger.transition(job.id, JobState.RUNNING, progress=80, detail="progress 80")
    seen_at = ledger.events(job.id)[-1]["at"]
    detected = seen_at + 0.2
    ledger.transition(job.id, JobState.SUCCEEDED, provider_finished_at=float(int(seen_at)), detected_at=detected)
    (render_s, _), = ledger.progress_samples("sora-2")
    assert (seen_at - submitted) / 0.01 <= render_s <= (detected - submitted) / 0.01
