"""The catalog check against the sandbox's `/api/models`: a removed model switches off with its date, a listed
one we lack shows as not supported, a broken listing switches nothing off, and no key is sent."""

from __future__ import annotations

from pathlib import Path

import httpx

from jobs import catalog_watch
from providers.catalog import load_catalog

CATALOG = load_catalog()


def check(server, data_dir: Path, today: str) -> dict:
    return catalog_watch.record(data_dir, server.base_url,
                                catalog_watch.fetch(server.base_url, CATALOG, today=today))


def effective(saved: dict):
    return load_catalog(overrides=catalog_watch.with_delistings({}, saved, set(CATALOG.ids())))


def test_a_removed_model_switches_off_with_its_date_and_comes_back_when_listed(sandbox, tmp_path) -> None:
    saved = check(sandbox, tmp_path, "2026-12-01")
    assert saved["ok"] and saved["delisted"] == {}
    assert "omni-fast" in [x.id for x in catalog_watch.unsupported(saved)]
    assert saved["prices"]["doubao-seedance-2-0"] == "$0.08/s"

    sandbox.update_config(listing_removed=["gen3a_turbo"])
    saved = check(sandbox, tmp_path, "2026-12-02")
    off = effective(saved).get("gen3a_turbo").availability
    assert (off.available, off.reason, off.since) == (False, "no longer listed by CometAPI on 2026-12-02",
                                                      "2026-12-02")
    saved = check(sandbox, tmp_path, "2026-12-03")  # still missing: the first date it went missing stays
    assert saved["delisted"] == {"gen3a_turbo": "2026-12-02"}

    sandbox.update_config(listing_removed=[])
    saved = check(sandbox, tmp_path, "2026-12-04")
    assert saved["delisted"] == {} and effective(saved).get("gen3a_turbo").availability.available


def test_a_model_listed_under_its_alias_stays_on(sandbox, tmp_path) -> None:
    sandbox.update_config(listing_renamed={"veo3-fast": "veo_3_1-4K"})
    saved = check(sandbox, tmp_path, "2026-12-01")
    assert saved["ok"] and "veo3-fast" not in saved["delisted"]


def test_a_failed_empty_or_malformed_listing_switches_nothing_off(sandbox, tmp_path) -> None:
    sandbox.update_config(listing_removed=["kling-v1-6"])
    assert check(sandbox, tmp_path, "2026-12-01")["delisted"] == {"kling-v1-6": "2026-12-01"}
    sandbox.update_config(listing_removed=["kling-v1-6", "gen4_turbo", "veo3.1"])
    for mode in ("error", "empty", "malformed"):
        sandbox.update_config(listing_mode=mode)
        saved = check(sandbox, tmp_path, "2026-12-02")
        assert not saved["ok"] and saved["problem"], mode
        # Nothing more is switched off; what a good listing said before stands.
        assert saved["delisted"] == {"kling-v1-6": "2026-12-01"}, mode
    unreachable = catalog_watch.fetch("http://127.0.0.1:9", CATALOG, today="2026-12-02")
    assert not unreachable.ok and "could not be reached" in unreachable.problem


def test_the_listing_is_read_without_the_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [{"id": m.wire_model, "model_type": "video"}
                                                  for m in CATALOG.models()]})

    got = catalog_watch.fetch("https://api.cometapi.com", CATALOG, transport=httpx.MockTransport(answer),
                              today="2026-12-01")
    assert got.ok and seen[0].url.path == "/api/models" and "authorization" not in seen[0].headers


def test_the_watch_checks_at_start_and_applies_its_verdict(sandbox, tmp_path) -> None:
    sandbox.update_config(listing_removed=["gen4_turbo"])
    applied: list[dict] = []
    watch = catalog_watch.CatalogWatch(tmp_path, sandbox.base_url, lambda: CATALOG, applied.append).start()
    try:
        assert watch.checked.wait(10)
    finally:
        watch.stop()
    assert list(applied[0]["delisted"]) == ["gen4_turbo"]
    assert catalog_watch.load(tmp_path, sandbox.base_url)["delisted"] == applied[0]["delisted"]
    assert catalog_watch.load(tmp_path, "https://api.cometapi.com") == {}  # kept apart per base URL
