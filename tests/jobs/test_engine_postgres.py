"""The engine on a PostgreSQL ledger: runners that each hold their own pool (as separate processes would)
drive every job exactly once, share one account's slots, and see each other's writes through NOTIFY."""

from __future__ import annotations

import time

from jobs_helpers import backend_for, no_options, recipe_for, submits, wait_state

from jobs.ledger import SLOT_STATES, JobState, Ledger
from jobs.runner import Runner
from jobs.store.pg_db import PostgresDatabase

ENDED = {JobState.DOWNLOADED, JobState.FAILED, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED, JobState.STALE,
         JobState.CANCELED}


def own_ledger(pg_url: str) -> Ledger:
    """A ledger with a pool of its own, not the process's shared one: a second 'process'."""
    return Ledger(PostgresDatabase(pg_url, pool_size=4))


def test_two_runners_on_one_postgresql_ledger_drive_each_job_exactly_once(make_sandbox, make_runner, clips,
                                                                          catalog, pg_url):
    server = make_sandbox(render_times={"*": (10, 30)})
    admin, la, lb = own_ledger(pg_url), own_ledger(pg_url), own_ledger(pg_url)
    try:
        writer = Runner(admin, clips, catalog)
        ids = writer.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server), takes=10)
        admin.release(writer.owner)
        a, b = make_runner(ledger=la), make_runner(ledger=lb)
        for r in (a, b):
            r.set_key(backend_for(server))
        for job_id in ids:
            assert wait_state(a, job_id, ENDED, timeout=30).state == JobState.DOWNLOADED
        sent = submits(server)
        assert len(sent) == 10 and len({r["task_id"] for r in sent}) == 10
        assert {j.task_id for j in admin.get_many(ids)} == {r["task_id"] for r in sent}
        assert all(sum(e["to_state"] == "downloaded" for e in admin.events(j)) == 1 for j in ids)
    finally:
        for led in (admin, la, lb):
            led.close()


def test_one_accounts_slots_hold_across_two_runners_on_postgresql(make_sandbox, make_runner, pg_url):
    server = make_sandbox(render_times={"*": (30, 40)})
    la, lb = own_ledger(pg_url), own_ledger(pg_url)
    try:
        a = make_runner(ledger=la, concurrency_cap=2)
        b = make_runner(ledger=lb, concurrency_cap=2)
        b.set_key(backend_for(server))
        ids = a.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server), takes=6)
        peak = [0]

        def all_done() -> bool:
            jobs = la.get_many(ids)
            peak[0] = max(peak[0], sum(j.state in SLOT_STATES for j in jobs))
            return all(j.state in ENDED for j in jobs)

        assert a.wait_for(all_done, 40)
        assert 1 <= peak[0] <= 2
        assert all(j.state == JobState.DOWNLOADED for j in la.get_many(ids))
    finally:
        la.close()
        lb.close()


def test_a_write_from_another_pool_moves_the_change_counter(pg_url):
    reader, writer = own_ledger(pg_url), own_ledger(pg_url)
    try:
        before = reader.data_version()
        writer.create_job(run_id="r", model_id="sora-2", family="sora", backend="sandbox", base_url="http://x",
                          recipe_json="{}")
        end = time.monotonic() + 10
        while reader.data_version() == before and time.monotonic() < end:
            time.sleep(0.01)
        assert reader.data_version() > before
    finally:
        reader.close()
        writer.close()
