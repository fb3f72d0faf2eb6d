"""Settings: a bad saved value is named and resets only itself; the plain-http switch is there and saved."""

from __future__ import annotations

import json

from ui_helpers import open_page, texts


def test_a_bad_saved_value_is_named_and_the_other_settings_are_kept(empty_app) -> None:
    empty_app.mkdir(parents=True, exist_ok=True)
    (empty_app / "prefs.json").write_text(json.dumps({"budget_usd": 80.0, "budget_period": "fortnight"}))
    at = open_page("app_pages/settings.py")
    warnings = texts(at, "warning")
    assert any("budget_period" in w and "fortnight" in w for w in warnings), warnings
    assert at.number_input[0].value == 80.0  # the budget saved next to the bad period is kept
    assert any("plain http" in c.label for c in at.checkbox)
