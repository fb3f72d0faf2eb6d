"""DAILIES_ENGINE=external in the app: Settings says where the key comes from and asks for no session key,
and a key held in a browser session is not used (it could not reach a worker process)."""

from __future__ import annotations

import pytest
from ui_helpers import open_page, texts

ENV_KEY = "sk-environment-key-0001"
SESSION_KEY_VALUE = "sk-session-only-key-9999"


def test_settings_in_external_mode_names_the_workers_and_ignores_a_session_key(
        empty_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILIES_ENGINE", "external")
    monkeypatch.setenv("COMETAPI_KEY", ENV_KEY)
    at = open_page("app_pages/settings.py")
    at.session_state["_cometapi_key"] = SESSION_KEY_VALUE  # as if entered before the switch
    at.run()
    infos = " ".join(texts(at, "info"))
    assert "external workers" in infos and "COMETAPI_KEY" in infos
    assert not [t for t in at.text_input if "browser session" in t.label]
    success = " ".join(texts(at, "success"))
    assert "environment" in success and ENV_KEY[-4:] in success and SESSION_KEY_VALUE[-4:] not in success


def test_settings_in_process_still_offers_a_session_key(empty_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAILIES_ENGINE", raising=False)
    at = open_page("app_pages/settings.py")
    assert [t for t in at.text_input if "browser session" in t.label]
    assert not any("external workers" in t for t in texts(at, "info"))


def test_no_key_in_external_mode_points_at_the_servers_environment(empty_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILIES_ENGINE", "external")
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    at = open_page("app_pages/settings.py")
    infos = texts(at, "info")
    assert any("No key" in t and "the workers read it too" in t for t in infos), infos
    assert not any("browser session" in t for t in infos if "No key" in t)
