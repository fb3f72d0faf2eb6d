"""The team deployment end to end: two app processes (two replicas on two ports) and one batch CLI on one
PostgreSQL database and one bucket (moto's server on loopback), all against one sandbox.

What a team sees: the CLI's run and a run made in app A show in app B's History and as boards on B's Compare,
where two clips play in sync from presigned bucket URLs; the sidebar's sandbox spend is the same figure in
both apps; a board created in A appears in B's open session on its next rerun (the ledger's change counter
travels by LISTEN/NOTIFY, or B's per-session cache would keep the old list); Settings → Storage names
PostgreSQL (host:port/db) and the bucket, and the database password is in no page, log or CLI output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from app_process import ROOT, two_apps
from browser_guard import guarded_page
from sync_players import READ_ALL, play_and_check_sync

from jobs.ledger import JobState, Ledger
from jobs.prefs import period_start
from sandbox import SandboxConfig, SandboxServer
from tests import pg_helpers
from tests.s3_helpers import ACCESS_KEY, REGION, SECRET_KEY, client, moto_endpoint

__all__ = ["moto_endpoint"]  # a fixture

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
PLAYER = "iframe[title='Synchronised player']"
TIME_SCALE = 0.01
PASSWORD = "pw-7f3a9c-never-shown"
"""Trust auth ignores it, so the apps connect; it must never be shown or logged."""
CLI_PROMPT = "A lighthouse beam sweeps a stormy sea"
APP_PROMPT = "A paper kite over the dunes"
BOARD = "Team picks, lighthouse"
SPEND = re.compile(r"Simulated \(sandbox\) spend, never counted: \$(\d+\.\d\d)")


@dataclass
class Team:
    a: str
    b: str
    db_url: str
    """With the password: what the deployment's DAILIES_DATABASE_URL holds."""
    dbname: str
    bucket: str
    env: dict[str, str]
    logs: list[Path]
    sandbox: SandboxServer


@pytest.fixture(scope="module")
def team(pg_server_url: str, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    plain = pg_helpers.create_database("team_e2e", base=pg_server_url)
    parts = urlsplit(plain)
    db_url = parts._replace(netloc=f"postgres:{PASSWORD}@{parts.hostname}:{parts.port}").geturl()
    bucket = f"team-{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as mp:  # the client reads the standard AWS variables
        for name, value in {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}.items():
            mp.setenv(name, value)
        client(moto_endpoint).create_bucket(Bucket=bucket)
    root = tmp_path_factory.mktemp("e2e-team")
    # One sandbox for the whole team: both apps find it on DAILIES_SANDBOX_PORT instead of starting their own.
    sandbox = SandboxServer(SandboxConfig(time_scale=TIME_SCALE, data_dir=root / "sandbox",
                                          render_times={"*": (20, 40)}), port=0).start()
    env = {"DAILIES_DATABASE_URL": db_url, "DAILIES_CLIP_STORE": f"s3://{bucket}/team", "DAILIES_AUTH": "none",
           "AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_REGION": REGION, "DAILIES_SANDBOX_PORT": str(sandbox.port)}
    try:
        with two_apps(root, TIME_SCALE, env) as (a, b, dirs):
            yield Team(a=a, b=b, db_url=db_url, dbname=parts.path.lstrip("/"), bucket=bucket, env=env,
                       logs=[d / "streamlit.log" for d in dirs], sandbox=sandbox)
    finally:
        sandbox.stop()
        pg_helpers.drop_database(plain)


def _settle(page) -> None:
    page.wait_for_selector(READY, timeout=60_000)


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", level=1).filter(has_text=title).wait_for(timeout=30_000)
    _settle(page)


def _spend(page) -> str:
    text = page.get_by_test_id("stSidebar").get_by_text(SPEND).inner_text()
    found = SPEND.search(text)
    assert found, text
    return found.group(1)


def _board_names(page) -> list[str]:
    """The options of Compare's Board picker, read from its open list."""
    page.get_by_test_id("stSelectbox").first.click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=10_000)
    names = [o.inner_text() for o in options.all()]
    page.keyboard.press("Escape")
    return names


def _no_password(page) -> None:
    assert PASSWORD not in page.inner_text("body")
    assert PASSWORD not in page.content()


