"""The Generate page as a user meets it: cards, validation next to each field, budget, submit to clip."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from playground_helpers import run_until
from streamlit.testing.v1 import AppTest

from jobs.ledger import Ledger


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def generate_button(at: AppTest):
    return at.button(key="generate")


def test_page_renders_in_sandbox_mode_with_unavailable_models_visible_but_disabled(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert any("local simulator" in t for t in texts(app.sidebar.caption))
    sora = app.toggle(key="use:sora-2")
    assert sora.disabled and not sora.value
    assert "shuts down upstream" in (sora.help or "")
    assert app.toggle(key="use:veo3.1-fast").value and app.toggle(key="use:kling-v1-6").value
    assert generate_button(app).disabled  # no prompt yet
    assert any("Write a prompt first" in t for t in texts(app.warning))


def test_validation_messages_name_the_field_and_allowed_values(app: AppTest) -> None:
    app.run()
    app.text_area(key="prompt").set_value("A fox runs through snow")
    app.number_input(key="duration").set_value(7)
    app.run()
    errors = texts(app.error)
    assert any("duration 7 s" in e and "5 or 10" in e for e in errors), errors
    assert generate_button(app).disabled
    app.text_area(key="prompt").set_value("x" * 501)
    app.number_input(key="duration").set_value(5)
    app.run()
    assert any("prompt" in e and "500" in e for e in texts(app.error))
    assert generate_button(app).disabled


def test_text_only_recipe_with_runway_is_refused_until_runway_is_deselected(app: AppTest) -> None:
    app.run()
    app.text_area(key="prompt").set_value("Waves roll onto a beach at dusk")
    app.toggle(key="use:gen4_turbo").set_value(True)
    app.run()
    assert any("first_frame" in e for e in texts(app.error))
    assert generate_button(app).disabled
    assert any("Runway Gen-4 Turbo" in w for w in texts(app.warning))
    app.toggle(key="use:gen4_turbo").set_value(False)
    app.run()
    assert not generate_button(app).disabled


def test_live_run_over_budget_is_refused_with_the_reason(app: AppTest, app_env, monkeypatch) -> None:
    app_env.mkdir(parents=True, exist_ok=True)
    (app_env / "prefs.json").write_text(json.dumps({"budget_usd": 0.2, "budget_period": "month"}))
    monkeypatch.setenv("COMETAPI_KEY", "sk-live-test-key-123456")
    monkeypatch.setenv("COMETAPI_BASE_URL", "https://api.cometapi.com")
    app.run()
    assert any("Live" in str(m.value) for m in app.sidebar.markdown)
    app.text_area(key="prompt").set_value("A lighthouse in a storm")
    app.run()
    assert generate_button(app).disabled
    refusal = [w for w in texts(app.warning) if "budget" in w]
    assert refusal and "$0.20" in refusal[0], texts(app.warning)
    # The key never reaches the page.
    page_text = " ".join(texts(app.markdown) + texts(app.caption) + texts(app.sidebar.markdown))
    assert "sk-live-test-key-123456" not in page_text


def test_submit_shows_running_jobs_then_two_playing_clips_and_a_double_click_submits_once(
        app: AppTest, app_env) -> None:
    app.run()
    app.text_area(key="prompt").set_value("A paper airplane glides across a desk")
    app.run()
    generate_button(app).click()
    app.run()
    generate_button(app).click()  # a double click on the same form
    app.run()
    assert not app.exception
    ledger = Ledger(app_env / "ledger.sqlite3")
    assert ledger.count_jobs() == 2, "two models, one take each: the second click must not submit again"
    run_until(app, lambda at: len(at.get("video")) == 2, timeout=60)
    urls = [v.proto.url for v in app.get("video")]
    assert all(u.startswith("/app/static/clips/test-") and u.endswith(".mp4") for u in urls), urls
    assert len(set(urls)) == 2
    assert {j.state.value for j in ledger.list_jobs()} == {"downloaded"}
    ledger.close()


def test_rejected_key_gives_one_clear_message_and_a_link_to_settings(app: AppTest, sandbox, monkeypatch) -> None:
    wrong = "sk-wrong-key-0000000000"
    monkeypatch.setenv("COMETAPI_KEY", wrong)
    monkeypatch.setenv("COMETAPI_BASE_URL", sandbox.base_url)
    app.run()
    app.text_area(key="prompt").set_value("A kite over a beach")
    app.toggle(key="use:veo3.1-fast").set_value(False)
    app.run()
    generate_button(app).click()
    app.run()
    run_until(app, lambda at: any("API key rejected" in e for e in texts(at.error)), timeout=30)
    assert not app.exception
    assert any(link.label.startswith("Open Settings") for link in app.get("page_link"))
    shown = " ".join(texts(app.error) + texts(app.markdown) + texts(app.caption))
    assert wrong not in shown


def test_out_of_range_duration_and_takes_are_refused_next_to_the_field_not_silently_kept(app: AppTest) -> None:
    app.run()
    app.text_area(key="prompt").set_value("A fox runs through snow")
    app.number_input(key="duration").set_value(999)
    app.number_input(key="takes").set_value(50)
    app.run()
    errors = texts(app.error)
    assert "Duration: 999 s is out of range (allowed: 1 s to 15 s)." in errors
    assert "Takes per model: 50 is out of range (allowed: 1 to 4)." in errors
    assert generate_button(app).disabled
    # Nothing of the bad values is used: no card prices 50 takes or a 999 s clip.
    assert not any("× 50 take" in m for m in texts(app.markdown))
    app.number_input(key="duration").set_value(5)
    app.number_input(key="takes").set_value(2)
    app.run()
    assert not any("out of range" in e for e in texts(app.error))
    assert not generate_button(app).disabled
    assert any("× 2 takes" in m for m in texts(app.markdown))


def test_save_to_library_keeps_the_recipe_and_its_models_and_refuses_none(app: AppTest, app_env) -> None:
    from library.prompts import PromptLibrary

    app.run()
    app.text_area(key="prompt").set_value("A fox runs through snow")
    app.toggle(key="use:veo3.1-fast").set_value(False)
    app.toggle(key="use:kling-v1-6").set_value(False)
    app.run()
    app.text_input(key="gen_lib_name").set_value("Snow fox")
    app.button(key="gen_lib_save").click()
    app.run()
    assert any("models: pick at least one model" in e for e in texts(app.error))
    app.toggle(key="use:kling-v1-6").set_value(True)
    app.run()
    app.selectbox(key="kling-v1-6:mode").set_value("pro")
    app.run()
    app.button(key="gen_lib_save").click()
    app.run()
    assert any("Saved “Snow fox” with 1 model(s)" in s for s in texts(app.success))
    assert app.text_input(key="gen_lib_name").value == ""
    library = PromptLibrary.in_data_dir(app_env)
    (saved,) = library.list()
    assert saved.recipe.prompt == "A fox runs through snow"
    assert [(v.model_id, v.options.get("mode")) for v in saved.variants] == [("kling-v1-6", "pro")]
    library.close()


def test_two_runs_are_shown_apart_newest_on_top_each_linking_to_its_board(app: AppTest, app_env) -> None:
    app.run()
    app.toggle(key="use:veo3.1-fast").set_value(False)
    app.text_area(key="prompt").set_value("First run: a kite at dawn")
    app.run()
    generate_button(app).click()
    app.run()
    run_until(app, lambda at: len(at.get("video")) == 1, timeout=60)
    app.text_area(key="prompt").set_value("Second run: a heron on a pond")
    app.run()
    generate_button(app).click()
    app.run()
    run_until(app, lambda at: len(at.get("video")) == 2, timeout=60)
    heads = [m for m in texts(app.markdown) if m.startswith(("**Latest run:**", "**Run of "))]
    assert heads[0] == "**Latest run:** Second run: a heron on a pond", heads
    assert heads[1].endswith("First run: a kite at dawn") and len(heads) == 2, heads
    ledger = Ledger(app_env / "ledger.sqlite3")
    run_ids = {j.recipe["prompt"]: j.run_id for j in ledger.list_jobs()}
    ledger.close()
    links = [link for link in app.get("page_link") if link.label == "Open its board"]
    assert len(links) == 2
    assert [parse_qs(link.proto.query_string)["run"] for link in links] == [
        [run_ids["Second run: a heron on a pond"]], [run_ids["First run: a kite at dawn"]]]
    summaries = [c for c in texts(app.caption) if "Kling v1.6 · 1 take (1 ready)" in c]
    assert len(summaries) == 2 and all("simulated" in c for c in summaries), texts(app.caption)


def test_approximation_is_on_the_card_and_view_code_points_at_the_live_api(app: AppTest) -> None:
    app.run()
    app.text_area(key="prompt").set_value("A fox runs through snow")
    app.text_input(key="negative_prompt").set_value("blur")
    app.number_input(key="duration").set_value(5)
    app.run()
    notes = [m for m in texts(app.markdown) if ":material/rule:" in m]
    assert any("5 s → 6 s" in m and "negative prompt dropped" in m for m in notes), notes  # Veo 3.1 Fast
    app.button(key="code:veo3.1-fast").click()
    app.run()
    code = [c.value for c in app.code]
    assert code and all("DEFAULT_BASE_URL = 'https://api.cometapi.com'" in c or
                        'const DEFAULT_BASE_URL = "https://api.cometapi.com"' in c for c in code), code[0][:300]
    assert not any("127.0.0.1" in c for c in code)
    assert any("COMETAPI_BASE_URL=http://127.0.0.1:" in m for m in texts(app.markdown))  # how to use the sandbox
    app.button(key="receive:veo3.1-fast").click()
    app.run()
    table = app.dataframe[0].value
    assert list(table.columns) == ["Field", "What happens", "You asked", "Sent", "Why"]
    assert "5 s -> 6 s" in " ".join(table["Why"])


def test_a_private_or_plain_http_image_url_is_refused_next_to_the_field_and_nothing_is_sent(
        app: AppTest, app_env) -> None:
    app.run()
    app.text_area(key="prompt").set_value("The kite rises")
    app.text_input(key="first_frame_url").set_value("https://10.0.0.7/kite.png")
    app.run()
    errors = texts(app.error)
    assert any("first_frame: host 10.0.0.7 points to a private or local address" in e for e in errors), errors
    assert generate_button(app).disabled
    app.text_input(key="first_frame_url").set_value("http://cdn.example/kite.png")
    app.run()
    assert any("first_frame: http scheme is not allowed" in e for e in texts(app.error))
    assert generate_button(app).disabled
    ledger = Ledger(app_env / "ledger.sqlite3")
    assert ledger.count_jobs() == 0
    ledger.close()


def _total(app: AppTest) -> str:
    return next(m for m in texts(app.markdown) if m.startswith("**Total:"))


def test_the_total_names_what_it_leaves_out_and_never_prices_a_bad_field(app: AppTest) -> None:
    app.run()
    app.text_area(key="prompt").set_value("A kite over a cliff")
    for model_id in ("veo3.1", "doubao-seedance-2-0", "grok-imagine-video"):
        app.toggle(key=f"use:{model_id}").set_value(True)
    app.number_input(key="duration").set_value(6)
    app.run()
    total = _total(app)
    # Kling is invalid at 6 s and Grok has no price: neither is silently summed as counted.
    assert "for 3 priced models × 1 take" in total, total
    assert "not counted: Grok Imagine Video (no price), Kling v1.6 (fix duration)" in total, total

    app.number_input(key="duration").set_value(-3)
    app.run()
    total = _total(app)
    assert total.startswith("**Total: —**") and "fix the fields" in total, total
    assert "$" not in total.split("Sandbox")[0], total
