"""One person, one vote per pair: a signed-in voter's second verdict on a pair replaces the first (SQLite and
PostgreSQL); votes with no sign-in are kept as before."""

from __future__ import annotations

import threading

from review.bestworst import BestWorstStore
from review.store import ReviewStore


def test_a_second_vote_by_the_same_person_on_the_same_pair_replaces_the_first(store_target) -> None:
    store = ReviewStore(store_target)
    try:
        review = store.create_review("Shoot-out", [("a", "b"), ("a", "c")], {"a": "h1", "b": "h2", "c": "h3"})
        store.add_vote(review.id, "a", "b", "veo3.1", "kling-v1-6", "a", voter="ana@example.com", vote_id="s1:0")
        # Another tab, the pair shown the other way round, a changed mind.
        store.add_vote(review.id, "b", "a", "kling-v1-6", "veo3.1", "a", voter="ana@example.com", vote_id="s2:0")
        store.add_vote(review.id, "a", "b", "veo3.1", "kling-v1-6", "b", voter="ben@example.com")
        store.add_vote(review.id, "a", "c", "veo3.1", "sora-2", "tie", voter="ana@example.com")
        votes = store.votes(review_id=review.id)
        ana_ab = [v for v in votes if v.voter == "ana@example.com" and {v.job_a, v.job_b} == {"a", "b"}]
        assert len(ana_ab) == 1 and ana_ab[0].winner_model == "kling-v1-6"  # the second verdict counts
        assert sorted((v.voter, v.job_a, v.job_b) for v in votes) == [
            ("ana@example.com", "a", "c"), ("ana@example.com", "b", "a"), ("ben@example.com", "a", "b")]
        # No sign-in: every vote counts, as before.
        store.add_vote(review.id, "a", "b", "veo3.1", "kling-v1-6", "a", reviewer="kim")
        store.add_vote(review.id, "a", "b", "veo3.1", "kling-v1-6", "a", reviewer="kim")
        assert len(store.votes(review_id=review.id)) == 5
    finally:
        store.close()


def test_two_tabs_of_one_person_voting_at_once_leave_one_vote(store_target) -> None:
    stores = [ReviewStore(store_target) for _ in range(2)]
    try:
        review = stores[0].create_review("Race", [("a", "b")], {"a": "h1", "b": "h2"})
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def vote(store: ReviewStore, winner: str, vid: str) -> None:
            barrier.wait(timeout=10)
            try:
                store.add_vote(review.id, "a", "b", "veo3.1", "kling-v1-6", winner, voter="ana@example.com",
                               vote_id=vid)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=vote, args=(s, w, f"tab{i}")) for i, (s, w) in
                   enumerate(zip(stores, ("a", "b"), strict=True))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        assert len(stores[1].votes(review_id=review.id)) == 1
    finally:
        for s in stores:
            s.close()


def test_rankings_count_each_persons_vote_once_and_show_mine_on_request(app_env, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from components import auth
    from jobs.identity import MEMBER, Identity
    from tests.review.review_helpers import ROOT

    store = ReviewStore.in_data_dir(app_env.data_dir)
    review = store.create_review("ads", [("j1", "j2")], {"j1": "a" * 64, "j2": "b" * 64})
    for winner in ("a", "a", "b"):  # ana changes her mind twice: one vote, for B
        store.add_vote(review.id, "j1", "j2", "veo3.1-fast", "kling-v1-6", winner, voter="ana@example.com")
    for voter in ("bo@example.com", "cy@example.com"):
        store.add_vote(review.id, "j1", "j2", "veo3.1-fast", "kling-v1-6", "a", voter=voter)
    store.close()
    ballots = BestWorstStore.in_data_dir(app_env.data_dir)
    for voter in ("ana@example.com", "bo@example.com"):  # a best–worst ballot each: ana's is hers too
        ballots.add(["j1", "j2", "j3"], ["veo3.1-fast", "kling-v1-6", "sora-2"], 1, 0, voter=voter)
    ballots.close()
    monkeypatch.setattr(auth, "current_identity",
                        lambda: Identity(email="ana@example.com", role=MEMBER, signed_in_required=True))
    at = AppTest.from_file(str(ROOT / "app_pages" / "rankings.py"), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.metric[0].value == "5"  # three people's pair votes, two people's ballots
    at.toggle(key="rank_mine").set_value(True)
    at.run()
    assert at.metric[0].value == "2"  # ana's pair vote and her ballot
    won = dict(zip(at.dataframe[0].value["model"], at.dataframe[0].value["won"], strict=True))
    assert sorted(won.values()) == [0, 1, 3]  # kling best of three, and B over A in her pair vote
