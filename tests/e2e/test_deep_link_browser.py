"""A bookmarked page opened first after a restart still gets the app's navigation and sidebar."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def test_deep_link_on_a_fresh_server_shows_the_app_frame(app_server: str, browser) -> None:
    page = browser.new_page()
    page.goto(app_server + "/history")  # the first request this server has seen
    page.wait_for_selector(READY, timeout=60_000)
    nav = page.get_by_test_id("stSidebarNav")
    for title in ("Generate", "Compare", "Costs", "History", "Settings"):
        assert nav.get_by_text(title, exact=True).count() == 1, title
    assert nav.get_by_text("app", exact=True).count() == 0  # no legacy page list
    assert page.get_by_text("Sandbox").first.is_visible()
    page.close()
