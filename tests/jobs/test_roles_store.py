"""Who made what, and what a viewer may not do, in the store itself (SQLite and PostgreSQL): a viewer's take is
refused where the jobs are written, whatever a page showed; boards, saved recipes and best–worst ballots record
their person and list one person's on request."""

from __future__ import annotations

import pytest

from jobs import permissions
from jobs.boards import Boards
from jobs.identity import ADMIN, MEMBER, VIEWER
from jobs.ledger import Ledger, NotPermitted
from library.prompts import LibraryError, ModelVariant, PromptLibrary
from providers.recipe import Recipe
from review.bestworst import BestWorstStore
from tests.jobs.jobs_helpers import backend_for, job_spec as spec, no_options, recipe


@pytest.fixture
def ledger(store_target):
    led = Ledger(store_target)
    yield led
    led.close()


@pytest.mark.parametrize(("role", "vote_on", "may"), [
    (None, False, {"generate", "library", "settings", "vote", "review"}),
    (ADMIN, False, {"generate", "library", "settings", "vote", "review"}),
    (MEMBER, False, {"generate", "library", "vote", "review"}),
    (VIEWER, False, set()),
    (VIEWER, True, {"vote"}),
    ("guest", True, set()),
], ids=["no-sign-in", "admin", "member", "viewer", "viewer-who-votes", "unknown-role"])
def test_what_each_role_may_do(role, vote_on, may) -> None:
    assert {a for a in permissions.ACTIONS if permissions.allowed(role, a, viewers_vote=vote_on)} == may


def test_the_ledger_refuses_a_viewers_takes_and_writes_nothing(ledger) -> None:
    with pytest.raises(NotPermitted, match="vic@example.com is a viewer, and a viewer cannot start takes"):
        ledger.create_jobs([spec(owner="vic@example.com")], role=VIEWER)
    assert ledger.count_jobs() == 0 and ledger.spend_total("sandbox") == 0
    ledger.create_jobs([spec(owner="ann@example.com")], role=MEMBER)
    ledger.create_jobs([spec(owner="carol")])  # the CLI asks with no role: the operator
    assert ledger.count_jobs() == 2


def test_the_runner_and_a_library_run_refuse_a_viewer_before_any_request(make_runner, make_sandbox,
                                                                          store_target) -> None:
    server = make_sandbox()
    runner = make_runner()
    with pytest.raises(NotPermitted):
        runner.submit_run(recipe(), [("veo3.1-fast", no_options())], backend_for(server), owner="vic@example.com",
                          role=VIEWER)
    library = PromptLibrary(store_target)
    try:
        saved = library.save("Kite", Recipe(prompt="a kite"), variants=[ModelVariant("veo3.1-fast")])
        with pytest.raises(NotPermitted):
            library.start_run(saved, runner, backend_for(server), owner="vic@example.com", role=VIEWER)
        assert library.runs(saved.id) == []
    finally:
        library.close()
    assert runner.ledger.count_jobs() == 0 and server.requests() == []


def test_boards_record_who_made_them_and_list_one_persons(ledger) -> None:
    ledger.create_jobs([spec(run_id="run-ann", owner="ann@example.com"), spec(run_id="run-old")])
    boards = Boards(ledger.database)
    try:
        boards.sync_runs()
        picked = boards.create("Ben's picks", [], created_by="ben@example.com")
        assert boards.for_run("run-ann").created_by == "ann@example.com"  # a run's board is whoever started it
        assert boards.for_run("run-old").created_by is None  # no sign-in: nobody's
        assert [b.id for b in boards.list(created_by="ben@example.com")] == [picked.id]
        assert [b.run_id for b in boards.list(created_by="ann@example.com")] == ["run-ann"]
        assert len(boards.list()) == 3
    finally:
        boards.close()


def test_saved_recipes_record_who_saved_them_and_a_viewer_cannot_edit_the_library(store_target) -> None:
    library = PromptLibrary(store_target)
    try:
        kite = library.save("Kite", Recipe(prompt="a kite"), variants=[ModelVariant("veo3.1")],
                            created_by="ann@example.com", role=MEMBER)
        library.save("Boat", Recipe(prompt="a boat"), variants=[ModelVariant("veo3.1")])
        # An edit by someone else keeps who saved it first.
        library.save("Kite at dusk", Recipe(prompt="a kite, dusk"), variants=[ModelVariant("veo3.1")],
                     recipe_id=kite.id, created_by="ben@example.com")
        assert library.get(kite.id).created_by == "ann@example.com"
        assert [s.name for s in library.list(created_by="ann@example.com")] == ["Kite at dusk"]
        assert [s.created_by for s in library.list()] == [None, "ann@example.com"]
        for attempt in (lambda: library.save("Vic's", Recipe(prompt="x"), variants=[ModelVariant("veo3.1")],
                                             created_by="vic@example.com", role=VIEWER),
                        lambda: library.delete(kite.id, role=VIEWER)):
            with pytest.raises(LibraryError, match="role: You are signed in as a viewer"):
                attempt()
        assert [s.name for s in library.list()] == ["Boat", "Kite at dusk"]
    finally:
        library.close()


def test_a_best_worst_ballot_records_its_voter_and_their_second_verdict_on_a_set_replaces_the_first(
        store_target) -> None:
    store = BestWorstStore(store_target)
    models = ["veo3.1", "kling-v1-6", "gen4_turbo"]
    try:
        store.add(["j1", "j2", "j3"], models, 0, 2, voter="ana@example.com", vote_id="round1:0")
        # Another round shows the same clips in another order: a changed mind replaces the verdict.
        store.add(["j3", "j1", "j2"], [models[2], models[0], models[1]], 0, 2, voter="ana@example.com",
                  vote_id="round2:4")
        store.add(["j1", "j2", "j3"], models, 1, 0, voter="ben@example.com")
        store.add(["j1", "j2", "j3"], models, 1, 0)  # no sign-in: every ballot counts, as before
        store.add(["j1", "j2", "j3"], models, 1, 0)
        ballots = store.ballots()
        anas = [b for b in ballots if b.voter == "ana@example.com"]
        assert len(anas) == 1 and anas[0].pairs[0][0] == "gen4_turbo"  # the second verdict: gen4_turbo best
        assert sorted(str(b.voter) for b in ballots) == ["None", "None", "ana@example.com", "ben@example.com"]
    finally:
        store.close()
