"""The OIDC sign-in gate through AppTest (its `user` is what st.user reads; its `secrets` what st.secrets reads):
nobody signed in sees only the sign-in screen on every page, a signed-in person sees who they are and can sign out,
an unverified email stays outside with the reason, and an unusable [auth] refuses to start naming what is missing."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.test_auth_gate import PAGES, _all_text
from tests.ui.ui_helpers import APP, texts

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 40,
        "client_id": "dailies", "client_secret": "s3cret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


@pytest.fixture
def oidc_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILIES_AUTH", "oidc")
    monkeypatch.setenv("DAILIES_ADMIN_GROUPS", "dailies-admins")
    monkeypatch.delenv("DAILIES_ADMINS", raising=False)


def _app(user: dict[str, Any], secrets: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets = {"auth": AUTH} if secrets is None else secrets
    at.user = user
    return at


def _buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.get("button")]


def test_nobody_signed_in_sees_only_the_sign_in_screen_on_every_page(seeded, oidc_env) -> None:
    at = _app({"is_logged_in": False}).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert texts(at, "title") == ["Sign in to Dailies"], page
        assert _buttons(at) == ["Sign in"], page
        shown = _all_text(at)
        assert "127.0.0.1:9" in shown  # where the person will sign in
        assert "kite" not in shown and "Jobs running" not in shown and "$" not in shown, page
        assert not at.get("text_input") and not at.get("dataframe") and not at.get("metric"), page


def test_a_signed_in_admin_by_group_sees_the_app_who_they_are_and_sign_out(seeded, oidc_env) -> None:
    at = _app({"is_logged_in": True, "email": "Ana@Example.com", "email_verified": True,
               "groups": ["film", "dailies-admins"]}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Sign in to Dailies" not in texts(at, "title")
    assert "Signed in as ana@example.com · admin" in [c.value for c in at.sidebar.get("caption")]
    assert "Sign out" in [b.label for b in at.sidebar.get("button")]


def test_a_member_sees_admin_settings_read_only_with_who_can_change_them(seeded, oidc_env) -> None:
    at = _app({"is_logged_in": True, "email": "ben@example.com", "email_verified": True}).run()
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Signed in as ben@example.com · member" in [c.value for c in at.sidebar.get("caption")]
    assert any("Only an admin changes this (the dailies-admins group)" in c for c in texts(at, "caption"))
    assert not [n for n in at.get("number_input") if n.label == "Budget (USD)"]


def test_an_unverified_email_stays_on_the_sign_in_screen_with_the_reason(seeded, oidc_env) -> None:
    at = _app({"is_logged_in": True, "email": "ana@example.com", "email_verified": False,
               "groups": ["dailies-admins"]}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert texts(at, "title") == ["Sign in to Dailies"] and _buttons(at) == ["Sign in"]
    assert any("ana@example.com is not verified" in w for w in texts(at, "warning"))


def test_oidc_without_an_auth_section_refuses_to_start_naming_the_missing_keys(empty_app, oidc_env) -> None:
    at = _app({}, secrets={"unrelated": "x"}).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = texts(at, "error")
    assert len(errors) == 1 and "Dailies will not start" in errors[0], errors
    for key in ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url"):
        assert key in errors[0]
    partial = _app({}, secrets={"auth": {k: v for k, v in AUTH.items() if k != "client_secret"}}).run()
    assert "missing client_secret (in [auth])" in texts(partial, "error")[0]
