"""Generate with the models added from reference §8: their cards, the no-price gate, sandbox takes (AppTest)."""

from __future__ import annotations

from playground_helpers import run_until
from streamlit.testing.v1 import AppTest

from jobs.ledger import Ledger


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def generate_button(at: AppTest):
    return at.button(key="generate")


def test_new_models_have_cards_with_their_own_parameters_and_a_model_without_a_price_is_refused_live(
        app: AppTest, monkeypatch) -> None:
    app.run()
    for model_id in ("doubao-seedance-2-0", "doubao-seedance-2-0-fast", "doubao-seedance-1-5-pro",
                     "doubao-seedance-1-0-pro", "grok-imagine-video", "grok-imagine-video-1.5"):
        assert not app.toggle(key=f"use:{model_id}").disabled
    app.toggle(key="use:doubao-seedance-1-5-pro").set_value(True)
    app.toggle(key="use:grok-imagine-video").set_value(True)
    app.run()
    assert app.selectbox(key="doubao-seedance-1-5-pro:resolution").options == ["provider default", "480p", "720p",
                                                                              "1080p"]
    assert app.selectbox(key="grok-imagine-video:resolution").options == ["provider default", "480p", "720p"]
    assert not [w for w in app.selectbox if w.key and w.key.startswith("grok-imagine-video:mode")]
    assert any("No known price" in t for t in texts(app.caption))
    assert any("Lite 720p price" in t for t in texts(app.caption))  # Veo's tier question, on its cards

    monkeypatch.setenv("COMETAPI_KEY", "sk-live-test-key-123456")
    monkeypatch.setenv("COMETAPI_BASE_URL", "https://api.cometapi.com")
    live = AppTest.from_file(str(app._script_path), default_timeout=30)
    live.run()
    live.text_area(key="prompt").set_value("A comet over a frozen lake")
    live.toggle(key="use:grok-imagine-video").set_value(True)
    live.toggle(key="use:doubao-seedance-1-5-pro").set_value(False)  # a new session continues the latest draft
    live.run()
    assert generate_button(live).disabled
    assert any(w.startswith("No known price for") and "Grok Imagine Video" in w
               for w in texts(live.warning)), texts(live.warning)
    live.toggle(key="use:grok-imagine-video").set_value(False)
    live.toggle(key="use:doubao-seedance-1-5-pro").set_value(False)  # the draft may keep the first app's toggle
    live.run()
    assert not any("No known price" in w for w in texts(live.warning))


def test_a_seedance_a_grok_and_a_kling_omni_take_land_as_playing_clips_in_the_sandbox(app: AppTest, app_env) -> None:
    app.run()
    app.text_area(key="prompt").set_value("A lantern drifting down a river")
    app.number_input(key="duration").set_value(5)
    for model_id in ("veo3.1-fast", "kling-v1-6"):
        app.toggle(key=f"use:{model_id}").set_value(False)
    for model_id in ("doubao-seedance-1-0-pro", "grok-imagine-video", "kling-video-o1"):
        app.toggle(key=f"use:{model_id}").set_value(True)
    app.run()
    generate_button(app).click()
    app.run()
    assert not app.exception
    run_until(app, lambda at: len(at.get("video")) == 3, timeout=60)
    ledger = Ledger(app_env / "ledger.sqlite3")
    jobs = ledger.list_jobs()
    assert {j.model_id for j in jobs} == {"doubao-seedance-1-0-pro", "grok-imagine-video", "kling-video-o1"}
    assert {j.state.value for j in jobs} == {"downloaded"}
    assert all(j.clip_meta["honoured"]["duration"] for j in jobs)
    ledger.close()


def test_a_price_in_settings_lifts_the_live_gate(app: AppTest, app_env, monkeypatch) -> None:
    import json

    monkeypatch.setenv("COMETAPI_KEY", "sk-live-test-key-123456")
    monkeypatch.setenv("COMETAPI_BASE_URL", "https://api.cometapi.com")
    app.run()
    app.switch_page("app_pages/settings.py").run()
    (editor,) = app.data_editor  # the rate card: type $0.05 in Grok's "Yours" cell
    row = int(editor.value.index[editor.value["Model"] == "Grok Imagine Video"][0])
    app.session_state[editor.key] = {"edited_rows": {row: {"Yours (USD)": 0.05}}, "added_rows": [],
                                     "deleted_rows": []}
    app.run()
    assert not app.exception
    saved = json.loads((app_env / "prefs.json").read_text())["model_overrides"]["grok-imagine-video"]["price"]
    assert (saved["kind"], saved["usd_per_second"], saved["source"]) == ("per_second", 0.05, "override in Settings")
    app.switch_page("app_pages/generate.py").run()
    app.text_area(key="prompt").set_value("A comet over a frozen lake")
    for model_id in ("veo3.1-fast", "kling-v1-6"):
        app.toggle(key=f"use:{model_id}").set_value(False)
    app.toggle(key="use:grok-imagine-video").set_value(True)
    app.run()
    assert not any("No known price" in w for w in texts(app.warning)), texts(app.warning)
    assert any("$0.40" in m for m in texts(app.markdown))  # 8 s at the rate card's $0.05/s
