"""Every page in a real browser at 1440 px: offline means offline (zero requests to another host), a screenshot of
each page for the product check, and the Generate form's range checks as a user types them."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_guard import guarded_page
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
ENABLED = "() => ![...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Generate')?.disabled"
PAGES = ("Generate", "Compare", "Costs", "History", "Review", "Rankings", "Library", "Settings")


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", level=1).first.wait_for(timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)


def test_every_page_makes_no_request_to_another_host(app_server: str, browser, tmp_path: Path) -> None:
    page, guard = guarded_page(browser, app_server)
    page.goto(app_server)
    page.wait_for_selector(READY, timeout=60_000)
    for title in PAGES:
        open_page(page, title)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(tmp_path / f"page-{title.lower()}.png"), full_page=True)
    page.reload()
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_load_state("networkidle")
    icon = page.evaluate("() => [...document.querySelectorAll('link[rel*=icon]')].map(l => l.href)")
    assert icon and all(h.startswith(app_server) for h in icon), icon
    assert guard.blocked == [], guard.blocked
    page.context.close()


def test_duration_999_and_takes_50_are_refused_next_to_the_field_and_generate_is_disabled(
        app_server: str, browser, tmp_path: Path) -> None:
    page, guard = guarded_page(browser, app_server)
    page.goto(app_server)
    page.wait_for_selector(READY, timeout=60_000)
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("A paper airplane glides across a sunlit desk")
    prompt.press("Control+Enter")
    generate = page.get_by_role("button", name="Generate", exact=True)
    page.wait_for_function(ENABLED, timeout=30_000)

    duration = page.get_by_role("spinbutton", name="Duration (s)")
    duration.fill("999")
    duration.press("Enter")
    page.get_by_text("Duration: 999 s is out of range (allowed: 1 s to 15 s).").wait_for(timeout=30_000)
    takes = page.get_by_role("spinbutton", name="Takes per model")
    takes.fill("50")
    takes.press("Enter")
    page.get_by_text("Takes per model: 50 is out of range (allowed: 1 to 4).").wait_for(timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)
    expect(generate).to_be_disabled(timeout=30_000)
    # The browser shows what was typed (no widget bounds silently restoring an old value).
    assert duration.input_value() == "999" and takes.input_value() == "50"
    page.screenshot(path=str(tmp_path / "generate-validation.png"), full_page=True)

    duration.fill("5")
    duration.press("Enter")
    takes.fill("2")
    takes.press("Enter")
    page.get_by_text("× 2 takes", exact=False).wait_for(timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)
    assert page.get_by_text("out of range").count() == 0
    page.screenshot(path=str(tmp_path / "generate-fixed.png"), full_page=True)
    page.wait_for_function(ENABLED, timeout=10_000)
    assert guard.blocked == [], guard.blocked
    page.context.close()


def test_mapping_and_code_open_in_a_wide_dialog_with_every_column(app_server: str, browser, tmp_path: Path) -> None:
    page, guard = guarded_page(browser, app_server)
    page.goto(app_server)
    page.wait_for_selector(READY, timeout=60_000)
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("A paper airplane glides across a sunlit desk")
    prompt.press("Control+Enter")
    duration = page.get_by_role("spinbutton", name="Duration (s)")
    duration.fill("5")
    duration.press("Enter")
    page.get_by_text("5 s → 6 s").first.wait_for(timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)
    page.get_by_role("button", name="What it will receive").first.click()
    dialog = page.get_by_role("dialog")
    try:
        dialog.wait_for(timeout=30_000)
    except Exception:
        page.screenshot(path=str(tmp_path / "debug-no-dialog.png"), full_page=True)
        raise
    dialog.get_by_test_id("stDataFrame").wait_for(timeout=30_000)
    # The grid draws on a canvas; its accessible table names every column.
    dialog.locator("th", has_text="Why").first.wait_for(state="attached", timeout=30_000)
    box = dialog.bounding_box()
    assert box and box["width"] >= 1000, box
    page.screenshot(path=str(tmp_path / "generate-receive-dialog.png"))
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=30_000)
    page.get_by_role("button", name="View code").first.click()
    dialog.get_by_text("DEFAULT_BASE_URL = 'https://api.cometapi.com'").wait_for(timeout=30_000)
    code_box = dialog.locator("[data-testid='stCode']").first.bounding_box()
    assert code_box and code_box["height"] <= 700, code_box  # scrolls inside, the page does not stretch
    page.screenshot(path=str(tmp_path / "generate-code-dialog.png"))
    assert guard.blocked == [], guard.blocked
    page.context.close()


def test_a_private_ip_image_url_is_refused_in_the_form_and_nothing_is_sent(app_server: str, browser,
                                                                           tmp_path: Path) -> None:
    page, guard = guarded_page(browser, app_server)
    page.goto(app_server)
    page.wait_for_selector(READY, timeout=60_000)
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("The kite rises over the dunes")
    prompt.press("Control+Enter")
    page.wait_for_function(ENABLED, timeout=30_000)
    page.get_by_text("Images (first / last frame)").click()
    url = page.get_by_role("textbox", name="…or first frame by URL")
    url.fill("https://192.168.1.20/kite.png")
    url.press("Enter")
    page.get_by_text("first_frame: host 192.168.1.20 points to a private or local address").wait_for(timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)
    expect(page.get_by_role("button", name="Generate", exact=True)).to_be_disabled(timeout=30_000)
    page.screenshot(path=str(tmp_path / "generate-private-url.png"), full_page=True)
    assert page.get_by_text("No runs yet").count() == 1  # nothing was submitted
    assert not any("192.168.1.20" in u for u in guard.blocked) and guard.blocked == [], guard.blocked
    page.context.close()
