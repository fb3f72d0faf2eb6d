"""Runs in a real browser: two runs shown apart, each linking to its own board; a take failed by a sandbox fault
shows one clear message and is retried with one click as one new job."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from browser_guard import guarded_page

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _settle(page) -> None:
    page.wait_for_selector(READY, timeout=30_000)


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", level=1).filter(has_text=title).wait_for(timeout=30_000)
    _settle(page)


def _generate(page, prompt: str) -> None:
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill(prompt)
    box.press("Control+Enter")
    page.wait_for_function("() => ![...document.querySelectorAll('button')].find(b => b.innerText.trim() === "
                           "'Generate')?.disabled", timeout=30_000)
    _settle(page)
    page.get_by_role("button", name="Generate", exact=True).click()
    page.get_by_text(f"Latest run: {prompt}").wait_for(timeout=30_000)


def _sandbox_url(page) -> str:
    _nav(page, "Settings")
    text = page.get_by_text("Running in this process at").inner_text()
    return re.search(r"http://127\.0\.0\.1:\d+", text).group(0)


def test_runs_apart_with_board_links_and_a_failed_take_retried_once(app_server: str, browser,
                                                                     tmp_path: Path) -> None:
    page, guard = guarded_page(browser, app_server, height=1800)
    page.goto(app_server)
    _settle(page)
    sandbox = _sandbox_url(page)
    # The test (not the page) tells the local sandbox to refuse the next submit on content grounds.
    httpx.post(f"{sandbox}/_sandbox/faults", json={"route": "submit", "kind": "content_policy", "count": 1},
               timeout=5).raise_for_status()
    _nav(page, "Generate")
    page.get_by_role("switch", name="Veo 3.1 Fast").locator("xpath=ancestor::label").click()
    _settle(page)

    _generate(page, "A paper kite over the dunes")
    failure = page.get_by_text("Blocked by content policy")
    failure.first.wait_for(timeout=60_000)
    alert = page.get_by_test_id("stAlertContentError").filter(has_text="Charged:")
    assert alert.count() == 1
    text = alert.inner_text()
    assert "Charged: no — sandbox" in text and text.count("content policy") == 1, text
    assert page.get_by_text(re.compile(r"1 take \(0 ready\)")).count() == 1
    page.screenshot(path=str(tmp_path / "generate-failed-take.png"), full_page=True)

    page.get_by_role("button", name="Retry").click()
    page.get_by_text(re.compile(r"2 takes \(1 ready\)")).wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Retry").count() == 1  # the failed take stays, with its reason
    assert len(httpx.get(f"{sandbox}/_sandbox/requests", timeout=5).json()) >= 1

    _generate(page, "A heron lands on a misty pond")
    page.get_by_text(re.compile(r"Run of \d\d:\d\d:")).wait_for(timeout=30_000)
    page.locator("video").nth(1).wait_for(state="attached", timeout=60_000)
    links = page.get_by_role("link", name="Open its board")
    assert links.count() == 2
    hrefs = [links.nth(i).get_attribute("href") for i in range(2)]
    runs = [re.search(r"run=([0-9a-f]+)", h).group(1) for h in hrefs]
    assert len(set(runs)) == 2, hrefs
    page.screenshot(path=str(tmp_path / "generate-two-runs.png"), full_page=True)

    links.nth(1).click()  # the earlier run's board
    page.get_by_role("heading", level=1).filter(has_text="Compare").wait_for(timeout=30_000)
    _settle(page)
    select = page.get_by_test_id("stSelectbox").first
    board = select.inner_text() + " " + " ".join(i.input_value() for i in select.locator("input").all())
    assert "paper kite over the dunes" in board, board
    page.screenshot(path=str(tmp_path / "compare-from-run-link.png"), full_page=True)
    assert guard.blocked == [], guard.blocked
    page.context.close()
