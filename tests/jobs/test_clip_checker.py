"""The engine checks every downloaded clip after the fact: "downloaded" never waits for the checks, the flags
land on the job, a clip left unchecked by a stopped process is checked at the next start, and History can ask
for flagged clips only."""

from __future__ import annotations

import threading
from pathlib import Path

from jobs_helpers import backend_for, no_options, recipe_for, wait_state

from jobs.checks import Flag, check_clip
from jobs.checks.checker import ClipChecker
from jobs.ledger import JobState, Ledger
from jobs.runner import Runner


def checked(runner: Runner, job_id: str, timeout: float = 20) -> bool:
    """The checks bump the runner's change counter when they write, so this wakes on the write."""
    return runner.wait_for(lambda: runner.ledger.get(job_id).flags_json is not None, timeout)


def test_a_defect_baked_in_by_the_sandbox_lands_as_a_flag_on_the_job(make_sandbox, make_runner):
    server = make_sandbox(render_times={"*": (1, 2)}, prerendered_clip=None)
    server.faults.add(route="submit", kind="defect", count=1, defect="black", start_s=0.0, duration_s=1.0)
    runner = make_runner(check_clips=True)
    takes = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options()), ("sora-2", no_options())],
                              backend_for(server))
    for job_id in takes:
        wait_state(runner, job_id, JobState.DOWNLOADED, timeout=20)
        assert checked(runner, job_id)
    # The one defect goes to whichever take the sandbox saw first (the pool picks the order).
    flagged, clean = sorted(takes, key=lambda job_id: runner.ledger.get(job_id).flags_json == "[]")
    flags = runner.ledger.get(flagged).flags
    assert [(f["kind"], f["start_s"]) for f in flags] == [("black", 0.0)]
    assert flags[0]["message"] == "Black picture 0.0–1.0 s."
    assert runner.ledger.get(clean).flags_json == "[]"  # checked, nothing raised
    assert [j.id for j in runner.ledger.list_jobs(flagged=True)] == [flagged]
    assert runner.ledger.count_jobs(flagged=True) == 1


def test_downloaded_does_not_wait_for_the_checks(make_sandbox, make_runner, ledger):
    release = threading.Event()

    def slow_check(path: Path, expects_audio: bool) -> list[Flag]:
        release.wait(20)
        return check_clip(path, expects_audio)

    server = make_sandbox(render_times={"*": (1, 2)})
    runner = make_runner(check_clips=ClipChecker(ledger, check=slow_check))
    (job_id,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server))
    job = wait_state(runner, job_id, JobState.DOWNLOADED, timeout=20)
    assert job.flags_json is None  # downloaded, shown, not yet checked
    release.set()
    assert checked(runner, job_id)


def test_a_clip_left_unchecked_is_checked_at_the_next_start(make_sandbox, make_runner, ledger, tmp_path):
    server = make_sandbox(render_times={"*": (1, 2)})
    runner = make_runner()  # checks off, as if the process had stopped before them
    (job_id,) = runner.submit_run(recipe_for("sora-2"), [("sora-2", no_options())], backend_for(server))
    wait_state(runner, job_id, JobState.DOWNLOADED, timeout=20)
    runner.stop()
    assert [j.id for j in ledger.unchecked_clips()] == [job_id]
    checker = ClipChecker(ledger, clips=runner.clips).start()
    try:
        assert checker.wait_idle(20)
    finally:
        checker.stop()
    assert ledger.get(job_id).flags_json is not None and ledger.unchecked_clips() == []


def test_an_old_ledger_file_gains_the_flags_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    Ledger(path).close()
    with sqlite3.connect(path) as conn:  # as written before flags existed
        conn.execute("ALTER TABLE jobs DROP COLUMN flags_json")
        conn.execute("DROP TABLE schema_versions")  # a file from before versioned migrations
    led = Ledger(path)
    try:
        job = led.create_job(run_id="r", model_id="sora-2", family="sora", backend="sandbox", base_url="http://x",
                             recipe_json="{}")
        assert led.get(job.id).flags_json is None and led.get(job.id).flags == []
    finally:
        led.close()
