"""The batch CLI: headless runs into the same ledger, progress in the terminal, an honest exit status."""

from __future__ import annotations

import io

import pytest

from jobs import cli
from jobs.ledger import JobState, Ledger


@pytest.fixture
def env(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("COMETAPI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("COMETAPI_KEY", "sk-sandbox")
    monkeypatch.setenv("DAILIES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAILIES_CLIPS_DIR", str(tmp_path / "clips"))
    return sandbox


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main([*argv], out=out)
    return code, out.getvalue()


def test_a_run_across_two_models_lands_in_the_ledger_and_exits_zero(env, tmp_path):
    code, out = run("run", "--model", "sora-2", "--model", "veo3.1-fast", "--prompt", "a paper boat",
                    "--time-scale", "0.01", "--timeout", "30")
    assert code == 0, out
    assert "2 job(s): 2 downloaded" in out and "running" in out
    jobs = Ledger(tmp_path / "data" / "ledger.sqlite3").list_jobs()
    assert {j.model_id for j in jobs} == {"sora-2", "veo3.1-fast"}
    assert all(j.state == JobState.DOWNLOADED and j.backend == "sandbox" for j in jobs)
    code, listing = run("list")
    assert code == 0 and listing.count("downloaded") == 2


def test_a_csv_of_prompts_and_a_failure_give_a_non_zero_exit(env, tmp_path):
    env.faults.add(route="submit", kind="content_policy", count=1)
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("prompt,duration\na paper boat,5\na kite,5\n", encoding="utf-8")
    code, out = run("run", "--model", "kling-v1-6", "--csv", str(prompts), "--time-scale", "0.01",
                    "--timeout", "30")
    assert code == 1, out
    assert "1 downloaded" in out and "1 failed" in out and "content_policy" in out


def test_bad_input_is_named(env, tmp_path, capsys):
    code, _ = run("run", "--model", "kling-v1-6", "--prompt", "x", "--duration", "7", "--time-scale", "0.01")
    assert code == 2 and "duration" in capsys.readouterr().err
    code, _ = run("run", "--model", "no-such-model", "--prompt", "x")
    assert code == 2 and "model" in capsys.readouterr().err


def test_help_documents_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in ("run", "resume", "list", "COMETAPI_KEY", "--sandbox"):
        assert word in text


def test_a_live_run_obeys_the_apps_budget_and_period(tmp_path, monkeypatch, capsys):
    import json

    data = tmp_path / "data"
    data.mkdir()
    (data / "prefs.json").write_text(json.dumps({"budget_usd": 0.1, "budget_period": "month"}))
    monkeypatch.setenv("COMETAPI_BASE_URL", "https://api.cometapi.com")
    monkeypatch.setenv("COMETAPI_KEY", "sk-live-key-for-the-test")
    monkeypatch.setenv("DAILIES_DATA_DIR", str(data))
    monkeypatch.setenv("DAILIES_CLIPS_DIR", str(tmp_path / "clips"))
    code, _ = run("run", "--model", "veo3.1-fast", "--prompt", "a paper boat", "--no-wait")
    assert code == 2
    assert "budget" in capsys.readouterr().err.lower()
    assert Ledger(data / "ledger.sqlite3").count_jobs() == 0  # refused before anything was written or sent


def test_a_fallback_model_is_recorded_on_every_job_of_the_run(env, tmp_path):
    code, out = run("run", "--model", "veo3.1-fast", "--prompt", "a paper boat", "--fallback", "kling-v1-6",
                    "--no-wait")
    assert code == 0, out
    (job,) = Ledger(tmp_path / "data" / "ledger.sqlite3").list_jobs()
    assert job.fallback_model == "kling-v1-6"
    code, _ = run("run", "--model", "veo3.1-fast", "--prompt", "x", "--fallback", "no-such-model", "--no-wait")
    assert code == 2
