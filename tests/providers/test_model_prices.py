"""Refreshing prices from CometAPI's public catalogue (GET /api/models), through httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest

from providers.catalog import load_catalog
from providers.errors import DailiesError
from providers.model_prices import fetch_prices, merge_overrides

CATALOG = load_catalog()
BODY = {"data": [
    {"id": "veo3.1-fast", "pricing": {"currency": "USD", "per_second": "0.06", "per_request": None}},
    {"id": "gen3a_turbo", "pricing": {"currency": "USD", "per_request": 0.3}},
    {"id": "kling-v1-6", "pricing": {"currency": "CNY", "per_request": 2}},
    {"id": "sora-2-pro", "pricing": {"per_second": 0.3}},
    {"id": "gpt-4o", "pricing": {"input": 2.5}},
]}


def _transport(status: int = 200, body: object = BODY, seen: list | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


def test_usd_prices_become_overrides_with_their_source_and_date() -> None:
    seen: list[httpx.Request] = []
    refresh = fetch_prices("https://api.cometapi.com/", CATALOG, transport=_transport(seen=seen), today="2026-11-24")
    assert str(seen[0].url) == "https://api.cometapi.com/api/models" and "authorization" not in seen[0].headers
    veo = refresh.overrides["veo3.1-fast"]["price"]
    assert veo == {"kind": "per_second", "usd_per_second": 0.06, "as_of": "2026-11-24",
                   "source": "https://api.cometapi.com/api/models (pricing of veo3.1-fast)"}
    assert refresh.overrides["gen3a_turbo"]["price"]["usd"] == 0.3
    assert refresh.overrides["sora-2-pro"]["price"]["size_multipliers"] == {"1792x1024": 1.666667,
                                                                            "1024x1792": 1.666667}
    assert refresh.skipped["kling-v1-6"] == "priced in CNY, not USD"
    assert refresh.skipped["veo3.1"] == "not in the catalogue"
    updated = load_catalog(overrides=refresh.overrides)
    assert updated.get("veo3.1-fast").price.usd_per_second == 0.06


def test_a_price_typed_in_settings_wins() -> None:
    refresh = fetch_prices("https://api.cometapi.com", CATALOG, transport=_transport())
    mine = {"veo3.1-fast": {"price": {"kind": "per_second", "usd_per_second": 0.04, "source": "override in Settings",
                                      "as_of": "today"}, "available": True}}
    merged = merge_overrides(mine, refresh)
    assert merged["veo3.1-fast"]["price"]["usd_per_second"] == 0.04 and merged["veo3.1-fast"]["available"]
    assert merged["gen3a_turbo"]["price"]["usd"] == 0.3


@pytest.mark.parametrize(("status", "body", "match"), [(503, {}, "HTTP 503"), (200, {"x": 1}, "neither a list")])
def test_bad_answers_are_clear_errors(status: int, body: object, match: str) -> None:
    with pytest.raises(DailiesError, match=match):
        fetch_prices("https://api.cometapi.com", CATALOG, transport=_transport(status, body))
