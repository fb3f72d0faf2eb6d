"""Settings shows CometAPI's listing check: a model it stopped listing is off (with the date, also on its Generate
card), a listed video model we lack is "listed, not supported yet", and catalog prices sit beside the rate card."""

from __future__ import annotations

import datetime as dt

from ui_helpers import open_page, rerun


def test_the_sandbox_listing_drives_settings_and_generate(empty_app, monkeypatch) -> None:
    monkeypatch.setenv("DAILIES_CATALOG_CHECK", "on")
    at = open_page("app_pages/settings.py")
    from components.runtime import get_runtime

    rt = get_runtime()
    assert rt.watch is not None and rt.watch.checked.wait(10)
    assert rt.sandbox is not None
    rt.sandbox.update_config(listing_removed=["gen3a_turbo"])
    rt.watch.check_now()
    rerun(at)
    today = dt.date.today().isoformat()
    warnings = [w.value for w in at.warning]
    assert any(f"Runway Gen-3 Alpha Turbo (`gen3a_turbo`): switched off, no longer listed by CometAPI on {today}"
               in w for w in warnings), warnings
    # In the sandbox the check names the sandbox's listing, not the simulator's loopback address.
    captions = [c.value for c in at.caption]
    assert any(f"Checked {today} against the sandbox's listing" in c for c in captions), captions
    assert not any("127.0.0.1" in c for c in captions if c.startswith("Checked"))
    frames = [f.value for f in at.dataframe]
    unsupported = next(f for f in frames if "provider" in f.columns)
    # Omni (beta) and the Kling/Veo ids the sandbox knows from the reference but the catalog has no card for.
    assert {"omni-fast", "kling-v2-6", "veo3"} <= set(unsupported["model"])
    assert "kling-v1-6" not in set(unsupported["model"])
    prices = next(f for f in frames if "rate card" in f.columns)
    seedance = prices[prices["model"] == "Seedance 2.0"].iloc[0]
    assert seedance["CometAPI catalog price"] == "$0.08/s" and seedance["rate card"] == "$0.08/s"

    at.switch_page("app_pages/generate.py").run()
    assert not at.exception
    card = at.toggle(key="use:gen3a_turbo")
    assert card.disabled and f"no longer listed by CometAPI on {today}" in (card.help or "")


def test_with_every_listed_model_supported_the_unsupported_line_says_none(empty_app, monkeypatch) -> None:
    monkeypatch.setenv("DAILIES_CATALOG_CHECK", "on")
    at = open_page("app_pages/settings.py")
    from components.runtime import get_runtime
    from jobs import catalog_watch

    rt = get_runtime()
    assert rt.watch is not None and rt.watch.checked.wait(10)
    extra = [x.id for x in catalog_watch.unsupported(rt.catalog_verdict)]
    assert extra  # the sandbox lists some models Dailies has no card for
    rt.sandbox.update_config(listing_removed=extra)
    rt.watch.check_now()
    rerun(at)
    lines = [m.value for m in at.markdown if m.value.startswith("**Listed, not supported yet**")]
    assert lines and lines[0].endswith("has no adapter for: none."), lines
