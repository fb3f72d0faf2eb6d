"""The rate card in a real browser: typing a price in one cell of Settings' table changes the estimate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from providers.catalog import load_catalog
from providers.rate_card import rate_rows

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
COLUMNS = ["Model", "Mode", "Length", "Priced", "Shipped", "Source", "Checked", "CometAPI listing", "Yours (USD)",
           "In estimates now"]


def _type_price(page, row: int, price: str) -> None:
    """Click the card's first cell, walk to the row's "Yours" cell and type the price, as a user does."""
    page.wait_for_selector(READY, timeout=30_000)  # the grid is not redrawn under us
    grid = page.locator("[data-testid='stDataFrame']").last
    grid.evaluate("e => e.scrollIntoView({block: 'center'})")  # the whole card in view, under no header
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + 1 + 36 + 17)  # the first data cell, under a 36 px header
    page.wait_for_function("() => !!document.activeElement.closest(\"[data-testid='stDataFrame']\")", timeout=10_000)
    for _ in range(COLUMNS.index("Yours (USD)")):
        page.keyboard.press("ArrowRight")
    for _ in range(row):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # opens the cell's editor
    page.wait_for_selector("input.gdg-input:focus", timeout=10_000)
    page.keyboard.type(price)
    page.wait_for_function(f"() => document.querySelector('input.gdg-input:focus')?.value === {price!r}",
                           timeout=10_000)
    # glide-data-grid's cell editor queues a zero-delay timer on every key; if the last digit's timer runs after
    # Enter it closes the editor without saving (glideapps/glide-data-grid#1201, open; Streamlit 1.67 bundles the
    # unfixed editor). Playwright presses Enter ~10 ms after the digit, before that timer, and lost the edit in 3
    # of 10 runs. A later zero-delay timer runs after the digit's (timers of equal delay run in order): Enter
    # then arrives as after any human keystroke.
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 0))")
    page.keyboard.press("Enter")


def test_typing_a_price_in_the_rate_card_changes_the_estimate(app_server: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1200})
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())  # nothing off the machine
    page.goto(app_server)
    page.wait_for_selector(READY, timeout=60_000)
    assert page.get_by_text(re.compile(r"^Total: ")).first.inner_text().startswith("Total: $0.33–$2.84")

    page.goto(f"{app_server}/settings")
    page.wait_for_selector(READY, timeout=60_000)
    shipped = load_catalog()
    row = next(i for i, r in enumerate(rate_rows(shipped, shipped))
               if (r.model_id, r.mode, r.duration_s) == ("kling-v1-6", "std", 5))
    page.get_by_text("Every price the app estimates with").wait_for(timeout=30_000)
    page.wait_for_selector(READY, timeout=30_000)  # the page's first run is over: the grid is not redrawn under us
    # One edit, as soon as the card is drawn: the first one a user makes must reach the app.
    _type_price(page, row, "0.3")
    page.get_by_text("Saved: Kling v1.6 (std, 5 s) $0.30").wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "settings-rate-card.png"), full_page=True)

    page.goto(app_server)
    page.wait_for_selector(READY, timeout=60_000)
    page.get_by_text(re.compile(r"^Total: \$0\.50 for 2 priced model")).first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "generate-after-rate-card.png"), full_page=True)
    page.goto(f"{app_server}/costs")
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg",
                           timeout=30_000)
    page.screenshot(path=str(tmp_path / "costs.png"), full_page=True)
    page.close()