def _cli_run(team: Team, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **team.env, "COMETAPI_BASE_URL": team.sandbox.base_url, "COMETAPI_KEY": "sk-sandbox",
           "DAILIES_DATA_DIR": str(tmp / "cli-host")}
    return subprocess.run([sys.executable, "-m", "jobs", "run", "--sandbox", "--model", "veo3.1-fast", "--model",
                           "kling-v1-6", "--duration", "5", "--prompt", CLI_PROMPT, "--time-scale", str(TIME_SCALE),
                           "--timeout", "90", "--quiet"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)


def _generate(page, prompt: str) -> None:
    """Generate with the default models (Veo 3.1 Fast and Kling v1.6) and wait for both clips."""
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill(prompt)
    box.press("Control+Enter")
    page.wait_for_function("() => ![...document.querySelectorAll('button')].find(b => b.innerText.trim() === "
                           "'Generate')?.disabled", timeout=30_000)
    _settle(page)
    page.get_by_role("button", name="Generate", exact=True).click()
    page.get_by_text(f"Latest run: {prompt}").wait_for(timeout=30_000)
    page.locator("video").nth(1).wait_for(state="attached", timeout=90_000)


def _runs(team: Team) -> dict[str, list]:
    ledger = Ledger(team.db_url)
    try:
        runs: dict[str, list] = {}
        for job in ledger.list_jobs(newest_first=False):
            runs.setdefault(str(job.recipe.get("prompt")), []).append(job)
        return runs
    finally:
        ledger.close()


def _sandbox_spend(team: Team) -> float:
    ledger = Ledger(team.db_url)
    try:
        return ledger.spend_total("sandbox", since=period_start("month"))
    finally:
        ledger.close()


def test_two_apps_and_a_cli_share_one_ledger_board_list_and_bucket(team: Team, browser, moto_endpoint: str,
                                                                    tmp_path: Path) -> None:
    done = _cli_run(team, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ledger PostgreSQL (127.0.0.1:{urlsplit(team.db_url).port}/{team.dbname})" in done.stdout, done.stdout
    assert PASSWORD not in done.stdout + done.stderr

    page_a, guard_a = guarded_page(browser, team.a, height=1600, also=(moto_endpoint,))
    page_b, guard_b = guarded_page(browser, team.b, height=1300, also=(moto_endpoint,))
    page_a.goto(team.a)
    _settle(page_a)
    _generate(page_a, APP_PROMPT)
    runs = _runs(team)
    assert {CLI_PROMPT, APP_PROMPT} <= set(runs), runs.keys()
    assert all(j.state == JobState.DOWNLOADED for jobs in runs.values() for j in jobs)
    assert all(j.clip_path and not j.clip_path.startswith("/") for jobs in runs.values() for j in jobs)

    # B's History holds both runs (the CLI's and A's), with thumbnails from the bucket.
    page_b.goto(f"{team.b}/history")
    _settle(page_b)
    for jobs in runs.values():
        for job in jobs:
            tile = page_b.locator(f"#job-{job.id}")
            tile.wait_for(timeout=30_000)
            thumb = tile.locator("img").get_attribute("src") or ""
            assert thumb.startswith(f"{moto_endpoint}/{team.bucket}/team/") and "X-Amz-Signature=" in thumb, thumb
    page_b.get_by_text(re.compile(r"^4 jobs\b")).first.wait_for(timeout=10_000)

    # B's Compare: the CLI's run is a board whose two clips play in sync from presigned bucket URLs.
    page_b.goto(f"{team.b}/compare?run={runs[CLI_PROMPT][0].run_id}")
    _settle(page_b)
    frame = page_b.wait_for_selector(PLAYER, timeout=30_000).content_frame()
    assert frame is not None
    frame.wait_for_function("() => { const v = [...document.querySelectorAll('video.sync')];"
                            " return v.length === 2 && v.every(x => x.readyState >= 3); }", timeout=30_000)
    for video in frame.evaluate(READ_ALL):
        src = urlsplit(video["src"])
        assert f"{src.scheme}://{src.netloc}" == moto_endpoint, video["src"]  # not the app server
        assert src.path.startswith(f"/{team.bucket}/team/") and "X-Amz-Signature=" in src.query, video["src"]
        assert SECRET_KEY not in video["src"]
    play_and_check_sync(frame)
    frame.click("#sync-play")
    page_b.screenshot(path=str(tmp_path / "team-compare-b.png"), full_page=True)
    page_b.screenshot(path=str(tmp_path / "team-compare.png"))

    # One pot: the sidebar's sandbox spend is the ledger's, the same in both apps.
    expected = f"{_sandbox_spend(team):.2f}"
    assert float(expected) > 0
    page_a.reload()
    _settle(page_a)
    assert _spend(page_a) == expected and _spend(page_b) == expected
    page_a.get_by_test_id("stSidebar").screenshot(path=str(tmp_path / "team-sidebar.png"))

    # A board created in A shows in B's open session on its next rerun, with no reload.
    _nav(page_a, "Compare")
    page_a.get_by_text("New board", exact=True).click()
    name_box = page_a.get_by_role("textbox", name="Name")
    name_box.fill(BOARD)
    name_box.press("Enter")
    _settle(page_a)
    page_a.get_by_role("button", name="Create board").click()
    page_a.wait_for_function(  # A switches to the new board
        "(name) => { const s = document.querySelector(\"[data-testid='stSelectbox']\");"
        " return !!s && (s.innerText + [...s.querySelectorAll('input')].map(i => i.value).join(' '))"
        ".includes(name); }", arg=BOARD, timeout=30_000)
    _settle(page_a)
    _nav(page_b, "History")
    _nav(page_b, "Compare")
    assert any(name.startswith(BOARD) for name in _board_names(page_b)), _board_names(page_b)

    for page in (page_a, page_b):
        _no_password(page)
    assert guard_a.blocked == [] and guard_b.blocked == []  # nothing but the apps and the bucket
    page_a.context.close()
    page_b.context.close()


def test_settings_names_postgresql_and_the_bucket_and_no_credential(team: Team, browser, moto_endpoint: str,
                                                                    tmp_path: Path) -> None:
    page, guard = guarded_page(browser, team.b, height=1100, also=(moto_endpoint,))
    page.goto(f"{team.b}/settings")
    _settle(page)
    database = page.locator("li").filter(has_text=re.compile(r"^Database: "))
    database.wait_for(timeout=30_000)
    port = urlsplit(team.db_url).port
    assert database.inner_text() == f"Database: PostgreSQL (127.0.0.1:{port}/{team.dbname})"
    clips = page.locator("li").filter(has_text=re.compile(r"^Clips: ")).inner_text()
    assert clips == f"Clips: S3 bucket {team.bucket}, prefix team/", clips
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert "PostgreSQL" in sidebar and team.bucket in sidebar, sidebar
    for secret in (PASSWORD, SECRET_KEY):
        assert secret not in page.inner_text("body") and secret not in page.content()
        for log in team.logs:
            assert secret not in log.read_text(), log
    page.get_by_role("heading", name="Storage").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "team-settings.png"))
    assert guard.blocked == []
    page.context.close()
