"""History on a signed-in deployment: my jobs by default, everyone's on request."""

from __future__ import annotations

import json

import pytest

from components import auth
from jobs import settings
from jobs.identity import MEMBER, Identity
from jobs.ledger import JobState, Ledger
from tests.ui.ui_helpers import find, open_page, rerun, texts


def _own(data_dir, owner: str, prompt: str) -> None:
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    try:
        ledger.create_jobs([{"run_id": f"run-{owner}", "model_id": "kling-v1-6", "family": "kling",
                             "backend": "sandbox", "base_url": "http://127.0.0.1:1", "key_fingerprint": None,
                             "recipe_json": json.dumps({"prompt": prompt}), "state": JobState.FAILED,
                             "error_message": "refused", "owner": owner}])
    finally:
        ledger.close()


def _count(at) -> str:
    return next(t for t in texts(at, "markdown") if " job" in t and "page" in t)


@pytest.fixture
def signed_in_as_alice(seeded, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DAILIES_AUTH", "none")  # sign-in itself has its own tests; here the identity is given
    monkeypatch.setattr(auth, "current_identity",
                        lambda: Identity(email="alice@example.com", role=MEMBER, signed_in_required=True))
    _own(seeded.data_dir, "alice@example.com", "alice's lighthouse")
    _own(seeded.data_dir, "bob@example.com", "bob's harbour")
    return seeded


def test_history_shows_mine_by_default_and_everyones_on_request(signed_in_as_alice) -> None:
    at = open_page("app_pages/history.py")
    assert _count(at).startswith("**1 job**"), _count(at)
    everyone = find(at, "toggle", label="Everyone's jobs")
    assert len(everyone) == 1 and everyone[0].value is False
    everyone[0].set_value(True)
    rerun(at)
    ledger = Ledger(signed_in_as_alice.data_dir / settings.LEDGER_FILENAME)
    everyone_count = ledger.count_jobs()
    ledger.close()
    assert _count(at).startswith(f"**{everyone_count} jobs**"), _count(at)  # seeded (no owner), alice's, bob's


def test_single_user_history_has_no_owner_toggle(seeded) -> None:
    at = open_page("app_pages/history.py")
    assert not find(at, "toggle", label="Everyone's jobs")
