"""Signed in, the lists are a person's own first: Compare's boards, the library's recipes and Generate's runs show
"mine" by default and everyone's on request, each with who made it; a board opened by its link shows whoever made
it, and a link that names no board says so."""

from __future__ import annotations

import json

import pytest

from components import auth
from jobs import settings
from jobs.boards import Boards
from jobs.identity import MEMBER, Identity
from jobs.ledger import Ledger
from library.prompts import ModelVariant, PromptLibrary
from providers.recipe import Recipe
from tests.ui.ui_helpers import find, open_page, rerun, texts

ANN, BOB = "ann@example.com", "bob@example.com"


def _sign_in(monkeypatch: pytest.MonkeyPatch, email: str = ANN) -> None:
    monkeypatch.setenv("DAILIES_AUTH", "none")  # sign-in has its own tests; the identity is given here
    monkeypatch.setattr(auth, "current_identity", lambda: Identity(email=email, role=MEMBER, signed_in_required=True))


@pytest.fixture
def two_peoples_boards(seeded):
    """The seeded takes on a board each of ann's and bob's (the seeded run boards are nobody's)."""
    boards = Boards(seeded.data_dir / settings.LEDGER_FILENAME)
    try:
        boards.sync_runs()
        takes = list(seeded.board_jobs.values())
        ann = boards.create("Ann's picks", takes[:2], created_by=ANN)
        bob = boards.create("Bob's picks", takes[1:], created_by=BOB)
    finally:
        boards.close()
    return seeded, ann, bob


def _board_choices(at) -> list[str]:
    return list(at.selectbox(key="compare_board").options)


def test_compare_lists_my_boards_first_and_everyones_on_request_with_who_made_them(two_peoples_boards,
                                                                                    monkeypatch) -> None:
    _, ann, bob = two_peoples_boards
    _sign_in(monkeypatch)
    at = open_page("app_pages/compare.py")
    assert _board_choices(at) == ["Ann's picks (2 clips) · by ann@example.com"]
    find(at, "toggle", label="Everyone's boards")[0].set_value(True)
    rerun(at)
    choices = _board_choices(at)
    assert "Bob's picks (2 clips) · by bob@example.com" in choices and len(choices) > 2  # the run boards too
    # The share link is this page's address with the board in it.
    assert any(f"?board={ann.id}" in c.value for c in at.code)


def test_a_board_opened_by_its_link_shows_to_another_person_and_a_bad_link_says_so(two_peoples_boards,
                                                                                   monkeypatch) -> None:
    _, ann, bob = two_peoples_boards
    _sign_in(monkeypatch)
    at = open_page("app_pages/compare.py", query={"board": bob.id})
    assert at.selectbox(key="compare_board").value == bob.id  # not ann's, shown to her all the same
    assert len(at.get("iframe")) == 1 and not at.error
    assert _board_choices(at)[0] == "Bob's picks (2 clips) · by bob@example.com"

    bad = open_page("app_pages/compare.py", query={"board": "no-such-board"})
    assert any("No board with id “no-such-board” on this deployment" in e for e in texts(bad, "error"))
    assert bad.selectbox(key="compare_board").value == ann.id  # her own list, under the message
    rerun(bad)
    assert any("No board with id" in e for e in texts(bad, "error"))  # still said on the next rerun


def test_the_library_lists_my_recipes_first_and_everyones_with_who_saved_them(empty_app, monkeypatch) -> None:
    empty_app.mkdir(parents=True, exist_ok=True)
    library = PromptLibrary.in_data_dir(empty_app)
    for name, who in (("Ann's kite", ANN), ("Bob's harbour", BOB)):
        library.save(name, Recipe(prompt=name), variants=[ModelVariant("veo3.1-fast")], created_by=who)
    library.close()
    _sign_in(monkeypatch)
    at = open_page("app_pages/prompt_library.py")
    assert [t for t in texts(at, "markdown") if t.startswith("### ")] == ["### Ann's kite"]
    find(at, "toggle", label="Everyone's recipes")[0].set_value(True)
    rerun(at)
    assert [t for t in texts(at, "markdown") if t.startswith("### ")] == ["### Ann's kite", "### Bob's harbour"]
    assert "by bob@example.com" in texts(at, "caption")


def test_a_saved_recipe_records_who_saved_it_from_generate(empty_app, monkeypatch) -> None:
    _sign_in(monkeypatch)
    at = open_page("app_pages/generate.py")
    at.text_area(key="prompt").set_value("A paper lantern over a lake")
    rerun(at)
    at.text_input(key="gen_lib_name").set_value("Lantern")
    at.button(key="gen_lib_save").click()
    rerun(at)
    library = PromptLibrary.in_data_dir(empty_app)
    try:
        assert [(s.name, s.created_by) for s in library.list()] == [("Lantern", ANN)]
    finally:
        library.close()


def test_generates_runs_are_mine_by_default_and_everyones_on_request(empty_app, monkeypatch) -> None:
    empty_app.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(empty_app / settings.LEDGER_FILENAME)
    try:
        for who, prompt in ((ANN, "ann's lighthouse at dusk"), (BOB, "bob's harbour at noon")):
            ledger.create_jobs([{"run_id": f"run-{who}", "model_id": "kling-v1-6", "family": "kling",
                                 "backend": "sandbox", "base_url": "http://127.0.0.1:1",
                                 "recipe_json": json.dumps({"prompt": prompt}), "state": "failed", "owner": who}])
    finally:
        ledger.close()
    _sign_in(monkeypatch)
    at = open_page("app_pages/generate.py")
    assert "bob's harbour" not in " ".join(texts(at, "markdown"))
    find(at, "toggle", label="Everyone's runs")[0].set_value(True)
    rerun(at)
    shown = " ".join(texts(at, "markdown"))
    assert "**Latest run:** bob's harbour at noon" in shown and "ann's lighthouse at dusk" in shown
    assert any("by bob@example.com" in c for c in texts(at, "caption"))


def test_a_recipe_saved_on_the_library_page_is_mine(empty_app, monkeypatch) -> None:
    _sign_in(monkeypatch)
    at = open_page("app_pages/prompt_library.py")
    at.text_input(key="lib_name").set_value("Kite at dawn")
    at.text_area(key="lib_prompt").set_value("A red kite over a beach at dawn")
    at.multiselect(key="lib_models").set_value(["veo3.1-fast"])
    rerun(at)
    at.button(key="lib_save").click()
    rerun(at)
    rerun(at)
    assert [t for t in texts(at, "markdown") if t.startswith("### ")] == ["### Kite at dawn"]
    assert "by ann@example.com" in texts(at, "caption")
