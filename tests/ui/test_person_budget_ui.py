"""The sidebar shows a signed-in person their own spend beside the team's; Settings sets the per-person budget."""

from __future__ import annotations

import json

import pytest

from components import auth
from jobs import settings
from jobs.identity import ADMIN, MEMBER, Identity
from jobs.ledger import Ledger
from tests.ui.ui_helpers import open_page, rerun, texts


def _as(monkeypatch: pytest.MonkeyPatch, email: str, role: str) -> None:
    monkeypatch.setenv("DAILIES_AUTH", "header")  # sign-in has its own tests; the identity is given here
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    monkeypatch.setattr(auth, "current_identity", lambda: Identity(email=email, role=role, signed_in_required=True))


def _budgets(data_dir, *, person_usd: float) -> None:
    """A team budget of $200 a week, and `person_usd` for each person inside it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "prefs.json").write_text(json.dumps({"budget_usd": 200.0, "budget_period": "week",
                                                     "person_budget_usd": person_usd}))


def _spend(data_dir, owner: str, amount: float) -> None:
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    try:
        ledger.create_jobs([{"run_id": "r", "model_id": "veo3.1-fast", "family": "veo", "backend": "live",
                             "base_url": "https://api.cometapi.com", "key_fingerprint": "f", "state": "failed",
                             "recipe_json": json.dumps({"prompt": "p"}), "est_high_usd": amount, "owner": owner}])
    finally:
        ledger.close()


def test_sidebar_shows_my_spend_of_my_budget_and_the_teams(empty_app, monkeypatch) -> None:
    _budgets(empty_app, person_usd=20.0)
    _spend(empty_app, "alice@example.com", 4.20)
    _spend(empty_app, "bob@example.com", 56.80)
    _as(monkeypatch, "alice@example.com", MEMBER)
    at = open_page("app_pages/history.py")
    assert "you: $4.20 of $20.00 this week · team: $61.00 of $200.00" in texts(at.sidebar, "caption")


def test_an_admin_sets_the_per_person_budget_in_settings(empty_app, monkeypatch) -> None:
    _as(monkeypatch, "boss@example.com", ADMIN)
    at = open_page("app_pages/settings.py")
    field = next(n for n in at.number_input if n.label.startswith("Per-person budget"))
    field.set_value(15.0)
    next(b for b in at.button if b.label == "Save").click()
    rerun(at)
    saved = json.loads((empty_app / "prefs.json").read_text())
    assert saved["person_budget_usd"] == 15.0
    rerun(at)  # the sidebar is drawn before the page that saved
    assert any("you: $0.00 of $15.00 this month" in c for c in texts(at.sidebar, "caption"))


def test_settings_activity_shows_who_spent_and_who_changed_a_setting(empty_app, monkeypatch) -> None:
    _spend(empty_app, "alice@example.com", 4.20)
    _as(monkeypatch, "boss@example.com", ADMIN)
    at = open_page("app_pages/settings.py")
    next(n for n in at.number_input if n.label == "Budget (USD)").set_value(30.0)
    next(b for b in at.button if b.label == "Save").click()
    rerun(at)
    rerun(at)
    frame = next(d.value for d in at.dataframe if "Who" in d.value.columns)
    rows = frame.to_dict("records")
    assert {"Who": "boss@example.com", "What": "settings changed", "Detail": "budget_usd: 25.0 → 30.0"}.items() <= \
        next(r for r in rows if r["What"] == "settings changed").items()
    take = next(r for r in rows if r["What"] == "live take")
    assert take["Who"] == "alice@example.com" and take["Cost (USD)"] == pytest.approx(4.20)
    assert [b for b in at.get("download_button") if b.proto.label == "Download activity (CSV)"]


def test_single_user_settings_have_no_per_person_budget(empty_app) -> None:
    at = open_page("app_pages/settings.py")
    assert "Budget (USD)" in [n.label for n in at.number_input]
    assert not [n for n in at.number_input if n.label.startswith("Per-person budget")]


def test_generate_refuses_a_live_run_past_my_own_budget_naming_the_teams_room(empty_app, monkeypatch) -> None:
    _budgets(empty_app, person_usd=3.0)
    _spend(empty_app, "alice@example.com", 2.0)
    _spend(empty_app, "bob@example.com", 50.0)
    monkeypatch.setenv("COMETAPI_KEY", "sk-live-never-sent-0000")  # live: the only mode a budget binds
    monkeypatch.setenv("COMETAPI_BASE_URL", "http://127.0.0.1:9")
    _as(monkeypatch, "alice@example.com", MEMBER)
    at = open_page("app_pages/generate.py")
    at.text_area(key="prompt").input("A heron lands on a misty pond")
    rerun(at)
    assert ("This run could cost up to $2.84, more than the $1.00 left of your $3.00 per-person budget this week "
            "(the team's budget still has $148.00).") in " ".join(texts(at, "warning"))
    assert at.button(key="generate").disabled
