"""Who admitted each job: recorded on the job and its reservation, filtered in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from jobs import cli
from jobs.ledger import Ledger, LedgerError
from tests.jobs.jobs_helpers import backend_for, no_options, recipe


@pytest.fixture
def ledger(store_target):
    led = Ledger(store_target)
    yield led
    led.close()


def spec(**kw):
    base = {"run_id": "run1", "model_id": "kling-v1-6", "family": "kling", "backend": "sandbox",
            "base_url": "http://127.0.0.1:1", "key_fingerprint": "abc", "recipe_json": '{"prompt": "x"}',
            "est_low_usd": 0.5, "est_high_usd": 1.0}
    base.update(kw)
    return base


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
