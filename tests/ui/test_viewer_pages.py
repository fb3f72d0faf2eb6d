"""A viewer in the app: refused with the reason and who to ask on Generate, Library and Settings (and wherever a
take could be started); watching Compare, History and Rankings; voting only where DAILIES_VIEWERS_VOTE=1."""

from __future__ import annotations

import pytest

from components import auth
from jobs import settings
from jobs.boards import Boards
from jobs.identity import MEMBER, VIEWER, Identity
from library.prompts import ModelVariant, PromptLibrary
from providers.recipe import Recipe
from review.store import ReviewStore
from tests.ui.ui_helpers import find, open_page, rerun, texts

VIEWER_EMAIL = "vic@example.com"
REFUSED = "You are signed in as a viewer: a viewer cannot"
ASK = "Ask an admin (boss@example.com)"


def sign_in(monkeypatch: pytest.MonkeyPatch, email: str = VIEWER_EMAIL, role: str = VIEWER, *,
            viewers_vote: bool = False) -> None:
    monkeypatch.setenv("DAILIES_AUTH", "none")  # sign-in has its own tests; the identity is given here
    monkeypatch.setenv("DAILIES_ADMINS", "boss@example.com")
    monkeypatch.setenv("DAILIES_VIEWERS_VOTE", "1" if viewers_vote else "0")
    monkeypatch.setattr(auth, "current_identity", lambda: Identity(email=email, role=role, signed_in_required=True))


def _said(at, kind: str) -> list[str]:
    return [t for t in texts(at, kind) if REFUSED in t]


def test_a_viewers_generate_says_why_and_who_to_ask_and_cannot_be_pressed(empty_app, monkeypatch) -> None:
    sign_in(monkeypatch)
    at = open_page("app_pages/generate.py")
    at.text_area(key="prompt").set_value("A paper lantern drifts over a quiet lake")
    rerun(at)
    (why,) = _said(at, "warning")
    assert why == ("You are signed in as a viewer: a viewer cannot start takes. Ask an admin (boss@example.com) to "
                   "make you a member.")
    assert at.button(key="generate").disabled
    # Saving to the library is refused in its popover too, with the reason instead of the form.
    assert any("cannot save, start or delete library recipes" in c for c in texts(at, "caption"))
    assert not find(at, "button", key="gen_lib_save")


def test_a_member_on_the_same_deployment_may_generate(empty_app, monkeypatch) -> None:
    sign_in(monkeypatch, "ann@example.com", MEMBER)
    at = open_page("app_pages/generate.py")
    at.text_area(key="prompt").set_value("A paper lantern drifts over a quiet lake")
    rerun(at)
    assert not _said(at, "warning") and not at.button(key="generate").disabled


def test_a_viewer_reads_the_library_but_cannot_save_start_or_delete(empty_app, monkeypatch) -> None:
    empty_app.mkdir(parents=True, exist_ok=True)
    library = PromptLibrary.in_data_dir(empty_app)
    library.save("Kite at dawn", Recipe(prompt="a red kite at dawn"), variants=[ModelVariant("veo3.1-fast")],
                 created_by="ann@example.com")
    library.close()
    sign_in(monkeypatch)
    at = open_page("app_pages/prompt_library.py")
    (why,) = _said(at, "info")
    assert "cannot save, start or delete library recipes" in why and ASK in why
    assert not find(at, "button", key="lib_save")
    assert "### Kite at dawn" in texts(at, "markdown")  # a viewer starts on everyone's recipes
    assert "by ann@example.com" in texts(at, "caption")
    start = next(b for b in at.button if b.key and b.key.startswith("lib_run:"))
    delete = next(b for b in at.button if b.key and b.key.startswith("lib_del:"))
    assert start.disabled and delete.disabled


def test_a_viewers_settings_are_read_only_with_who_changes_them(empty_app, monkeypatch) -> None:
    sign_in(monkeypatch)
    at = open_page("app_pages/settings.py")
    assert any("Only an admin changes this (boss@example.com); you are signed in as a viewer" in c
               for c in texts(at, "caption"))
    assert not find(at, "button", label="Save") and "Budget (USD)" not in [n.label for n in at.number_input]


