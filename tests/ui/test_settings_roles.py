"""Settings by role: a member sees the admin-only settings read-only with who changes them; an admin edits them."""

from __future__ import annotations

import pytest

from components import auth
from jobs.identity import ADMIN, MEMBER, Identity
from tests.ui.ui_helpers import open_page, texts


def _as(monkeypatch: pytest.MonkeyPatch, email: str, role: str, admins: str = "boss@example.com") -> None:
    monkeypatch.setenv("DAILIES_AUTH", "none")  # sign-in has its own tests; the identity is given here
    monkeypatch.setenv("DAILIES_ADMINS", admins)
    monkeypatch.setattr(auth, "current_identity", lambda: Identity(email=email, role=role, signed_in_required=True))


def _labels(at, kind: str) -> list[str]:
    return [e.label for e in at.get(kind)]


def test_a_member_sees_admin_settings_read_only_with_who_changes_them(empty_app, monkeypatch) -> None:
    monkeypatch.setenv("COMETAPI_KEY", "sk-live-secret-123456")
    _as(monkeypatch, "alice@example.com", MEMBER)
    at = open_page("app_pages/settings.py")
    shown = " ".join(texts(at, "markdown") + texts(at, "info") + texts(at, "caption") + texts(at, "success"))
    assert "A CometAPI key is configured" in shown
    assert "environment" not in " ".join(texts(at, "info")) and "3456" not in shown  # no source, no masked key
    assert "Only an admin changes this (boss@example.com)" in shown
    assert "Budget: **$" in shown
    for label in ("Budget (USD)", "Enter a key for this browser session only", "CometAPI base URL"):
        assert label not in _labels(at, "number_input") + _labels(at, "text_input"), label
    assert not [b for b in at.get("button") if b.label in ("Save", "Inject fault", "Clear faults")]
    assert not [c for c in at.get("checkbox") if c.label.startswith("Allow plain http")]
    speed = [s for s in at.get("select_slider") if s.label.startswith("Render speed")]
    assert speed and speed[0].disabled


def test_an_admin_edits_them(empty_app, monkeypatch) -> None:
    _as(monkeypatch, "boss@example.com", ADMIN)
    at = open_page("app_pages/settings.py")
    assert "Budget (USD)" in _labels(at, "number_input")
    assert [b for b in at.get("button") if b.label == "Save"]
    assert not any("Only an admin changes this" in t for t in texts(at, "caption"))


def test_with_no_admin_configured_a_member_is_told_the_operator_lists_them(empty_app, monkeypatch) -> None:
    _as(monkeypatch, "first@example.com", MEMBER, admins="")
    at = open_page("app_pages/settings.py")
    assert any("none is configured" in t and "DAILIES_ADMINS" in t for t in texts(at, "caption"))
