"""The rate card: a price typed in Settings replaces the shipped range in Generate's estimate and budget check.

Worked by hand from providers/catalog.json: Veo 3.1 Fast $0.05/s at its default 4 s = $0.20; Kling v1.6 std
5 s is the range $0.13–$2.64 per clip. Default models: those two. So the total is $0.33–$2.84 before a price,
$0.50 after typing $0.30 for Kling std 5 s.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from providers.catalog import load_catalog
from providers.rate_card import YOURS_SOURCE, overrides_from, rate_rows

SECRET = "sk-rate-card-test-key-4321"


def _text(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "warning") for e in getattr(at, kind))


def _go_live_with_budget(app: AppTest, usd: float) -> None:
    app.switch_page("app_pages/settings.py").run()
    app.text_input(key="key_input").set_value(SECRET)
    app.button[0].click()  # the key form's submit
    app.run()
    next(n for n in app.number_input if n.label == "Budget (USD)").set_value(usd)
    next(b for b in app.button if b.label == "Save").click()
    app.run()
    assert not app.exception


def _type_yours(app: AppTest, model: str, mode: str | None, length: str, usd: float) -> None:
    """Edit one cell of the rate card the way the browser does: the editor's edit state, then a rerun."""
    app.switch_page("app_pages/settings.py").run()
    (editor,) = app.data_editor
    table = editor.value
    row = table.index[(table["Model"] == model) & (table["Mode"] == (mode or "any")) & (table["Length"] == length)]
    app.session_state[editor.key] = {"edited_rows": {int(row[0]): {"Yours (USD)": usd}}, "added_rows": [],
                                     "deleted_rows": []}
    app.run()
    assert not app.exception, [e.value for e in app.exception]


def test_a_user_price_replaces_the_range_in_the_estimate_and_the_budget(app: AppTest, app_env) -> None:
    _go_live_with_budget(app, 1.0)
    app.switch_page("app_pages/generate.py").run()
    # Before any prompt the total already counts the two switched-on models.
    assert "Total: $0.33–$2.84** for 2 priced models" in _text(app)
    next(t for t in app.text_area if t.label == "Prompt").set_value("A paper airplane glides across a desk")
    app.run()
    assert "could cost up to $2.84, more than the $1.00 left" in _text(app)
    assert app.button(key="generate").disabled
    assert "set your price in **Settings → Rate card**" in _text(app)  # the Kling card's advice

    _type_yours(app, "Kling v1.6", "std", "5 s", 0.30)
    saved = json.loads((app_env / "prefs.json").read_text())["model_overrides"]["kling-v1-6"]["price"]
    assert saved["source"] == YOURS_SOURCE and saved["table"] == [{"mode": "std", "duration_s": 5, "usd": 0.3}]
    (editor,) = app.data_editor
    kling = editor.value.set_index(["Model", "Mode", "Length"]).loc[("Kling v1.6", "std", "5 s")]
    assert kling["Yours (USD)"] == 0.30 and kling["In estimates now"] == "$0.30 for 5 s"

    app.switch_page("app_pages/generate.py").run()
    next(t for t in app.text_area if t.label == "Prompt").set_value("A paper airplane glides across a desk")
    app.run()  # typed again: the recipe's survival across pages is tested on its own
    text = _text(app)
    assert "Total: $0.50** for 2 priced models" in text
    assert "more than the" not in text and not app.button(key="generate").disabled


def test_an_unpriced_model_becomes_priceable_and_clearing_a_price_restores_the_shipped_one(app_env) -> None:
    shipped = load_catalog()
    unpriced = next(m for m in shipped.models() if not m.price.known)
    rows = [r for r in rate_rows(shipped, shipped) if r.model_id == unpriced.id]
    assert [(r.shipped, r.unit, r.yours) for r in rows] == [("no price", "per second", None)]
    overrides = overrides_from(shipped, {"sora-2": {"available": True}}, {rows[0].key: 0.07})
    priced = load_catalog(overrides=overrides).get(unpriced.id)
    assert priced.price.known and priced.price.usd_per_second == 0.07
    (row,) = [r for r in rate_rows(shipped, load_catalog(overrides=overrides)) if r.model_id == unpriced.id]
    assert row.yours == 0.07 and row.in_use.startswith("$")
    # Clearing the cell: back to the shipped rule; the other model's switch is kept.
    assert overrides_from(shipped, overrides, {rows[0].key: None}) == {"sora-2": {"available": True}}


def test_sources_read_as_links_with_dates_or_unverified() -> None:
    shipped = load_catalog()
    rows = {r.model_id: r for r in rate_rows(shipped, shipped)}
    assert rows["veo3.1-fast"].source_url.startswith("https://www.cometapi.com/")
    assert rows["gen3a_turbo"].source_url is None  # an internal note ("TUT ..."), not a link: unverified
    assert all(r.listing == "—" for r in rows.values())  # no live catalog check has run
    # Once it has, CometAPI's listed price shows beside the shipped one (it never replaces it).
    listed = {r.model_id: r for r in rate_rows(shipped, shipped, {"sora-2": "$0.10/s"})}
    assert listed["sora-2"].listing == "$0.10/s" and listed["sora-2"].in_use == "$0.32 for 4 s"


def test_a_model_with_no_price_by_mode_and_length_needs_every_cell() -> None:
    shipped = load_catalog()
    spec = next((m for m in shipped.models() if not m.price.known and m.params.mode is not None), None)
    assert spec is not None, "the catalog has an unpriced model priced per mode (Kling Omni)"
    keys = [r.key for r in rate_rows(shipped, shipped) if r.model_id == spec.id]
    # One cell alone would leave the others at $0 past the budget: refused, naming what is missing.
    with pytest.raises(ValueError, match="give every mode and length"):
        overrides_from(shipped, {}, {keys[0]: 0.5})
    full = load_catalog(overrides=overrides_from(shipped, {}, {k: 0.5 + i for i, k in enumerate(keys)}))
    assert full.get(spec.id).price.known


def test_a_card_of_a_model_with_no_price_points_to_the_rate_card_without_calling_it_a_range():
    from components.rate_card import price_caption
    from providers.mapping import prepare
    from providers.recipe import ModelOptions, Recipe

    grok = prepare(Recipe(prompt="a kite"), "grok-imagine-video", ModelOptions(), load_catalog()).cost
    kling = prepare(Recipe(prompt="a kite", duration_s=5), "kling-v1-6", ModelOptions(), load_catalog()).cost
    assert "range" not in price_caption(grok) and "Settings → Rate card" in price_caption(grok)
    assert "a range: set your price" in price_caption(kling)
