"""Settings' numbers obey the same rules as the CLI's flags (jobs/limits.py)."""

from __future__ import annotations

import math

import pytest

from jobs.prefs import Prefs


@pytest.mark.parametrize(("field", "value"), [
    ("budget_usd", math.nan), ("budget_usd", math.inf), ("budget_usd", -1.0),
    ("sandbox_time_scale", 0.0), ("sandbox_time_scale", math.nan), ("sandbox_time_scale", -0.5),
    ("concurrency_cap", 0), ("concurrency_cap", 33), ("concurrency_cap", 2.5),
])
def test_a_meaningless_number_in_settings_is_refused_naming_the_field(field, value):
    problems = Prefs(**{field: value}).validate()
    assert len(problems) == 1 and problems[0].startswith(f"{field}: must be")


def test_the_defaults_and_a_zero_budget_are_valid():
    assert Prefs().validate() == []
    assert Prefs(budget_usd=0.0).validate() == []


def test_one_bad_saved_field_is_dropped_and_named_and_the_others_are_kept(tmp_path):
    import json

    from jobs.prefs import load_prefs_report

    path = tmp_path / "prefs.json"
    path.write_text(json.dumps({"budget_usd": 40.0, "budget_period": "fortnight", "concurrency_cap": 8,
                                "model_overrides": {"sora-2": {"available": True}}, "sandbox_time_scale": "fast"}))
    prefs, problems = load_prefs_report(path)
    assert prefs.budget_usd == 40.0 and prefs.concurrency_cap == 8
    assert prefs.model_overrides == {"sora-2": {"available": True}}
    assert prefs.budget_period == "month" and prefs.sandbox_time_scale == 0.1  # the defaults, for the bad two
    assert len(problems) == 2
    assert any(p.startswith("budget_period:") for p in problems)
    assert any(p.startswith("sandbox_time_scale:") for p in problems)


def test_one_bad_model_override_is_dropped_and_named_and_the_catalog_still_loads(tmp_path):
    """A saved override for a model the catalog no longer has, or a price it cannot read, used to stop the catalog
    loading: the app did not start and the CLI refused every run. Now that one entry is dropped and named."""
    import json

    from jobs.prefs import load_prefs_report
    from providers.catalog import load_catalog

    good = {"kind": "per_task", "usd": 1.25, "source": "invoice", "as_of": "2026-12-01"}
    path = tmp_path / "prefs.json"
    path.write_text(json.dumps({"budget_usd": 40.0, "model_overrides": {
        "veo3.1-fast": {"price": good},
        "retired-model": {"available": True},
        "veo3.1": {"price": {"kind": "per_task", "usd": 1.0}},  # no source, no as_of
        "kling-v1-6": {"price": {**good, "usd": float("nan")}},
        "sora-2": {"price": {**good, "usd": -3}},
    }}))
    prefs, problems = load_prefs_report(path)
    assert prefs.budget_usd == 40.0 and prefs.model_overrides == {"veo3.1-fast": {"price": good}}
    named = {p.split(":")[1].strip(): p for p in problems}
    assert set(named) == {"retired-model", "veo3.1", "kling-v1-6", "sora-2"}, problems
    assert "no such model" in named["retired-model"] and "veo3.1-fast" in named["retired-model"]  # the allowed ids
    assert "source" in named["veo3.1"]
    assert named["sora-2"] == ("model_overrides: sora-2: usd: -3 is not a price; allowed: a number from 0 to 1000 USD"
                               " (saved override ignored)")
    assert "from 0 to 1000" in named["kling-v1-6"]
    assert all(p.endswith("(saved override ignored)") for p in problems)
    catalog = load_catalog(overrides=prefs.model_overrides)
    assert catalog.get("veo3.1-fast").price.usd == 1.25


def test_a_plain_http_base_url_is_kept_only_with_its_switch(tmp_path):
    import json

    from jobs.prefs import load_prefs_report

    path = tmp_path / "prefs.json"
    path.write_text(json.dumps({"base_url": "http://gw.lan:8080", "allow_http": True}))
    prefs, problems = load_prefs_report(path)
    assert prefs.base_url == "http://gw.lan:8080" and prefs.allow_http and problems == []
    path.write_text(json.dumps({"base_url": "http://gw.lan:8080"}))
    prefs, problems = load_prefs_report(path)
    assert prefs.base_url == "https://api.cometapi.com" and problems and problems[0].startswith("base_url:")


def test_the_headless_catalog_rehearses_switched_off_models_in_the_sandbox_only_and_a_users_switch_wins():
    from jobs.prefs import Prefs, headless_catalog

    assert headless_catalog(Prefs(), sandbox=True).get("sora-2").availability.available
    assert not headless_catalog(Prefs(), sandbox=False).get("sora-2").availability.available
    mine = Prefs(model_overrides={"sora-2": {"available": False}, "kling-v1-6": {"available": False}})
    assert not headless_catalog(mine, sandbox=True).get("sora-2").availability.available
    assert not headless_catalog(mine, sandbox=True).get("kling-v1-6").availability.available
