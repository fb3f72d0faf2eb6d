"""The Generate recipe is a draft: it survives a page switch, a new session (a reload) and a second tab."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from jobs.drafts import DraftStore

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _edit(at: AppTest) -> None:
    at.text_area(key="prompt").input("A heron lands on a misty pond")
    at.text_input(key="negative_prompt").input("blur")
    at.number_input(key="duration").set_value(5)
    at.selectbox(key="aspect_ratio").set_value("9:16")
    at.checkbox(key="seed_random").uncheck()
    at.run()
    at.number_input(key="seed").set_value(1234)
    at.number_input(key="takes").set_value(3)
    at.toggle(key="use:veo3.1-fast").set_value(False)
    at.toggle(key="use:kling-v2-1-master").set_value(True)
    at.run()
    at.selectbox(key="kling-v2-1-master:mode").set_value("std")
    at.run()


def _assert_recipe(at: AppTest) -> None:
    assert at.text_area(key="prompt").value == "A heron lands on a misty pond"
    assert at.text_input(key="negative_prompt").value == "blur"
    assert at.number_input(key="duration").value == 5
    assert at.selectbox(key="aspect_ratio").value == "9:16"
    assert at.checkbox(key="seed_random").value is False
    assert at.number_input(key="seed").value == 1234
    assert at.number_input(key="takes").value == 3
    assert at.toggle(key="use:veo3.1-fast").value is False
    assert at.toggle(key="use:kling-v2-1-master").value is True
    assert at.selectbox(key="kling-v2-1-master:mode").value == "std"


def test_recipe_survives_every_other_page_and_a_new_session(app: AppTest, app_env: Path) -> None:
    app.run()
    _edit(app)
    draft = app.query_params["draft"][0] if isinstance(app.query_params["draft"], list) else app.query_params["draft"]
    for page in ("compare", "costs", "history", "blind_review", "rankings", "prompt_library", "settings"):
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, page
        assert app.query_params["draft"] in (draft, [draft]), page  # put back on every page
    app.switch_page("app_pages/generate.py").run()
    _assert_recipe(app)

    reloaded = AppTest.from_file(APP, default_timeout=30)
    reloaded.query_params["draft"] = draft
    reloaded.run()
    _assert_recipe(reloaded)

    new_tab = AppTest.from_file(APP, default_timeout=30)  # no draft id in the URL: the latest draft
    new_tab.run()
    _assert_recipe(new_tab)


def test_two_tabs_editing_different_fields_keep_both(app: AppTest, app_env: Path) -> None:
    app.run()
    other = AppTest.from_file(APP, default_timeout=30)
    other.query_params["draft"] = str(app.query_params["draft"]).strip("[]'")
    other.run()
    app.text_area(key="prompt").input("Tab one's prompt")
    app.run()
    other.number_input(key="takes").set_value(2)  # this tab still shows an empty prompt: it must not write it
    other.run()
    other.switch_page("app_pages/costs.py").run()
    other.switch_page("app_pages/generate.py").run()
    assert other.text_area(key="prompt").value == "Tab one's prompt"
    reloaded = AppTest.from_file(APP, default_timeout=30)
    reloaded.run()
    assert reloaded.text_area(key="prompt").value == "Tab one's prompt"
    assert reloaded.number_input(key="takes").value == 2


def test_each_field_keeps_its_latest_write(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    draft = "ab" * 16
    store.write(draft, {"prompt": "new", "takes": 2}, at=20.0)
    store.write(draft, {"prompt": "older, arrived late"}, at=10.0)
    store.write(draft, {"takes": 3}, at=30.0)
    assert store.values(draft) == {"prompt": "new", "takes": 3}
    assert store.latest() == draft
    image = store.put_image(b"\x89PNG\r\n\x1a\n...", "image/png", "a.png")
    assert store.put_image(b"\x89PNG\r\n\x1a\n...", "image/png", "b.png").sha256 == image.sha256
    assert store.image_bytes(image) == b"\x89PNG\r\n\x1a\n..."
    store.clear(draft, ["takes"])
    assert store.values(draft) == {"prompt": "new"}
