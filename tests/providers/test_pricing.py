"""Cost estimates worked out by hand from the catalog's price rules."""

from __future__ import annotations

import pytest

from providers.catalog import load_catalog
from providers.pricing import estimate, recorded_cost


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_per_second_prices_are_exact(catalog):
    e = estimate(catalog.get("veo3.1"), 8, "1280x720")
    assert (e.low_usd, e.high_usd, e.exact) == (0.40, 0.40, True)
    assert e.display == "$0.40" and "0.05" in e.rule and "8 s" in e.rule
    assert "cometapi.com" in e.source and e.as_of
    assert estimate(catalog.get("sora-2"), 12, "1280x720").high_usd == pytest.approx(0.96)


def test_sora_pro_costs_more_at_the_large_sizes(catalog):
    pro = catalog.get("sora-2-pro")
    assert estimate(pro, 4, "1280x720").high_usd == pytest.approx(0.96)
    big = estimate(pro, 8, "1792x1024")
    assert big.high_usd == pytest.approx(0.24 * 8 * 1.666667, abs=1e-6)  # $3.20
    assert big.display == "$3.20" and "1792x1024" in big.rule


def test_kling_is_a_range_not_a_guess(catalog):
    e = estimate(catalog.get("kling-v1-6"), 5, None, "std")
    assert (e.low_usd, e.high_usd, e.exact) == (0.13, 2.64, False)
    assert e.display == "$0.13–$2.64" and "TUT" in e.source


def test_runway_prices(catalog):
    assert estimate(catalog.get("gen3a_turbo"), 5).high_usd == 0.32
    assert estimate(catalog.get("gen3a_turbo"), 10).high_usd == 0.32
    g4 = estimate(catalog.get("gen4_turbo"), 10, "1280:720")
    assert (g4.low_usd, g4.high_usd, g4.exact) == (0.5, 1.0, False)


def test_a_price_table_by_mode_and_duration():
    cat = load_catalog(overrides={"kling-v1-6": {"price": {
        "kind": "table", "source": "invoice", "as_of": "2026-11-01",
        "table": [{"mode": "std", "duration_s": 5, "usd": 0.2}, {"mode": "pro", "duration_s": 10, "usd": 0.9}]}}})
    spec = cat.get("kling-v1-6")
    hit = estimate(spec, 10, None, "pro")
    assert (hit.high_usd, hit.exact) == (0.9, True)
    miss = estimate(spec, 10, None, "std")
    assert (miss.low_usd, miss.high_usd, miss.exact) == (0.2, 0.9, False)


def test_recorded_cost_snaps_the_probed_length_to_what_was_billed(catalog):
    assert recorded_cost(catalog.get("sora-2"), 8.04, "1280x720") == pytest.approx(0.64)
    assert recorded_cost(catalog.get("veo3-fast"), 7.9, "16x9") == pytest.approx(0.40)
    assert recorded_cost(catalog.get("veo3.1"), 5.96, "1280x720") == pytest.approx(0.30)
    # Only a range is known: book the high end so a budget never under-counts.
    assert recorded_cost(catalog.get("kling-v2-1-master"), 5.1, None, "pro") == 2.64
