"""Reviews, votes, best–worst ballots and saved recipes behave the same on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import pytest

from library.prompts import ModelVariant, PromptLibrary
from providers.recipe import Recipe
from review.bestworst import BestWorstStore
from review.store import ReviewError, ReviewStore


def test_reviews_and_votes(store_target) -> None:
    store = ReviewStore(store_target)
    try:
        review = store.create_review("Shoot-out", [("a", "b")], {"a": "h1", "b": "h2"}, tags=["Product "])
        first = store.add_vote(review.id, "a", "b", "veo3.1", "kling-v1-6", "a", reviewer="ana", vote_id="v1")
        again = store.add_vote(review.id, "a", "b", "veo3.1", "kling-v1-6", "b", reviewer="ana", vote_id="v1")
        assert again.winner == first.winner == "a"  # the same vote id twice (a double click) is one vote
        store.add_vote(review.id, "b", "a", "kling-v1-6", "veo3.1", "tie", reviewer="ben")
        assert [v.reviewer for v in store.votes(review_id=review.id)] == ["ana", "ben"]
        assert store.tags() == ["product"] and store.voted_pairs(review.id, "ana") == {("a", "b")}
        assert [r.name for r in store.list_reviews()] == ["Shoot-out"]
        with pytest.raises(ReviewError, match="winner"):
            store.add_vote(review.id, "a", "b", "x", "y", "both")
    finally:
        store.close()


def test_best_worst_ballots(store_target) -> None:
    store = BestWorstStore(store_target)
    try:
        store.add(["j1", "j2", "j3"], ["veo3.1", "kling-v1-6", "gen4_turbo"], 0, 2, tags=["ocean"], vote_id="b1")
        store.add(["j1", "j2", "j3"], ["veo3.1", "kling-v1-6", "gen4_turbo"], 0, 2, vote_id="b1")
        assert len(store.ballots()) == 1 and store.tags() == ["ocean"]
    finally:
        store.close()


def test_saved_recipes_and_their_runs(store_target) -> None:
    library = PromptLibrary(store_target)
    try:
        saved = library.save("lighthouse", Recipe(prompt="a lighthouse"), variants=[ModelVariant("veo3.1")])
        library.save("Boat", Recipe(prompt="a boat"), variants=[ModelVariant("kling-v1-6")])
        library.save("lighthouse at dusk", Recipe(prompt="a lighthouse, dusk"), variants=[ModelVariant("veo3.1")],
                     recipe_id=saved.id)
        assert [s.name for s in library.list()] == ["Boat", "lighthouse at dusk"]
        library.link_run(saved.id, "run-1")
        library.link_run(saved.id, "run-1")
        assert library.runs(saved.id) == ["run-1"] and library.recipe_for_run("run-1").id == saved.id
        library.delete(saved.id)
        assert library.get(saved.id) is None and library.recipe_for_run("run-1") is None
    finally:
        library.close()
