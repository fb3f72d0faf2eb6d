"""Costs page: the calculator and the ledger's spend, checked against figures worked out by hand from the catalog.

Catalog prices used (providers/catalog.json): Veo 3.1 Fast $0.05/s (4, 6 or 8 s), Sora 2 $0.08/s (4, 8, 12 s),
Sora 2 Pro $0.24/s, Kling $0.13–$2.64 per task (range), Runway Gen-3 Turbo $0.32 per task (5 or 10 s),
Gen-4 Turbo $0.05–$0.10/s (range).
"""

from __future__ import annotations

import json

import pytest
from ui_helpers import open_page, rerun


def _calc(at):
    return at.dataframe[0].value.set_index("model_id")


def test_calculator_prices_every_model_and_projects_a_month(seeded) -> None:
    at = open_page("app_pages/costs.py")  # defaults: 10 clips × 8 s, 16:9, std, 20 videos a day
    calc = _calc(at)
    assert set(calc.index) >= {"veo3-fast", "veo3.1-fast", "veo3.1", "sora-2", "sora-2-pro", "kling-v1-6",
                               "kling-v2-1-master", "gen3a_turbo", "gen4_turbo"}
    veo = calc.loc["veo3.1-fast"]
    assert veo.per_clip_high == pytest.approx(0.40) and veo.total_high == pytest.approx(4.00)
    assert veo.monthly_high == pytest.approx(0.40 * 20 * 30)  # $240.00
    assert calc.loc["sora-2"].total_high == pytest.approx(6.40)
    assert calc.loc["sora-2-pro"].total_high == pytest.approx(19.20)
    kling = calc.loc["kling-v1-6"]
    assert (kling.total_low, kling.total_high, bool(kling.exact)) == (pytest.approx(1.30), pytest.approx(26.40), False)
    runway = calc.loc["gen3a_turbo"]  # 8 s is not offered: billed as 10 s, $0.32 per task either way
    assert runway.billed_s == 10 and runway.total_high == pytest.approx(3.20)
    gen4 = calc.loc["gen4_turbo"]
    assert (gen4.total_low, gen4.total_high) == (pytest.approx(5.00), pytest.approx(10.00))
    # A source is a link with its date, or "unverified"; internal source notes ("TUT ...") never show.
    assert runway.as_of == "unverified" and not isinstance(runway.source, str)
    assert veo.source.startswith("https://www.cometapi.com/") and veo.as_of == "2026-11-24"
    assert (veo.per_clip, kling.per_clip, kling.price) == ("$0.40", "$0.13–$2.64", "range (unconfirmed)")
    assert calc.loc["grok-imagine-video"].price == "no price"  # not a range: nothing is known
    # What the table shows: human column names over formatted money, no raw fields.
    proto = at.dataframe[0].proto
    labels = [json.loads(proto.columns)[c].get("label", c) for c in proto.column_order]
    assert labels[:3] == ["Model", "Available", "Billed as"] and "Per clip" in labels
    assert (veo.billed_as, kling.billed_as) == ("8 s · 1280x720", "10 s · 16:9 · std")
    # Unpriced models are not drawn at $0.00 (read as free): left out of the chart and named below it.
    chart = at.get("vega_lite_chart")[0]  # the calculator's (the spend chart comes later)
    drawn = b"".join(d.data.data for d in chart.proto.datasets)  # Arrow: names are stored as plain UTF-8
    assert b"Veo 3.1 Fast" in drawn and b"Grok Imagine Video" not in drawn
    assert any(c.value.startswith("Not in the chart, no price: ") and "Grok Imagine Video" in c.value
               for c in at.caption)
    assert not any("_" in label for label in labels), labels


