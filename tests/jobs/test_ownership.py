"""Who admitted each job: recorded on the job and its reservation, filtered in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from jobs import cli
from jobs.ledger import BudgetExceeded, Ledger, LedgerError
from tests.jobs.jobs_helpers import backend_for, job_spec as spec, no_options, recipe, submits


@pytest.fixture
def ledger(store_target):
    led = Ledger(store_target)
    yield led
    led.close()


def test_owner_is_recorded_filtered_and_never_changed(ledger) -> None:
    ledger.create_jobs([spec(owner="alice@example.com"), spec(owner="alice@example.com"), spec(owner="bob@x.io"),
                        spec()])
    mine = ledger.list_jobs(owner="alice@example.com")
    assert len(mine) == 2 and {j.owner for j in mine} == {"alice@example.com"}
    assert ledger.count_jobs(owner="bob@x.io") == 1 and ledger.count_jobs() == 4
    assert ledger.count_jobs(owner="carol@example.com") == 0
    with pytest.raises(LedgerError, match="owner: cannot be set here"):
        ledger.update(mine[0].id, owner="bob@x.io")
    assert ledger.get(mine[0].id).owner == "alice@example.com"


def test_runner_records_the_owner_on_every_take_and_a_retry(make_runner, make_sandbox) -> None:
    server = make_sandbox()
    runner = make_runner()
    ids = runner.submit_run(recipe(), [("sora-2", no_options()), ("veo3.1-fast", no_options())],
                            backend_for(server), takes=2, owner="alice@example.com")
    assert len(ids) == 4
    assert {runner.ledger.get(i).owner for i in ids} == {"alice@example.com"}
    assert runner.ledger.count_jobs(owner="alice@example.com") == 4


def test_the_cli_records_dailies_user(sandbox, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COMETAPI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("COMETAPI_KEY", "sk-sandbox")
    monkeypatch.setenv("DAILIES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAILIES_CLIPS_DIR", str(tmp_path / "clips"))
    monkeypatch.setenv("DAILIES_USER", "Carol@Example.com")
    import io

    out = io.StringIO()
    assert cli.main(["run", "--model", "sora-2", "--prompt", "a paper boat", "--time-scale", "0.01",
                     "--timeout", "30"], out=out) == 0, out.getvalue()
    jobs = Ledger(tmp_path / "data" / "ledger.sqlite3").list_jobs()
    assert [j.owner for j in jobs] == ["carol@example.com"]


def test_a_persons_limit_refuses_them_while_the_team_still_has_room(ledger) -> None:
    ledger.create_jobs([spec(owner="alice@example.com", est_high_usd=3.0, backend="live")],
                       limit_usd=100.0, period_start=0.0, person_limit_usd=4.0)
    with pytest.raises(BudgetExceeded) as refused:
        ledger.create_jobs([spec(owner="alice@example.com", est_high_usd=1.5, backend="live")],
                           limit_usd=100.0, period_start=0.0, person_limit_usd=4.0)
    assert "per-person budget" in str(refused.value) and "$3.00 of your $4.00" in str(refused.value)
    assert "team budget is not what refused it" in str(refused.value)
    ledger.create_jobs([spec(owner="bob@example.com", est_high_usd=3.5, backend="live")],
                       limit_usd=100.0, period_start=0.0, person_limit_usd=4.0)
    assert ledger.spend_total("live", owner="alice@example.com") == pytest.approx(3.0)
    assert ledger.spend_total("live", owner="bob@example.com") == pytest.approx(3.5)
    assert ledger.spend_total("live") == pytest.approx(6.5)
    # The team's limit still binds everyone's together.
    with pytest.raises(BudgetExceeded, match=r"\$6.50 of the \$7.00 limit"):
        ledger.create_jobs([spec(owner="carol@example.com", est_high_usd=1.0, backend="live")],
                           limit_usd=7.0, period_start=0.0, person_limit_usd=4.0)


def test_a_reservation_keeps_its_owner_when_the_charge_replaces_the_estimate(ledger) -> None:
    (job,) = ledger.create_jobs([spec(owner="alice@example.com", est_high_usd=2.0, backend="live")])
    ledger.reserve(job.id, 0.75, limit_usd=None, period_start=None, backend="live")
    assert ledger.spend_total("live", owner="alice@example.com") == pytest.approx(0.75)


def test_one_persons_two_tabs_cannot_pass_their_limit_together(store_target) -> None:
    """Two ledgers (two connections, as two app replicas or tabs) admit one person's runs at the same moment:
    the per-person check runs under the team's budget lock, so exactly one of the two fits."""
    ledgers = [Ledger(store_target) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def admit(led: Ledger) -> None:
        barrier.wait(timeout=10)
        try:
            led.create_jobs([spec(owner="alice@example.com", est_high_usd=0.6, backend="live")],
                            limit_usd=100.0, period_start=0.0, person_limit_usd=1.0)
            results.append("admitted")
        except BudgetExceeded:
            results.append("refused")

    threads = [threading.Thread(target=admit, args=(led,)) for led in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        assert sorted(results) == ["admitted", "refused"]
        assert ledgers[0].spend_total("live", owner="alice@example.com") == pytest.approx(0.6)
    finally:
        for led in ledgers:
            led.close()


def test_the_runner_refuses_a_run_past_the_persons_limit_with_the_reason(make_runner, make_sandbox) -> None:
    """The limits the app passes for a live run, here on the sandbox's own pot (the runner applies what it is
    given; the pages pass none for sandbox runs)."""
    server = make_sandbox()
    runner = make_runner()
    backend = backend_for(server)
    first = runner.submit_run(recipe(), [("veo3.1-fast", no_options())], backend, owner="alice@example.com",
                              budget_limit_usd=200.0, budget_period_start=0.0, person_limit_usd=1.0)
    high = runner.ledger.get(first[0]).est_high_usd
    assert high is not None and 0 < high <= 1.0
    limit = 2.5 * high  # room for one more take of alice's, not two
    with pytest.raises(BudgetExceeded, match="per-person limit"):
        runner.submit_run(recipe("another take"), [("veo3.1-fast", no_options())], backend, takes=2,
                          owner="alice@example.com", budget_limit_usd=200.0, budget_period_start=0.0,
                          person_limit_usd=limit)
    assert runner.ledger.count_jobs(owner="alice@example.com") == 1
    runner.submit_run(recipe("bob's"), [("veo3.1-fast", no_options())], backend, takes=2, owner="bob@example.com",
                      budget_limit_usd=200.0, budget_period_start=0.0, person_limit_usd=limit)
    assert runner.ledger.count_jobs(owner="bob@example.com") == 2


def test_activity_lists_paid_takes_with_their_owner_and_cost_and_settings_changes(ledger) -> None:
    (alice,) = ledger.create_jobs([spec(owner="alice@example.com", est_high_usd=2.5, backend="live")])
    (bob,) = ledger.create_jobs([spec(owner="bob@example.com", est_high_usd=1.0)])
    ledger.reserve(alice.id, 0.8, limit_usd=None, period_start=None, backend="live")  # the charge replaces it
    ledger.record_activity("boss@example.com", "settings changed", "budget_usd: 25.0 → 30.0")
    rows = ledger.activity()
    by_what = {(r["who"], r["action"]): r for r in rows}
    assert by_what[("alice@example.com", "live take")]["cost_usd"] == pytest.approx(0.8)
    assert by_what[("bob@example.com", "sandbox take (simulated)")]["cost_usd"] == pytest.approx(1.0)
    assert by_what[("boss@example.com", "settings changed")]["detail"] == "budget_usd: 25.0 → 30.0"
    assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)
    ledger.release_reservation(bob.id)
    released = next(r for r in ledger.activity() if r["who"] == "bob@example.com")
    assert released["cost_usd"] == 0.0 and "released" in released["detail"]


def test_a_fallback_take_is_held_to_its_owners_limit_as_well_as_the_teams(make_runner, make_sandbox) -> None:
    """The take is stuck in queue, so the engine sends its recipe to the fallback model: a new reservation. The
    team's budget has room for it; the owner's own limit (recorded on the job at admission) does not, so the
    fallback is refused with that reason and nothing is sent for it. Another owner's fallback under the same
    team budget goes out."""
    server = make_sandbox(render_times={"*": (5, 10)})
    server.faults.add(route="submit", kind="stuck_in_queue", count=2, family="sora")
    runner = make_runner()
    backend = backend_for(server)
    limits = {"budget_limit_usd": 100.0, "budget_period_start": 0.0, "fallback_model": "veo3.1-fast"}
    (alice,) = runner.submit_run(recipe(), [("sora-2", no_options())], backend, owner="alice@example.com",
                                 person_limit_usd=0.4, **limits)  # sora's $0.32 fits, with veo's $0.20 it does not
    assert runner.ledger.get(alice).person_limit_usd == pytest.approx(0.4)
    assert runner.wait_for(lambda: "Fallback to veo3.1-fast refused" in (runner.ledger.get(alice).note or ""), 20), \
        runner.ledger.get(alice).note
    note = runner.ledger.get(alice).note
    assert "per-person budget" in note and "$0.40 per-person limit" in note
    assert "team budget is not what refused" in note
    assert runner.ledger.children(alice) == []
    assert runner.ledger.spend_total("sandbox", owner="alice@example.com") == pytest.approx(0.32)

    (bob,) = runner.submit_run(recipe("bob's kite"), [("sora-2", no_options())], backend, owner="bob@example.com",
                               person_limit_usd=1.0, **limits)
    assert runner.wait_for(lambda: bool(runner.ledger.children(bob)), 20)
    (child,) = runner.ledger.children(bob)
    assert child.owner == "bob@example.com" and child.person_limit_usd == pytest.approx(1.0)
    assert runner.wait_for(lambda: bool(runner.ledger.get(child.id).task_id), 20)
    assert [s["family"] for s in submits(server)].count("veo") == 1  # bob's fallback only
