"""OIDC sign-in in a real browser (DAILIES_AUTH=oidc): two people sign in through a local OpenID Connect provider by
typing their email on its page, in two browser contexts, and then each sees only their own runs, the member cannot
change admin settings, the member's per-person budget refuses a run while the team's still has room, each person's
vote counts once (a second vote replaces the first), the admin's Activity lists every paid take with its person and
cost, and signing out ends the session at the provider too.

The app is configured against the provider through `[auth]` in a secrets.toml of the test's own
(STREAMLIT_SECRETS_FILES), and runs live against a sandbox with a key of its own, so the budget binds without leaving
the machine. The sandbox renders slowly on purpose: the runs' reservations stay in place for the whole test.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import ROOT, free_port, running_app
from browser_guard import guarded_page
from playwright.sync_api import expect

from components.model_defaults import DEFAULT_MODELS
from components.runtime import clips_url_prefix
from jobs import settings
from jobs.clipstore import ClipStore
from jobs.ledger import Ledger
from jobs.prefs import Prefs, save_deployment_prefs
from providers.catalog import load_catalog
from providers.mapping import prepare
from providers.recipe import ModelOptions, Recipe
from review.blind import start_review
from review.store import ReviewStore
from sandbox import SandboxConfig, SandboxServer
from tests.oidc_provider import Client, OIDCProvider
from tests.review.review_helpers import finished_job

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
LIVE_KEY = "sk-oidc-live-browser-7c1d"
ADMIN, MEMBER = "ana@example.com", "ben@example.com"
PROMPTS = {"ana": "A paper lantern drifts over a quiet lake", "ben1": "A heron lands on a misty pond",
           "ben2": "A kite climbs over a windy dune"}
SHOTS_ENV = "DAILIES_SCREENSHOTS"
"""Where the screenshots go when set (a folder to look at them in); else the test's own tmp_path."""


def _take_costs() -> dict[str, float]:
    """What one take of each default model reserves (the app's Generate runs these models by default)."""
    catalog = load_catalog()
    return {m: prepare(Recipe(prompt="x"), m, ModelOptions(), catalog).cost.high_usd for m in DEFAULT_MODELS}


def _seed_review(data_dir: Path, clips_dir: Path) -> str:
    """One review with one pair of finished takes, started the way the Review page starts one."""
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    clips = ClipStore(clips_dir, url_prefix=clips_url_prefix(clips_dir))
    jobs = [finished_job(ledger, clips, m, "A red kite over a beach", run_id="seed", work_dir=data_dir)
            for m in ("veo3.1-fast", "kling-v1-6")]
    store = ReviewStore.in_data_dir(data_dir)
    review = start_review(store, jobs, clips, name="Kite shoot-out", seed=1)
    store.close()
    ledger.close()
    return review.id


