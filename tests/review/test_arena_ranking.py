"""Arena maths: best–worst votes as implied pairs in the same Bradley–Terry fit (against a hand-solved example),
pools kept apart, the minimum-vote and preliminary rules, lower-bound order with shared ranks, cached fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from review import ranking
from review.arena import Ballot, Pool, best_worst_ballot, implied_pairs, select, split_pools
from review.ranking import MIN_VOTES, PRELIMINARY, PRELIMINARY_VOTES, RANKED, TOO_FEW, rank
from review.store import Vote

DOUBLING = 400 * math.log10(2)


def pair(n: int, a: str, b: str, winner: str, *, tags: tuple[str, ...] = (), prompt: str = "") -> Vote:
    return Vote(id=f"p{n}", review_id="r", created_at=float(n), reviewer="", job_a=f"{a}-{n}", job_b=f"{b}-{n}",
                model_a=a, model_b=b, winner=winner, reasons=(), tags=tags, prompt=prompt)


def pairs(spec: list[tuple[str, str, str, int]], start: int = 0) -> list[Vote]:
    out: list[Vote] = []
    for a, b, winner, times in spec:
        out += [pair(start + len(out), a, b, winner) for _ in range(times)]
    return out


def bw(n: int, models: list[str], best: int, worst: int, **kw) -> Ballot:
    return best_worst_ballot(f"bw{n}", models, [f"{m}-bw{n}" for m in models], best, worst, **kw)


def test_four_clips_imply_five_pairs_and_three_clips_the_full_order() -> None:
    assert implied_pairs(["A", "B", "C", "D"], best=2, worst=0) == (
        ("C", "A", 1.0), ("C", "B", 1.0), ("C", "D", 1.0), ("B", "A", 1.0), ("D", "A", 1.0))
    assert implied_pairs(["A", "B", "C"], best=0, worst=2) == (("A", "B", 1.0), ("A", "C", 1.0), ("B", "C", 1.0))


@pytest.mark.parametrize("models, best, worst, field", [
    (["A", "B"], 0, 1, "clips"), (["A", "B", "C", "D", "E"], 0, 1, "clips"), (["A", "A", "B"], 0, 2, "clips"),
    (["A", "B", "C"], 1, 1, "best, worst"), (["A", "B", "C"], 0, 3, "best, worst")])
def test_a_best_worst_vote_that_makes_no_sense_is_refused_by_field(models, best, worst, field) -> None:
    with pytest.raises(ValueError, match=f"^{field}"):
        implied_pairs(models, best, worst)


def test_best_worst_and_pairs_in_one_fit_match_the_hand_solved_strengths() -> None:
    # Wanted: A beat B 2-1, B beat C 2-1, A beat C 4-1. The likelihood equations W_i = sum_j n_ij p_i/(p_i+p_j)
    # hold exactly at p = (4, 2, 1): A: 3*4/6 + 5*4/5 = 6 = W_A; B: 3*2/6 + 3*2/3 = 3 = W_B; C: 5/5 + 3/3 = 2.
    # Two best–worst votes (A best, C worst) give A>B, A>C, B>C twice; five A/B votes give the rest.
    votes = [bw(0, ["A", "B", "C"], 0, 2), bw(1, ["C", "A", "B"], 1, 0),
             *pairs([("B", "A", "a", 1), ("A", "C", "a", 2), ("C", "A", "a", 1), ("C", "B", "a", 1)])]
    rows = {r.model_id: r for r in rank(votes, prior=0.0, samples=0)}
    assert rows["A"].rating - rows["B"].rating == pytest.approx(DOUBLING, abs=1e-6)
    assert rows["B"].rating - rows["C"].rating == pytest.approx(DOUBLING, abs=1e-6)
    assert rows["A"].rating == pytest.approx(1000 + DOUBLING, abs=1e-6)  # geometric mean of (4, 2, 1) is 2
    assert [(rows[m].votes, rows[m].wins, rows[m].losses) for m in "ABC"] == [(6, 6, 2), (4, 3, 3), (6, 2, 6)]


def test_a_best_worst_vote_fits_exactly_like_its_implied_pairs() -> None:
    ballot = bw(0, ["A", "B", "C", "D"], 1, 3)
    explicit = [Ballot(f"x{i}", (p,), ("j",)) for i, p in enumerate(ballot.pairs)]
    others = pairs([("D", "B", "a", 2), ("A", "C", "b", 1), ("C", "B", "a", 1)])
    a = {r.model_id: r.rating for r in rank([ballot, *others], samples=0)}
    b = {r.model_id: r.rating for r in rank([*explicit, *others], samples=0)}
    assert a == pytest.approx(b)


def test_the_bootstrap_resamples_a_best_worst_vote_whole() -> None:
    ballots = [bw(0, ["A", "B", "C"], 0, 2), Ballot("p", (("C", "A", 1.0),), ("j1", "j2"))]
    arrays = ranking._vote_arrays(ballots, ["A", "B", "C"])
    twice_first = ranking._tally(arrays, 3, np.array([0, 0]))
    assert twice_first.tolist() == [[0, 2, 2], [0, 0, 2], [0, 0, 0]]  # all three pairs, twice; the A/B vote not


def test_pools_are_kept_apart_and_mixed_ballots_left_out() -> None:
    t2v, i2v = Pool("t2v", False), Pool("i2v", False)
    votes = [pair(i, "veo", "kling", "a") for i in range(4)] + [pair(10 + i, "veo", "kling", "b") for i in range(4)]
    mixed = pair(99, "veo", "kling", "a")
    pool = {**{f"veo-{i}": t2v for i in range(4)}, **{f"kling-{i}": t2v for i in range(4)},
            **{f"veo-{i}": i2v for i in range(10, 14)}, **{f"kling-{i}": i2v for i in range(10, 14)},
            "veo-99": t2v, "kling-99": i2v}
    from review.arena import as_ballot

    by_pool, left_out = split_pools([as_ballot(v) for v in [*votes, mixed]], pool.get)
    assert [b.id for b in left_out] == ["p99"]
    assert [r.model_id for r in rank(by_pool[t2v])] == ["veo", "kling"]  # veo wins every text-to-video vote
    assert [r.model_id for r in rank(by_pool[i2v])] == ["kling", "veo"]  # and loses every image-to-video one


def test_sound_against_silence_counts_as_a_picture_comparison() -> None:
    from review.arena import ballot_pool

    pools = {"a": Pool("t2v", True), "b": Pool("t2v", False), "c": Pool("i2v", True), "d": Pool("t2v", True)}
    ballot = lambda *jobs: Ballot("x", (("A", "B", 1.0),), jobs)  # noqa: E731
    assert ballot_pool(ballot("a", "d"), pools.get) == Pool("t2v", True)  # both with sound: the audio pool
    assert ballot_pool(ballot("a", "b"), pools.get) == Pool("t2v", False)  # sound vs silent: picture only
    assert ballot_pool(ballot("a", "c"), pools.get) is None  # text- against image-to-video: no pool
    assert ballot_pool(ballot("a", "zz"), pools.get) is None  # a clip nobody knows


def test_minimum_votes_and_preliminary_thresholds() -> None:
    assert (MIN_VOTES, PRELIMINARY_VOTES) == (3, 10)
    few = pairs([("A", "B", "a", 2)])
    assert {r.status for r in rank(few, samples=0)} == {TOO_FEW}
    assert all(r.rank == 0 for r in rank(few, samples=0))
    votes = pairs([("A", "B", "a", 6), ("A", "B", "b", 4), ("A", "C", "a", 2)])  # A 12 votes, B 10, C 2
    rows = {r.model_id: r for r in rank(votes, samples=50)}
    assert (rows["A"].status, rows["B"].status, rows["C"].status) == (RANKED, RANKED, TOO_FEW)
    assert rank(votes, samples=50)[-1].model_id == "C"  # listed after every ranked model, without a rank
    nine = pairs([("A", "B", "a", 5), ("A", "B", "b", 4)])
    assert {r.status for r in rank(nine, samples=0)} == {PRELIMINARY}


def test_sorted_by_lower_bound_so_a_lucky_newcomer_does_not_top_the_table() -> None:
    # N won all 3 of its votes against Z; S won 45 of 50 against Z (W, an even match for Z, anchors Z). N's point
    # rating is higher, its interval far wider: by the lower bound S comes first.
    votes = pairs([("N", "Z", "a", 3), ("S", "Z", "a", 45), ("S", "Z", "b", 5), ("W", "Z", "a", 25),
                   ("W", "Z", "b", 25)])
    rows = rank(votes, samples=200, seed=3)
    by_id = {r.model_id: r for r in rows}
    assert by_id["N"].rating > by_id["S"].rating and by_id["N"].ci_low < by_id["S"].ci_low
    assert [r.model_id for r in rows][:2] == ["S", "N"]


def test_models_whose_intervals_overlap_share_a_rank() -> None:
    rows = rank(pairs([("A", "B", "a", 3), ("A", "B", "b", 2)]), samples=200)
    assert [r.rank for r in rows] == [1, 1]
    clear = rank(pairs([("A", "B", "a", 40), ("A", "B", "b", 2)]), samples=200)
    assert [r.rank for r in clear] == [1, 2]


def test_a_rerun_on_the_same_votes_does_not_refit(monkeypatch) -> None:
    votes = pairs([("A", "B", "a", 5), ("A", "B", "b", 3)], start=500)
    first = rank(votes, samples=30)
    calls = []
    real = ranking.fit_strengths
    monkeypatch.setattr(ranking, "fit_strengths", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert rank(list(reversed(votes)), samples=30) == first  # the same vote set, in any order
    assert calls == []
    rank([*votes, pair(999, "A", "B", "b")], samples=30)  # one more vote is a new set: refitted
    assert len(calls) == 31


def test_per_category_and_per_prompt() -> None:
    votes = [pair(0, "A", "B", "a", tags=("ads",), prompt="kite"), pair(1, "A", "B", "b", tags=("people",),
                                                                         prompt="kite"),
             pair(2, "A", "B", "b", tags=("ads",), prompt="dog")]
    from review.arena import as_ballot

    ballots = [as_ballot(v) for v in votes]
    assert [b.id for b in select(ballots, tag="Ads")] == ["p0", "p2"]
    assert [b.id for b in select(ballots, prompt="kite")] == ["p0", "p1"]
    assert [b.id for b in select(ballots, tag="ads", prompt="dog")] == ["p2"]


def test_best_worst_votes_are_stored_with_their_clips_and_refused_by_field(tmp_path) -> None:
    from review.bestworst import BestWorstStore
    from review.store import ReviewError

    store = BestWorstStore(tmp_path / "review.sqlite3")
    try:
        ballot = store.add(["j1", "j2", "j3", "j4"], ["A", "B", "C", "D"], best=3, worst=1, tags=["Ads "],
                           prompt="kite", vote_id="v1")
        store.add(["j1", "j2", "j3", "j4"], ["A", "B", "C", "D"], best=3, worst=1, vote_id="v1")  # double click
        assert store.ballots() == [ballot] and ballot.kind == "best_worst" and ballot.tags == ("ads",)
        assert ballot.pairs == implied_pairs(["A", "B", "C", "D"], 3, 1) and ballot.jobs == ("j1", "j2", "j3", "j4")
        with pytest.raises(ReviewError, match="^best, worst"):
            store.add(["j1", "j2", "j3"], ["A", "B", "C"], best=0, worst=0)
        with pytest.raises(ReviewError, match="^jobs"):
            store.add(["j1", "j1", "j3"], ["A", "B", "C"], best=0, worst=1)
    finally:
        store.close()


def test_best_worst_sets_hold_three_or_four_models_of_one_prompt() -> None:
    import random

    from jobs.ledger import Job
    from providers.recipe import Recipe
    from review.bestworst import plan_sets

    def job(model: str, prompt: str, n: int) -> Job:
        return Job(id=f"{model}-{prompt}-{n}", run_id="r", take=n, model_id=model, family="x", backend="sandbox",
                   base_url="http://x", key_fingerprint=None, recipe_json=Recipe(prompt=prompt).to_json())

    jobs = [job(m, "kite", n) for m in "ABCDE" for n in range(2)] + [job(m, "dog", 0) for m in "AB"]
    sets = plan_sets(jobs, random.Random(1))
    by_id = {j.id: j for j in jobs}
    assert len(sets) == 2  # two rounds of the kite prompt; the dog prompt has only two models
    for s in sets:
        assert len(s) == 4 and len({by_id[j].model_id for j in s}) == 4
        assert {by_id[j].recipe["prompt"] for j in s} == {"kite"}
