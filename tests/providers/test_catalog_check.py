"""CometAPI's listing read against the catalog: what is missing, what is new, what it charges; a broken
listing switches nothing off."""

from __future__ import annotations

from typing import Any

import pytest

from providers.catalog import load_catalog
from providers.catalog_check import parse_listing

CATALOG = load_catalog()
TODAY = "2026-12-03"


def rec(model_id: str, *, model_type: str = "video", per_second: Any = None, features: Any = None) -> dict[str, Any]:
    return {"id": model_id, "provider": "x", "model_type": model_type, "features": features or [],
            "pricing": {"currency": "USD", "input": None, "output": None, "per_request": None,
                        "per_second": per_second}, "api_doc_url": "https://apidoc.cometapi.com/x"}


def everything(**changes: Any) -> list[dict[str, Any]]:
    return [rec(m.wire_model, **changes.get(m.id, {})) for m in CATALOG.models()]


def test_a_model_no_longer_listed_is_missing_and_a_new_video_model_is_unsupported() -> None:
    body = {"data": [r for r in everything() if r["id"] != "gen3a_turbo"] + [rec("omni-fast"),
                                                                                rec("a-chat-model", model_type="chat")]}
    got = parse_listing(body, CATALOG, source="s", today=TODAY)
    assert got.ok and got.missing == ("gen3a_turbo",)
    assert [x.id for x in got.unsupported] == ["omni-fast"]  # video only; a chat model is not our business


def test_aliases_match_and_prices_are_read_as_catalog_prices() -> None:
    body = [r if r["id"] != "veo3-fast" else rec("veo_3_1-4K") for r in everything(
        **{"doubao-seedance-2-0": {"per_second": 0.08}, "grok-imagine-video": {"per_second": "0.05"}})]
    got = parse_listing(body, CATALOG, source="s", today=TODAY)
    assert got.ok and got.missing == ()  # veo3-fast is listed under its resolved id
    assert got.prices == {"doubao-seedance-2-0": "$0.08/s", "grok-imagine-video": "$0.05/s"}


@pytest.mark.parametrize("body, problem", [
    ({"data": []}, "no model records"), ([], "no model records"), ({"oops": 1}, "neither a list"),
    ("<html>", "neither a list"), ([{"id": "omni-fast", "model_type": "video"}], "names none of the catalog"),
    ([1, None, {"name": "no id"}], "no model records"),
])
def test_an_empty_or_malformed_listing_switches_nothing_off(body: Any, problem: str) -> None:
    got = parse_listing(body, CATALOG, source="s", today=TODAY)
    assert not got.ok and problem in got.problem and got.missing == ()
