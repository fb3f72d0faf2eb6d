"""The Library page: save a recipe with a Kling variant through the form, then start a run in one click."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from library.prompts import PromptLibrary
from tests.review.review_helpers import ROOT

PAGE = str(ROOT / "app_pages" / "prompt_library.py")


def test_save_then_start_a_run_from_the_library(app_env) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    assert "No saved recipes yet" in at.info[0].value

    at.text_input(key="lib_name").set_value("Kite at dawn")
    at.text_input(key="lib_tags").set_value("outdoor, Motion")
    at.text_area(key="lib_prompt").set_value("A red kite over a beach at dawn")
    at.button(key="lib_save").click()  # no models yet: refused, with the reason, and nothing is cleared
    at.run()
    assert any("models: pick at least one model" in e.value for e in at.error)
    assert at.text_input(key="lib_name").value == "Kite at dawn"
    at.multiselect(key="lib_models").set_value(["veo3.1-fast", "kling-v1-6"])
    at.run()
    at.text_area(key="lib_v_prompt:kling-v1-6").set_value("The kite loops twice, camera still")
    at.text_input(key="lib_v_neg:kling-v1-6").set_value("birds")
    at.button(key="lib_save").click()
    at.run()
    assert not at.exception
    assert "Saved “Kite at dawn”" in at.success[0].value
    # The form is reset: the next entry starts blank (old tags were kept before).
    assert at.text_input(key="lib_name").value == "" and at.text_input(key="lib_tags").value == ""
    assert at.text_area(key="lib_prompt").value == "" and at.multiselect(key="lib_models").value == []

    library = PromptLibrary.in_data_dir(app_env.data_dir)
    (saved,) = library.list()
    assert saved.tags == ("motion", "outdoor")
    assert saved.recipe_for("kling-v1-6").negative_prompt == "birds"
    assert saved.recipe_for("veo3.1-fast").prompt == "A red kite over a beach at dawn"

    at.button(key=f"lib_run:{saved.id}").click()
    at.run()
    assert not at.exception, at.exception
    assert "Started 2 take(s)" in at.success[0].value
    (run_id,) = library.runs(saved.id)
    jobs = app_env.ledger.list_jobs(run_id=run_id)
    assert sorted(j.model_id for j in jobs) == ["kling-v1-6", "veo3.1-fast"]
    assert {j.backend for j in jobs} == {"sandbox"}
    kling = next(j for j in jobs if j.model_id == "kling-v1-6")
    assert kling.recipe["prompt"] == "The kite loops twice, camera still"
    library.close()
