"""Votes are stored once, pooled across reviewers, and refused with a clear message when malformed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from review.store import ReviewError, ReviewStore


@pytest.fixture
def store(tmp_path: Path) -> ReviewStore:
    s = ReviewStore.in_data_dir(tmp_path)
    yield s
    s.close()


def _review(store: ReviewStore, tags=("Product",)):
    return store.create_review("Launch shortlist", [("j1", "j2"), ("j3", "j1")],
                               {"j1": "a" * 64, "j2": "b" * 64, "j3": "c" * 64}, tags=tags, sources=["run-1"])


def test_review_and_votes_survive_a_reopen_and_pool_reviewers(store: ReviewStore, tmp_path: Path) -> None:
    review = _review(store)
    store.add_vote(review.id, "j1", "j2", "veo3.1-fast", "kling-v1-6", "a", reasons=["motion"], reviewer="ana")
    store.add_vote(review.id, "j3", "j1", "gen4_turbo", "veo3.1-fast", "tie", reviewer="")
    store.close()

    again = ReviewStore.in_data_dir(tmp_path)
    got = again.get_review(review.id)
    assert got is not None and got.pairs == (("j1", "j2"), ("j3", "j1")) and got.tags == ("product",)
    votes = again.votes(review_id=review.id)
    assert [(v.reviewer, v.winner, v.winner_model) for v in votes] == [("ana", "a", "veo3.1-fast"), ("", "tie", None)]
    assert votes[0].reasons == ("motion",) and votes[0].tags == ("product",)
    assert again.tags() == ["product"]
    assert [v.winner for v in again.votes(tag="PRODUCT")] == ["a", "tie"]
    assert again.votes(tag="ads") == []
    assert again.voted_pairs(review.id, "ana") == {("j1", "j2")}
    again.close()


def test_the_same_vote_id_twice_is_one_vote(store: ReviewStore) -> None:
    review = _review(store)
    for _ in range(2):
        store.add_vote(review.id, "j1", "j2", "veo3.1-fast", "kling-v1-6", "b", vote_id="click-1")
    assert len(store.votes()) == 1


def test_concurrent_reviewers_all_land(store: ReviewStore) -> None:
    review = _review(store)

    def vote(i: int) -> None:
        store.add_vote(review.id, "j1", "j2", "veo3.1-fast", "kling-v1-6", "a", reviewer=f"r{i}")

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.votes(review_id=review.id)) == 8


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"winner": "left"}, "winner: 'left' is not one of a, b, tie"),
    ({"reasons": ["vibes"]}, "reasons: 'vibes' not allowed; use motion, prompt adherence, artefacts, audio"),
    ({"review_id": "nope"}, "review_id: no review 'nope'"),
])
def test_bad_votes_name_the_field_and_allowed_values(store: ReviewStore, kwargs: dict, message: str) -> None:
    review = _review(store)
    args = {"review_id": review.id, "winner": "a", **kwargs}
    with pytest.raises(ReviewError, match=message):
        store.add_vote(args.pop("review_id"), "j1", "j2", "veo3.1-fast", "kling-v1-6", args.pop("winner"), **args)
    assert store.votes() == []


def test_a_review_needs_pairs_with_blind_copies(store: ReviewStore) -> None:
    with pytest.raises(ReviewError, match="pairs: a review needs at least one pair"):
        store.create_review("x", [], {})
    with pytest.raises(ReviewError, match="clips: no blind copy for job"):
        store.create_review("x", [("j1", "j2")], {"j1": "a" * 64})
