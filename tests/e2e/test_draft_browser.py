"""The recipe survives, in a real browser: a visit to every other page and back, and a reload."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from browser_guard import guarded_page
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
OTHER_PAGES = {"Compare": "compare", "Costs": "costs", "History": "history", "Review": "blind_review",
               "Rankings": "rankings", "Library": "prompt_library", "Settings": "settings"}
PROMPT = "A heron lands on a misty pond at dawn"


def _png(path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (1280, 720), (200, 120, 40)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return path


def _flip(page, model: str) -> None:
    """Click a model's toggle the way a user does: on its label (which covers the switch input)."""
    page.get_by_role("switch", name=model).locator("xpath=ancestor::label").click()


def _settle(page) -> None:
    page.wait_for_selector(READY, timeout=30_000)


def _go(page, title: str, path: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    # The entrypoint puts the draft id back after the page change clears the query.
    page.wait_for_url(re.compile(rf"/{path}\?(.*&)?draft=[0-9a-f]{{32}}"), timeout=30_000)
    _settle(page)


def _assert_recipe(page) -> None:
    page.get_by_role("textbox", name="Prompt", exact=True).wait_for(timeout=30_000)
    page.wait_for_function(f"() => [...document.querySelectorAll('textarea')].some(t => t.value === {PROMPT!r})",
                           timeout=30_000)
    # Every field is waited for as the prompt is (a loaded machine draws them over more than one frame), then
    # read: a value the draft lost still fails here, after the wait, with what the field shows.
    for name, role, want in (("Negative prompt", "textbox", "blurry"), ("Duration (s)", "spinbutton", "5"),
                             ("Takes per model", "spinbutton", "2")):
        field = page.get_by_role(role, name=name)
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function("([el, want]) => el.value === want", arg=[field.element_handle(), want],
                                   timeout=15_000)
        assert field.input_value() == want, name
    assert not page.get_by_role("switch", name="Veo 3.1 Fast").is_checked()
    assert page.get_by_role("switch", name="Runway Gen-4 Turbo").is_checked()
    assert page.get_by_text("Kept from your draft: first.png").count() == 1


def test_recipe_survives_every_page_and_a_reload(app_server: str, browser, tmp_path: Path) -> None:
    page, guard = guarded_page(browser, app_server, height=1600)
    page.goto(app_server)
    _settle(page)
    page.get_by_role("spinbutton", name="Duration (s)").fill("5")
    page.get_by_role("spinbutton", name="Duration (s)").press("Enter")
    _settle(page)
    takes = page.get_by_role("spinbutton", name="Takes per model")
    takes.fill("2")
    takes.press("Enter")
    _settle(page)
    _flip(page, "Veo 3.1 Fast")
    _settle(page)
    _flip(page, "Runway Gen-4 Turbo")
    _settle(page)
    page.get_by_text("Images (first / last frame)").click()
    page.locator("[data-testid='stFileUploader']").first.locator("input[type=file]").set_input_files(
        str(_png(tmp_path / "first.png")))
    page.get_by_text("Fitted to").first.wait_for(timeout=30_000)
    _settle(page)
    page.get_by_role("textbox", name="Negative prompt").fill("blurry")
    page.get_by_role("textbox", name="Negative prompt").press("Enter")
    _settle(page)
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill(PROMPT)
    prompt.press("Control+Enter")
    page.wait_for_function("() => ![...document.querySelectorAll('button')].find(b => b.innerText.trim() === "
                           "'Generate')?.disabled", timeout=30_000)
    _settle(page)
    for title, path in OTHER_PAGES.items():
        _go(page, title, path)
        page.get_by_test_id("stSidebarNav").get_by_text("Generate", exact=True).click()
        page.wait_for_url(re.compile(r"/\?(.*&)?draft=[0-9a-f]{32}"), timeout=30_000)
        _settle(page)
        _assert_recipe(page)
    page.screenshot(path=str(tmp_path / "generate-restored.png"), full_page=True)

    page.reload()
    _settle(page)
    _assert_recipe(page)
    page.screenshot(path=str(tmp_path / "generate-after-reload.png"), full_page=True)

    second, guard2 = guarded_page(browser, app_server, height=1600)
    second.goto(app_server)  # a new tab, no draft id: the latest draft
    _settle(second)
    _assert_recipe(second)
    assert guard.blocked == [] and guard2.blocked == [], guard.blocked + guard2.blocked
    second.context.close()
    page.context.close()