def test_a_viewer_watches_a_board_on_compare_but_cannot_rerun_or_retry_it(seeded, monkeypatch) -> None:
    sign_in(monkeypatch)
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    assert len(at.get("iframe")) == 1  # the synchronised player of the run's three takes
    assert any(REFUSED in t and "cannot start takes" in t for t in texts(at, "info"))  # in the re-run expander
    assert not [b for b in at.button if b.key and b.key.startswith("rerun_go:")]
    # watching is not editing: keep/discard and notes are greyed out with the reason, and nothing leaves the board
    verdicts = [b for b in at.button if b.key and b.key.startswith(("keep:", "discard:"))]
    assert verdicts and all(b.disabled and "cannot keep, discard" in (b.help or "") for b in verdicts)
    assert not [b for b in at.button if b.key and b.key.startswith("remove:")]
    assert at.text_input and all(t.disabled for t in at.text_input if t.key and t.key.startswith("note:"))
    ledger_failed = open_page("app_pages/history.py", query={"job": seeded.failed_job})
    retry = [b for b in ledger_failed.button if b.key and "retry" in b.key]
    rerun_button = [b for b in ledger_failed.button if b.key and b.key.startswith("h_rerun:")]
    assert retry and all(b.disabled for b in retry + rerun_button)


def test_a_viewer_sees_rankings(seeded, monkeypatch) -> None:
    sign_in(monkeypatch)
    at = open_page("app_pages/rankings.py")
    assert texts(at, "title") == ["Rankings"] and not _said(at, "info")


@pytest.mark.parametrize("viewers_vote", [False, True], ids=["viewers-do-not-vote", "viewers-vote"])
def test_a_viewer_votes_only_where_viewers_vote(seeded, monkeypatch, viewers_vote: bool) -> None:
    sign_in(monkeypatch, viewers_vote=viewers_vote)
    at = open_page("app_pages/blind_review.py")
    if not viewers_vote:
        (why,) = _said(at, "info")
        assert "cannot vote (DAILIES_VIEWERS_VOTE is off)" in why and "DAILIES_VIEWERS_VOTE=1" in why
        assert not find(at, "button", key="review_start")
        return
    assert not _said(at, "info")
    boards = Boards(seeded.data_dir / settings.LEDGER_FILENAME)
    board = boards.for_run(seeded.board_run)
    boards.close()
    at.multiselect(key="review_boards").set_value([board.id])
    rerun(at)
    at.button(key="review_start").click()
    rerun(at)
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("vote_a:"))).click()
    rerun(at)
    store = ReviewStore.in_data_dir(seeded.data_dir)
    try:
        assert [v.voter for v in store.votes()] == [VIEWER_EMAIL]
    finally:
        store.close()


def test_a_settings_change_below_the_page_needs_an_admin_and_records_who(empty_app, monkeypatch) -> None:
    """Every settings change goes through Runtime.save_prefs, which asks who: a member is refused there whatever
    a page showed, and an admin's change is recorded under their email."""
    import dataclasses

    from components.runtime import get_runtime
    from jobs.identity import ADMIN

    sign_in(monkeypatch, "ann@example.com", MEMBER)
    rt = get_runtime()
    with pytest.raises(PermissionError, match="settings: You are signed in as a member"):
        rt.save_prefs(dataclasses.replace(rt.prefs, budget_usd=1.0), by=Identity("ann@example.com", MEMBER, True))
    rt.save_prefs(dataclasses.replace(rt.prefs, budget_usd=30.0), by=Identity("boss@example.com", ADMIN, True))
    assert rt.prefs.budget_usd == 30.0
    assert [(r["who"], r["detail"]) for r in rt.ledger.activity()] == [("boss@example.com", "budget_usd: 25.0 → 30.0")]


def test_a_bad_default_role_stops_the_app_naming_the_variable_and_its_values(empty_app, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.ui.ui_helpers import APP

    monkeypatch.setenv("DAILIES_AUTH", "none")
    monkeypatch.setenv("DAILIES_DEFAULT_ROLE", "owner")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = texts(at, "error")
    assert "Dailies will not start" in error and "DAILIES_DEFAULT_ROLE: 'owner' is not one of: member, viewer" in error
    assert not at.get("button")
