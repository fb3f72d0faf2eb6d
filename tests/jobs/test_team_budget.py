"""One budget for a team: two `python -m jobs run` processes on one PostgreSQL ledger draw on one pot.

The sandbox stands in for CometAPI with a key of its own, so both CLIs run *live* (the only mode a budget
binds) without leaving the machine. The budget lives in the team's preferences in the database, as the app's
Settings saves it: neither process is given it on its command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jobs_helpers import submits

from jobs.ledger import Ledger
from jobs.prefs import Prefs, period_start, save_deployment_prefs
from providers.catalog import load_catalog
from providers.mapping import prepare
from providers.recipe import ModelOptions, Recipe
from tests.jobs.standalone import ROOT

LIVE_KEY = "sk-team-live-e2e-7c1d"
MODEL = "veo3.1-fast"
PROMPT = "a red kite over a beach at dawn"


def _cli(env: dict[str, str], prompt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobs", "run", "--model", MODEL, "--prompt", prompt,
                           "--duration", "8", "--no-wait", "--timeout", "60"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_two_cli_processes_share_one_budget_on_postgresql(make_sandbox, pg_url: str, tmp_path: Path,
                                                          monkeypatch) -> None:
    server = make_sandbox(api_key=LIVE_KEY)
    one_run = prepare(Recipe(prompt=PROMPT, duration_s=8), MODEL, ModelOptions(), load_catalog()).cost.high_usd
    assert one_run > 0
    monkeypatch.setenv("DAILIES_DATABASE_URL", pg_url)
    # Room for one run and a half: each process alone fits, the second only fits if it cannot see the first.
    save_deployment_prefs(tmp_path, Prefs(budget_usd=round(one_run * 1.5, 2), budget_period="month"))
    env = {**os.environ, "DAILIES_DATABASE_URL": pg_url, "COMETAPI_BASE_URL": server.base_url,
           "COMETAPI_KEY": LIVE_KEY, "DAILIES_CLIPS_DIR": str(tmp_path / "clips"), "DAILIES_AUTH": "none"}
    env.pop("DAILIES_CLIP_STORE", None)

    first = _cli({**env, "DAILIES_DATA_DIR": str(tmp_path / "host-a")}, PROMPT)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "(live)" in first.stdout and "sent 1 of 1" in first.stdout, first.stdout

    second = _cli({**env, "DAILIES_DATA_DIR": str(tmp_path / "host-b")}, "a heron on a misty pond")
    assert second.returncode == 2, second.stdout + second.stderr
    assert "budget" in second.stderr.lower(), second.stderr

    ledger = Ledger(pg_url)
    try:
        jobs = ledger.list_jobs()
        assert [j.recipe.get("prompt") for j in jobs] == [PROMPT]  # the refused run wrote nothing
        assert jobs[0].backend == "live"
        spent = ledger.spend_total("live", since=period_start("month"))
        assert abs(spent - one_run) < 1e-6, (spent, one_run)
    finally:
        ledger.close()
    assert len(submits(server)) == 1  # and sent nothing