def test_calculator_follows_its_inputs(seeded) -> None:
    at = open_page("app_pages/costs.py")
    at.number_input(key="calc_clips").set_value(3)
    at.number_input(key="calc_duration").set_value(5)
    at.number_input(key="calc_per_day").set_value(100)
    rerun(at)
    calc = _calc(at)
    veo = calc.loc["veo3.1-fast"]  # 5 s rounds to 6 s (ties go to the longer clip): 3 × $0.30
    assert veo.billed_s == 6 and veo.total_high == pytest.approx(0.90) and veo.monthly_high == pytest.approx(900.0)
    assert calc.loc["gen3a_turbo"].total_high == pytest.approx(0.96)


def test_sandbox_spend_estimated_vs_recorded_per_kept_clip_and_failures(seeded) -> None:
    at = open_page("app_pages/costs.py")
    metrics = {m.label: m.value for m in at.get("metric")}
    # Delivered: Veo 4 s ($0.20) twice, Veo 8 s ($0.40 estimated), Kling ($2.64 high end), Runway ($0.32).
    assert metrics["Estimated (delivered takes)"] == "$3.76"
    # The settings-ignored Veo take came back 5 s long: billed as 6 s, $0.30 instead of $0.40.
    assert metrics["Recorded (price rule on delivered clips)"] == "$3.66"
    # One kept clip (the board's Veo take); no failure was charged for sure.
    assert metrics["Cost per kept clip"] == "$3.66"
    # Content-policy failure, submit_unknown and expired: none known to be charged or free.
    assert metrics["Failed: charged / not / unknown"] == "0 / 0 / 3"
    spend = at.dataframe[1].value.set_index("model")
    assert spend.loc["veo3.1-fast"].recorded_usd == pytest.approx(0.70)
    assert spend.loc["veo3.1-fast"].estimated_usd == pytest.approx(0.80)
    assert spend.loc["kling-v1-6"].discarded == 1
    # A model with no kept clip reads "—", never "None"; names, not ids, are shown.
    assert spend.loc["kling-v1-6"].per_kept == "—" and spend.loc["kling-v1-6"]["name"] == "Kling v1.6"
    # Kling has no exact price: what is counted is the top of its range, and the cell says so.
    assert spend.loc["kling-v1-6"].recorded == "$2.64 (top of the price range; no exact price)"
    assert spend.loc["veo3.1-fast"].recorded == "$0.70"


def test_live_spend_is_apart_and_refresh_is_offered_only_when_live(seeded) -> None:
    at = open_page("app_pages/costs.py")
    subheaders = [s.value for s in at.subheader]
    assert subheaders.index("Live spend") < subheaders.index("Sandbox (simulated, never counted)")
    assert "No takes yet." in [c.value for c in at.caption]  # nothing live in this ledger
    assert "refresh_prices" not in [b.key for b in at.button]
    assert any("available when the app is live" in c.value for c in at.caption)


def test_costs_page_on_an_empty_ledger(empty_app) -> None:
    at = open_page("app_pages/costs.py")
    assert not at.main.get("metric")  # the sidebar always has its own meters
    assert _calc(at).loc["veo3.1-fast"].total_high == pytest.approx(4.00)


def test_a_live_reservation_for_a_range_priced_take_says_it_is_the_top_of_the_range(empty_app) -> None:
    from jobs.ledger import Ledger
    from providers.recipe import Recipe

    empty_app.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(empty_app / "ledger.sqlite3")
    job = ledger.create_job(run_id="r1", model_id="kling-v1-6", family="kling", backend="live",
                            base_url="https://api.cometapi.com", key_fingerprint="fp",
                            recipe_json=Recipe(prompt="a kite", duration_s=5).to_json(),
                            est_low_usd=0.13, est_high_usd=2.64, state="running", task_id="t1")
    assert ledger.reserve(job.id, 2.64, limit_usd=None, period_start=None, backend="live", model_id="kling-v1-6")
    ledger.close()
    at = open_page("app_pages/costs.py")
    captions = [c.value for c in at.caption]
    assert any("Reserved against the budget by model: Kling v1.6 $2.64 (top of the price range; no exact price)"
               in c for c in captions), captions
