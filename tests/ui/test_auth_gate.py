"""The sign-in gate in the app: a team deployment shows no data to a request without a signed-in user."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.ui_helpers import APP, texts

PAGES = ["app_pages/generate.py", "app_pages/compare.py", "app_pages/costs.py", "app_pages/history.py",
         "app_pages/blind_review.py", "app_pages/rankings.py", "app_pages/prompt_library.py",
         "app_pages/settings.py"]


def _all_text(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "error", "warning", "title", "metric", "header", "subheader")
    return " ".join(" ".join(texts(at, k)) for k in kinds)


@pytest.mark.parametrize("page", PAGES)
def test_header_mode_without_a_signed_in_user_shows_only_the_sign_in_screen(
        seeded, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    monkeypatch.setenv("DAILIES_AUTH", "header")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t for t in texts(at, "title")] == ["Sign in to Dailies"]
    shown = _all_text(at)
    assert "ask your admin" in shown
    # No data: no seeded prompt, no spend metric, no job count, nothing in the sidebar.
    assert "kite" not in shown and "Jobs running" not in shown and "$" not in shown
    assert not at.get("button") and not at.get("text_input") and not at.get("dataframe")


def test_a_shared_store_with_no_auth_refuses_to_start_naming_dailies_auth(
        empty_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILIES_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/never-opened")
    monkeypatch.delenv("DAILIES_AUTH", raising=False)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = texts(at, "error")
    assert len(errors) == 1 and "Dailies will not start" in errors[0]
    assert "DAILIES_AUTH" in errors[0] and "none, header" in errors[0]


def test_explicitly_no_auth_says_so_on_every_page(empty_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILIES_AUTH", "none")
    at = AppTest.from_file(APP, default_timeout=30).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert any("No sign-in on this deployment" in w for w in texts(at, "warning")), page


def test_single_user_shows_no_banner_and_no_sign_in(empty_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAILIES_AUTH", raising=False)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert not any("No sign-in" in w for w in texts(at, "warning"))
    assert "Sign in to Dailies" not in texts(at, "title")
