"""Links between takes have a kind; a ledger written before kinds existed gets the column and sensible kinds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jobs.ledger import JOB_FIELDS, Ledger


def _old_ledger(path: Path) -> None:
    """A jobs table as it was before `link_kind`: a parent, its retry, its fallback and a Sora remix."""
    cols = [f for f in JOB_FIELDS if f != "link_kind"]
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE jobs ({', '.join(cols)})")
    rows = [("p", "kling-v1-6", None, "{}"), ("r", "kling-v1-6", "p", "{}"), ("f", "veo3.1-fast", "p", "{}"),
            ("m", "kling-v1-6", "p", '{"remix_of": "p"}')]
    for job_id, model, parent, mapping in rows:
        conn.execute("INSERT INTO jobs (id, run_id, take, model_id, family, backend, base_url, recipe_json, state, "
                     "parent_job_id, mapping_json, needs_key, time_scale, created_at) "
                     "VALUES (?, 'run', 0, ?, 'kling', 'sandbox', 'http://x', '{}', 'failed', ?, ?, 0, 1.0, 1)",
                     (job_id, model, parent, mapping))
    conn.commit()
    conn.close()


def test_an_old_ledger_gets_link_kinds_on_open(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    _old_ledger(path)
    ledger = Ledger(path)
    kinds = {j.id: j.link_kind for j in ledger.list_jobs()}
    assert kinds == {"p": None, "r": "retry", "f": "fallback", "m": "remix"}
    ledger.close()
    again = Ledger(path)  # a second open changes nothing
    assert {j.id: j.link_kind for j in again.list_jobs()} == kinds
    again.close()


def test_a_retry_and_a_fallback_are_linked_by_kind(make_sandbox, make_runner) -> None:
    from jobs_helpers import backend_for, wait_state

    from jobs.ledger import JobState
    from providers.recipe import ModelOptions, Recipe

    server = make_sandbox(render_times={"*": (5, 10)})
    server.faults.add(route="submit", kind="content_policy", count=1)
    runner = make_runner()
    backend = backend_for(server)
    (failed_id,) = runner.submit_run(Recipe(prompt="x", duration_s=5), [("kling-v1-6", ModelOptions())], backend)
    assert wait_state(runner, failed_id, {JobState.FAILED}, timeout=20)
    retry = runner.ledger.get(runner.retry(failed_id, backend, request_id="again"))
    assert retry is not None and (retry.parent_job_id, retry.link_kind) == (failed_id, "retry")