@pytest.fixture(scope="module")
def oidc_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("e2e-oidc")
    data_dir, clips_dir = root / "data", ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    port = free_port()
    client = Client("dailies-e2e", "e2e-client-secret-51f0", (f"http://127.0.0.1:{port}/oauth2callback",))
    run = sum(_take_costs().values())
    save_deployment_prefs(data_dir, Prefs(budget_usd=round(run * 20, 2), budget_period="month",
                                          person_budget_usd=round(run * 1.5, 2)))  # one run fits, two do not
    review_id = _seed_review(data_dir, clips_dir)
    with OIDCProvider([client]) as idp, SandboxServer(SandboxConfig(
            api_key=LIVE_KEY, time_scale=1.0, data_dir=root / "live-sandbox", render_times={"*": (600, 600)}),
            port=0) as live:
        secrets_file = root / "secrets.toml"
        auth = {"redirect_uri": client.redirect_uris[0], "cookie_secret": "e2e-cookie-secret-" + "9" * 24}
        provider = {"client_id": client.client_id, "client_secret": client.client_secret,
                    "server_metadata_url": idp.discovery_url}
        secrets_file.write_text("[auth]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in auth.items())
                                + "\n[auth.local]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in provider.items()))
        env = {"DAILIES_AUTH": "oidc", "DAILIES_ADMINS": ADMIN, "STREAMLIT_SECRETS_FILES": str(secrets_file),
               "COMETAPI_BASE_URL": live.base_url, "COMETAPI_KEY": LIVE_KEY}
        with running_app(data_dir, clips_dir, 0.02, extra_env=env, port=port) as base:
            yield {"base": base, "idp": idp, "data_dir": data_dir, "review": review_id, "run": run}


def _open(browser, app: dict, path: str = ""):
    page, guard = guarded_page(browser, app["base"], height=1300, also=(app["idp"].issuer,))
    page.goto(app["base"] + path)
    page.wait_for_selector(READY, timeout=60_000)
    return page, guard


def _goto(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(READY, timeout=60_000)


def _assert_sign_in_only(page) -> None:
    page.get_by_role("heading", name="Sign in to Dailies").wait_for(timeout=30_000)
    # The button is the sign-in screen's last widget: once it is drawn the whole screen is, so the checks below
    # read the finished page (it was counted before it was drawn once, on a loaded machine).
    page.get_by_role("button").filter(has_text=re.compile("Sign in")).first.wait_for(timeout=30_000)
    body = page.inner_text("[data-testid='stApp']")
    assert "Jobs running" not in body and "$" not in body and "Kite shoot-out" not in body, body
    assert page.get_by_test_id("stSidebarNav").count() == 0
    assert page.get_by_role("button").filter(has_text=re.compile("Sign in")).count() == 1


def _sign_in(browser, app: dict, email: str, name: str, shot: Path | None = None):
    """Press Sign in, type the email on the provider's page like a person, come back signed in."""
    page, guard = _open(browser, app)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{app['idp'].issuer}/authorize**", timeout=30_000)
    page.get_by_label("Email", exact=True).press_sequentially(email)
    page.get_by_label("Name (optional)").press_sequentially(name)
    if shot:
        page.screenshot(path=str(shot))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(app["base"] + "/", timeout=30_000)
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_load_state("networkidle")
    return page, guard


def _write_prompt(page, prompt: str) -> None:
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill(prompt)
    box.press("Control+Enter")
    page.get_by_text("Write a prompt first").wait_for(state="detached", timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)


def _generate(page, prompt: str) -> None:
    _write_prompt(page, prompt)
    page.get_by_role("button", name="Generate", exact=True).click()


def _vote(page, app: dict, button: str) -> None:
    _goto(page, app["base"] + "/blind_review")
    page.get_by_role("button", name="Join").click()
    page.wait_for_selector("iframe[title='Blind pair']", timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)
    page.get_by_role("button", name=button).click()
    page.wait_for_selector("text=/A was /", timeout=30_000)


def test_two_people_signed_in_through_the_provider_each_with_their_runs_rights_budget_and_vote(
        oidc_app: dict, browser, tmp_path: Path) -> None:
    shots = Path(os.environ[SHOTS_ENV]) if os.environ.get(SHOTS_ENV) else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    app, run = oidc_app, oidc_app["run"]
    guards = []

    # Nobody signed in: the sign-in screen on every page, and nothing else.
    page, guard = _open(browser, app)
    _assert_sign_in_only(page)
    page.screenshot(path=str(shots / "oidc-signin.png"))
    _goto(page, app["base"] + "/settings")
    _assert_sign_in_only(page)
    guards.append(guard)
    page.context.close()

    ana, guard = _sign_in(browser, app, ADMIN, "Ana", shot=shots / "oidc-provider.png")
    guards.append(guard)
    side = ana.get_by_test_id("stSidebar")
    side.get_by_text(f"Signed in as {ADMIN} · admin").wait_for(timeout=30_000)
    ana.screenshot(path=str(shots / "oidc-sidebar.png"))
    _generate(ana, PROMPTS["ana"])
    ana.get_by_text("Submitted 2 take(s).").wait_for(timeout=30_000)

    ben, guard = _sign_in(browser, app, MEMBER, "Ben")
    guards.append(guard)
    ben.get_by_test_id("stSidebar").get_by_text(f"Signed in as {MEMBER} · member").wait_for(timeout=30_000)
    _generate(ben, PROMPTS["ben1"])
    ben.get_by_text("Submitted 2 take(s).").wait_for(timeout=30_000)
    # A second run fits the team's budget but not his own: refused before anything is sent, saying which.
    _write_prompt(ben, PROMPTS["ben2"])
    team_left, mine_left = run * 20 - run * 2, run * 1.5 - run
    refusal = ben.get_by_text(
        f"This run could cost up to ${run:.2f}, more than the ${mine_left:.2f} left of your ${run * 1.5:.2f} "
        f"per-person budget this month (the team's budget still has ${team_left:.2f}).")
    refusal.wait_for(timeout=30_000)
    expect(ben.get_by_role("button", name="Generate", exact=True)).to_be_disabled(timeout=30_000)
    ben.get_by_test_id("stSidebar").get_by_text(
        f"you: ${run:.2f} of ${run * 1.5:.2f} this month").wait_for(timeout=30_000)
    refusal.scroll_into_view_if_needed()
    ben.screenshot(path=str(shots / "oidc-member-refused.png"))
    # His runs on Generate and in History are his alone.
    main = ben.get_by_test_id("stMain")
    main.get_by_text(PROMPTS["ben1"]).first.wait_for(timeout=30_000)
    assert main.get_by_text(PROMPTS["ana"]).count() == 0
    _goto(ben, app["base"] + "/history")
    ben.get_by_text("2 jobs").first.wait_for(timeout=30_000)
    ben.get_by_text(PROMPTS["ben1"]).first.wait_for(timeout=30_000)
    assert ben.get_by_text(PROMPTS["ana"]).count() == 0
    ben.screenshot(path=str(shots / "oidc-member-history.png"))
    # The member cannot change admin settings, and is told why.
    _goto(ben, app["base"] + "/settings")
    ben.get_by_text(f"Only an admin changes this ({ADMIN}); you are signed in as a member.").first.wait_for(
        timeout=30_000)
    assert ben.get_by_role("spinbutton", name="Budget (USD)").count() == 0
    _vote(ben, app, "A is better")

    _goto(ana, app["base"] + "/history")
    ana.get_by_text("2 jobs").first.wait_for(timeout=30_000)
    ana.get_by_text(PROMPTS["ana"]).first.wait_for(timeout=30_000)
    assert ana.get_by_text(PROMPTS["ben1"]).count() == 0
    _vote(ana, app, "A is better")
    # The same person again, from a new tab (a new session, a new vote id), changes her mind: a tie.
    again = ana.context.new_page()
    _vote(again, app, "Tie")
    _goto(again, app["base"] + "/blind_review")
    again.get_by_text("Kite shoot-out · 1 pairs · 2 votes so far").wait_for(timeout=30_000)
    again.close()
    store = ReviewStore.in_data_dir(app["data_dir"])
    votes = {v.voter: v.winner_model for v in store.votes(review_id=app["review"])}
    store.close()
    assert len(votes) == 2 and votes[ADMIN] is None and votes[MEMBER] is not None, votes  # her tie replaced her win

    # The admin's Settings: the budget can be changed, and Activity lists every paid take with its person and cost.
    _goto(ana, app["base"] + "/settings")
    ana.get_by_role("spinbutton", name="Budget (USD)").wait_for(timeout=30_000)
    with ana.expect_download(timeout=30_000) as download:
        ana.get_by_role("button", name="Download activity (CSV)").click()
    rows = [r for r in csv.DictReader(io.StringIO(Path(download.value.path()).read_text()))
            if r["What"] == "live take"]
    costs = _take_costs()
    paid = sorted((r["Who"], r["Detail"].split(" · ")[0], float(r["Cost (USD)"])) for r in rows)
    assert paid == sorted((who, m, costs[m]) for who in (ADMIN, MEMBER) for m in DEFAULT_MODELS), paid

    # Signing out ends the session here and at the provider; the app is back to its sign-in screen.
    ana.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    ana.get_by_role("heading", name="Sign in to Dailies").wait_for(timeout=30_000)
    assert app["idp"].logouts == [f"{app['base']}/oauth2callback"]
    _goto(ana, app["base"] + "/history")
    _assert_sign_in_only(ana)
    for page in (ana, ben):
        page.context.close()
    assert all(g.blocked == [] for g in guards), [g.blocked for g in guards]
