"""A board shared by link, in the browser, behind the sign-in proxy: a member's run is a board; its Share link
opened by a viewer shows that board (made by someone else) with its clips, and the viewer's Generate says why they
cannot generate; the same link with nobody signed in shows only the sign-in screen."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import ROOT, running_app
from playwright.sync_api import expect
from signin import HEADER_MODE, READY, open_as

pytestmark = pytest.mark.e2e

MEMBER, OTHER, VIEWER = "ann@example.com", "bob@example.com", "vic@example.com"
PROMPT = "A paper lantern drifts over a quiet lake"


@pytest.fixture(scope="module")
def team_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    env = {**HEADER_MODE, "DAILIES_VIEWERS": VIEWER}
    with running_app(tmp_path_factory.mktemp("shared-board"), clips_dir, time_scale=0.01, extra_env=env) as base:
        yield base


def _generate(page, prompt: str) -> None:
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill(prompt)
    box.press("Control+Enter")
    page.wait_for_selector(READY, timeout=30_000)
    page.get_by_role("button", name="Generate").click()
    page.get_by_text("Submitted 2 take(s).").wait_for(timeout=30_000)


def test_a_member_shares_a_board_and_a_viewer_opens_it_but_cannot_generate(team_app: str, browser,
                                                                            tmp_path: Path) -> None:
    page, _ = open_as(browser, team_app, email=OTHER)  # someone else's run: a second board, another owner
    _generate(page, "A heron lifts off a misty pond")
    page.context.close()
    page, _ = open_as(browser, team_app, email=MEMBER)
    _generate(page, PROMPT)
    page.get_by_text("2 takes (2 ready)").wait_for(timeout=60_000)
    page.get_by_role("link", name="Open its board").click()
    page.get_by_role("button", name="Share").click()
    link = page.get_by_test_id("stCode").filter(has_text="?board=").inner_text().strip()
    assert link.startswith(f"{team_app}/compare?board="), link
    page.context.close()

    page, guard = open_as(browser, team_app, link.removeprefix(team_app), email=VIEWER)
    page.get_by_text(f"Signed in as {VIEWER} · viewer").wait_for(timeout=30_000)
    board = page.get_by_role("combobox", name="Board", exact=True)
    page.wait_for_function("(who) => [...document.querySelectorAll(\"[data-testid='stSelectbox'] input\")]"
                           ".some(i => i.value.includes(who))", arg=f"by {MEMBER}", timeout=30_000)
    assert PROMPT in board.input_value()
    frame = page.wait_for_selector("iframe[title='Synchronised player']", timeout=30_000).content_frame()
    assert frame is not None
    frame.wait_for_function("() => [...document.querySelectorAll('video.sync')]"  # both of the member's takes play
                            ".filter(v => v.readyState >= 1).length === 2", timeout=30_000)
    page.get_by_role("heading", name="Compare").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "roles-shared-board.png"))
    page.get_by_test_id("stSelectbox").first.click()  # the list of boards, each with who made it
    page.get_by_role("option").first.wait_for(timeout=10_000)
    owners = " ".join(o.inner_text() for o in page.get_by_role("option").all())
    assert f"by {MEMBER}" in owners and f"by {OTHER}" in owners, owners
    page.screenshot(path=str(tmp_path / "roles-boards-list.png"))
    page.keyboard.press("Escape")
    rerun = page.get_by_test_id("stExpander").filter(has_text="Re-run this board with one setting changed")
    rerun.get_by_text("Re-run this board with one setting changed").click()
    rerun.get_by_text("You are signed in as a viewer: a viewer cannot start takes").wait_for(timeout=30_000)
    rerun.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "roles-shared-board-rerun.png"))

    page.get_by_test_id("stSidebarNav").get_by_text("Generate", exact=True).click()
    page.get_by_role("heading", name="Compare").wait_for(state="detached", timeout=30_000)  # no stale Compare text
    page.wait_for_selector(READY, timeout=30_000)
    refusal = page.get_by_text("You are signed in as a viewer: a viewer cannot start takes")
    refusal.wait_for(timeout=30_000)
    assert "Ask an admin (boss@example.com)" in refusal.inner_text()
    expect(page.get_by_role("button", name="Generate")).to_be_disabled(timeout=30_000)
    page.screenshot(path=str(tmp_path / "roles-viewer-generate.png"), full_page=True)
    assert guard.blocked == []
    page.context.close()

    page, _ = open_as(browser, team_app, link.removeprefix(team_app))  # nobody signed in: the link shows nothing
    page.get_by_role("heading", name="Sign in to Dailies").wait_for(timeout=30_000)
    body = page.inner_text("[data-testid='stApp']")
    assert PROMPT not in body and MEMBER not in body and page.locator("video").count() == 0
    page.context.close()
