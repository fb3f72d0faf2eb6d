"""One live budget for a team, in the browser: a CLI run's spend, made in another process, is counted by both
app processes on the same PostgreSQL database, and the app refuses a run the rest of the budget cannot cover.

The sandbox stands in for CometAPI with a key of its own, so the CLI and both apps run *live* (the only mode a
budget binds) without leaving the machine. The budget is the team's saved preference in the database. The CLI
uses --no-wait: a live clip is fetched over https only, and the sandbox serves http, so the test stops at the
point the money is committed (the submit, with its reservation).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import ROOT, two_apps
from browser_guard import guarded_page
from playwright.sync_api import expect

from jobs.prefs import Prefs, save_deployment_prefs
from providers.catalog import load_catalog
from providers.mapping import prepare
from providers.recipe import ModelOptions, Recipe
from sandbox import SandboxConfig, SandboxServer
from tests import pg_helpers

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
TIME_SCALE = 0.01
LIVE_KEY = "sk-team-live-browser-4e2a"
MODEL = "veo3.1-fast"
PROMPT = "A lighthouse beam sweeps a stormy sea"


def _one_run() -> float:
    return prepare(Recipe(prompt=PROMPT, duration_s=8), MODEL, ModelOptions(), load_catalog()).cost.high_usd


@pytest.fixture(scope="module")
def live_team(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    db = pg_helpers.create_database("team_budget_e2e", base=pg_server_url)
    root = tmp_path_factory.mktemp("e2e-team-budget")
    budget = round(_one_run() * 1.5, 2)
    with pytest.MonkeyPatch.context() as mp:  # saved before the apps start: each reads the prefs once
        mp.setenv("DAILIES_DATABASE_URL", db)
        save_deployment_prefs(root, Prefs(budget_usd=budget, budget_period="month"))
    sandbox = SandboxServer(SandboxConfig(api_key=LIVE_KEY, time_scale=TIME_SCALE, data_dir=root / "sandbox",
                                          render_times={"*": (20, 40)}), port=0).start()
    env = {"DAILIES_DATABASE_URL": db, "DAILIES_AUTH": "none", "COMETAPI_BASE_URL": sandbox.base_url,
           "COMETAPI_KEY": LIVE_KEY}
    try:
        with two_apps(root, TIME_SCALE, env) as (a, b, _dirs):
            yield {"a": a, "b": b, "env": env, "budget": budget, "root": root}
    finally:
        sandbox.stop()
        pg_helpers.drop_database(db)


def _live_spend(page) -> str:
    metric = page.get_by_test_id("stSidebar").get_by_test_id("stMetric").filter(has_text="Live spend this month")
    return metric.get_by_test_id("stMetricValue").inner_text()


def test_a_cli_runs_spend_is_counted_by_both_apps_and_the_rest_refuses_a_run(live_team: dict, browser,
                                                                            tmp_path: Path) -> None:
    env = {**os.environ, **live_team["env"], "DAILIES_DATA_DIR": str(live_team["root"] / "cli-host"),
           "DAILIES_CLIPS_DIR": str(tmp_path / "cli-clips")}
    done = subprocess.run([sys.executable, "-m", "jobs", "run", "--model", MODEL, "--duration", "8", "--prompt",
                           PROMPT, "--no-wait", "--timeout", "60"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(live)" in done.stdout and "sent 1 of 1" in done.stdout, done.stdout
    spent = _one_run()
    left = live_team["budget"] - spent

    pages = []
    for base in (live_team["a"], live_team["b"]):
        page, guard = guarded_page(browser, base, height=1400)
        page.goto(base)
        page.wait_for_selector(READY, timeout=60_000)
        assert page.get_by_test_id("stSidebar").get_by_text("Talking to CometAPI with your key").count() == 1
        assert _live_spend(page) == f"${spent:.2f}"  # the CLI's spend, from another process
        pages.append((page, guard))
    page, _ = pages[1]
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill("A heron lands on a misty pond")
    box.press("Control+Enter")
    page.wait_for_selector(READY, timeout=30_000)
    page.get_by_text(f"Budget left this month: ${left:.2f}").first.wait_for(timeout=30_000)
    refusal = page.get_by_text(re.compile(rf"more than the \${left:.2f} left in this month's budget"))
    refusal.first.wait_for(timeout=30_000)
    expect(page.get_by_role("button", name="Generate", exact=True)).to_be_disabled(timeout=30_000)
    page.screenshot(path=str(tmp_path / "team-budget.png"), full_page=True)
    for page, guard in pages:
        assert guard.blocked == []
        page.context.close()
