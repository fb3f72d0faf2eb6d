"""Header sign-in in a real browser: no data before sign-in, the proxy's header honoured from a trusted address and
ignored from any other (the same header, the same browser)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_process import ROOT, running_app
from signin import HEADER_MODE, READY, open_as

pytestmark = pytest.mark.e2e


def _app(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[str]:
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    with running_app(tmp_path_factory.mktemp("signin"), clips_dir, time_scale=0.02, extra_env=env) as base:
        yield base


@pytest.fixture(scope="module")
def header_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Behind a proxy on this machine: loopback is the trusted address (the default)."""
    yield from _app(tmp_path_factory, HEADER_MODE)


@pytest.fixture(scope="module")
def elsewhere_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The proxy is 10.9.9.9: a connection from loopback is not it, whatever header it sends."""
    yield from _app(tmp_path_factory, {**HEADER_MODE, "DAILIES_TRUSTED_PROXIES": "10.9.9.9"})


def _assert_sign_in_only(page) -> None:
    page.get_by_role("heading", name="Sign in to Dailies").wait_for(timeout=30_000)
    body = page.inner_text("[data-testid='stApp']")
    assert "ask your admin" in body
    assert "Jobs running" not in body and "$" not in body and "Generate" not in body, body
    assert page.get_by_test_id("stSidebarNav").count() == 0


def test_without_the_header_every_page_shows_only_sign_in(header_app: str, browser, tmp_path: Path) -> None:
    for path in ("", "/history", "/settings", "/costs"):
        page, guard = open_as(browser, header_app, path)
        _assert_sign_in_only(page)
        page.screenshot(path=str(tmp_path / f"signin{path.replace('/', '-') or '-home'}.png"), full_page=True)
        assert guard.blocked == []
        page.context.close()


def test_the_proxy_header_from_loopback_signs_in_a_member_who_cannot_change_admin_settings(
        header_app: str, browser, tmp_path: Path) -> None:
    page, _ = open_as(browser, header_app, email="alice@example.com")
    page.get_by_text("Signed in as alice@example.com · member").wait_for(timeout=30_000)
    assert page.get_by_test_id("stSidebarNav").count() == 1
    page.screenshot(path=str(tmp_path / "signed-in.png"), full_page=True)
    page.context.close()
    page, _ = open_as(browser, header_app, "/settings", email="alice@example.com")
    page.get_by_text("Only an admin changes this (boss@example.com)").first.wait_for(timeout=30_000)
    assert page.get_by_role("spinbutton", name="Budget (USD)").count() == 0
    assert page.get_by_role("button", name="Inject fault").count() == 0
    page.screenshot(path=str(tmp_path / "member-settings.png"), full_page=True)
    page.context.close()
    page, _ = open_as(browser, header_app, "/settings", email="boss@example.com")
    page.get_by_text("Signed in as boss@example.com · admin").wait_for(timeout=30_000)
    page.get_by_role("spinbutton", name="Budget (USD)").wait_for(timeout=30_000)
    page.context.close()


def test_the_same_header_from_an_untrusted_address_is_ignored(elsewhere_app: str, browser, tmp_path: Path) -> None:
    page, _ = open_as(browser, elsewhere_app, email="boss@example.com")
    _assert_sign_in_only(page)
    assert "boss@example.com" not in page.inner_text("[data-testid='stApp']")
    page.screenshot(path=str(tmp_path / "forged.png"), full_page=True)
    page.context.close()


def test_a_members_run_is_theirs_in_history_and_in_the_admins_activity(header_app: str, browser,
                                                                        tmp_path: Path) -> None:
    page, _ = open_as(browser, header_app, email="carol@example.com")
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("A paper lantern drifts over a quiet lake")
    prompt.press("Control+Enter")
    page.wait_for_selector(READY, timeout=30_000)
    page.get_by_role("button", name="Generate").click()
    page.get_by_text("Submitted 2 take(s).").wait_for(timeout=30_000)
    page.context.close()

    # Another member's History is theirs alone: carol's run is not in it until they ask for everyone's.
    page, _ = open_as(browser, header_app, "/history", email="dave@example.com")
    page.get_by_text("You have started no jobs yet.").wait_for(timeout=30_000)
    page.get_by_text("Everyone's jobs", exact=True).click()
    page.get_by_text("2 jobs").first.wait_for(timeout=30_000)
    page.context.close()

    page, _ = open_as(browser, header_app, "/settings", email="boss@example.com")
    page.get_by_role("heading", name="Activity").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Activity").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "activity.png"), full_page=True)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download activity (CSV)").click()
    text = Path(download.value.path()).read_text()
    lines = [line for line in text.splitlines() if "carol@example.com" in line]
    assert len(lines) == 2 and all("sandbox take (simulated)" in line for line in lines), text
    page.context.close()
