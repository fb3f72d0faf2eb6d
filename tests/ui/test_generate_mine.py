"""Generate's runs list, signed in: the person's runs from any browser, not only this one's."""

from __future__ import annotations

import json

import pytest

from components import auth
from components.queue import RUNS_FIELD
from jobs import settings
from jobs.drafts import DraftStore
from jobs.identity import MEMBER, Identity
from jobs.ledger import Ledger
from tests.ui.ui_helpers import open_page, texts


def _run(data_dir, owner: str, prompt: str) -> None:
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    try:
        ledger.create_jobs([{"run_id": f"run-{owner}", "model_id": "kling-v1-6", "family": "kling",
                             "backend": "sandbox", "base_url": "http://127.0.0.1:1", "key_fingerprint": None,
                             "recipe_json": json.dumps({"prompt": prompt}), "state": "failed",
                             "error_message": "refused", "owner": owner}])
    finally:
        ledger.close()


def test_a_signed_in_persons_runs_from_another_browser_are_listed(empty_app, monkeypatch) -> None:
    empty_app.mkdir(parents=True, exist_ok=True)
    _run(empty_app, "alice@example.com", "alice's lighthouse at dusk")
    _run(empty_app, "bob@example.com", "bob's harbour at noon")
    monkeypatch.setenv("DAILIES_AUTH", "none")  # sign-in has its own tests; the identity is given here
    monkeypatch.setattr(auth, "current_identity",
                        lambda: Identity(email="alice@example.com", role=MEMBER, signed_in_required=True))
    at = open_page("app_pages/generate.py")
    shown = " ".join(texts(at, "markdown"))
    assert "**Latest run:** alice's lighthouse at dusk" in shown
    assert "bob's harbour" not in shown


def test_single_user_lists_only_this_browsers_runs(empty_app, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_app.mkdir(parents=True, exist_ok=True)
    _run(empty_app, "alice@example.com", "alice's lighthouse at dusk")
    at = open_page("app_pages/generate.py")
    assert "alice's lighthouse" not in " ".join(texts(at, "markdown"))
    assert any("No runs yet" in t for t in texts(at, "info"))


def _as(monkeypatch: pytest.MonkeyPatch, email: str) -> None:
    monkeypatch.setattr(auth, "current_identity",
                        lambda: Identity(email=email, role=MEMBER, signed_in_required=True))


def test_a_signed_in_person_continues_their_own_draft_never_another_persons(empty_app, monkeypatch) -> None:
    empty_app.mkdir(parents=True, exist_ok=True)
    _run(empty_app, "alice@example.com", "alice's lighthouse at dusk")
    monkeypatch.setenv("DAILIES_AUTH", "none")
    _as(monkeypatch, "alice@example.com")
    alice = open_page("app_pages/generate.py")
    alice.text_area(key="prompt").input("alice's unreleased pitch").run()
    alice_draft = str(alice.query_params["draft"]).strip("[]'")

    _as(monkeypatch, "bob@example.com")  # a tab of bob's with no draft id: not alice's, the last one written
    bob = open_page("app_pages/generate.py")
    assert bob.text_area(key="prompt").value in ("", None)
    assert "alice's" not in " ".join(texts(bob, "markdown"))
    # Opening alice's draft by its link (it lists the runs her browser started) shows her recipe, but the runs
    # listed are still only bob's: none.
    DraftStore(empty_app / "drafts").write(alice_draft, {RUNS_FIELD: ["run-alice@example.com"]})
    linked = open_page("app_pages/generate.py", query={"draft": alice_draft})
    assert linked.text_area(key="prompt").value == "alice's unreleased pitch"
    assert "alice's lighthouse" not in " ".join(texts(linked, "markdown"))

    _as(monkeypatch, "alice@example.com")  # and alice's next tab finds her own draft again
    assert open_page("app_pages/generate.py").text_area(key="prompt").value == "alice's unreleased pitch"
