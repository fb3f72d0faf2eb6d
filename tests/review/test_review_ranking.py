"""Bradley–Terry against hand-computed maximum-likelihood strengths, intervals, the price view and CSV export."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from providers.catalog import load_catalog
from review.ranking import catalog_cost_per_s, fit_strengths, price_view, rank, to_csv
from review.store import Vote


def _votes(spec: list[tuple[str, str, str, int]]) -> list[Vote]:
    out = []
    for a, b, winner, times in spec:
        for _ in range(times):
            n = len(out)
            out.append(Vote(id=str(n), review_id="r", created_at=float(n), reviewer="", job_a=f"{a}{n}",
                            job_b=f"{b}{n}", model_a=a, model_b=b, winner=winner, reasons=(), tags=(), prompt=""))
    return out


def test_three_model_mle_matches_the_hand_computed_solution() -> None:
    # A beat B 2-1, B beat C 2-1, A beat C 4-1. The likelihood equations W_i = sum_j n_ij p_i / (p_i + p_j)
    # hold exactly at p = (4, 2, 1): A: 3*4/6 + 5*4/5 = 6 = W_A; B: 3*2/6 + 3*2/3 = 3 = W_B; C: 1 + 1 = 2 = W_C.
    wins = np.array([[0, 2, 4], [1, 0, 2], [1, 1, 0]], dtype=float)
    p = fit_strengths(wins, prior=0.0)
    assert p / p[2] == pytest.approx([4.0, 2.0, 1.0], rel=1e-6)
    assert math.prod(p) == pytest.approx(1.0)


def test_rank_orders_models_with_ratings_counts_and_intervals() -> None:
    votes = _votes([("A", "B", "a", 2), ("A", "B", "b", 1), ("B", "C", "a", 2), ("B", "C", "b", 1),
                    ("A", "C", "a", 4), ("C", "A", "a", 1)])
    rows = rank(votes, prior=0.0, samples=0)
    assert [r.model_id for r in rows] == ["A", "B", "C"]
    assert [r.rank for r in rows] == [1, 2, 3]
    # 400 * log10(2) rating points per doubling of strength: p = 4 : 2 : 1.
    assert rows[0].rating - rows[1].rating == pytest.approx(400 * math.log10(2), abs=1e-3)
    assert rows[1].rating - rows[2].rating == pytest.approx(400 * math.log10(2), abs=1e-3)
    assert [(r.votes, r.wins, r.losses, r.ties) for r in rows] == [(8, 6, 2, 0), (6, 3, 3, 0), (8, 2, 6, 0)]

    boot = rank(votes, samples=200, seed=1)
    for r in boot:
        assert r.ci_low <= r.rating <= r.ci_high
        assert r.ci_high - r.ci_low > 10, "eight votes cannot pin a rating down"


def test_ties_count_half_and_an_unbeaten_model_stays_finite() -> None:
    tied = rank(_votes([("A", "B", "tie", 4)]), prior=0.0, samples=0)
    assert tied[0].rating == pytest.approx(tied[1].rating) and tied[0].ties == 4
    unbeaten = rank(_votes([("A", "B", "a", 3)]), samples=50)
    assert unbeaten[0].model_id == "A" and math.isfinite(unbeaten[0].rating) and math.isfinite(unbeaten[0].ci_high)
    assert unbeaten[0].rating > unbeaten[1].rating


def test_more_votes_narrow_the_interval() -> None:
    few = rank(_votes([("A", "B", "a", 2), ("A", "B", "b", 1)]), samples=200)
    many = rank(_votes([("A", "B", "a", 40), ("A", "B", "b", 20)]), samples=200)
    width = {r.model_id: r.ci_high - r.ci_low for r in few}
    assert all(r.ci_high - r.ci_low < width[r.model_id] for r in many)


def test_price_view_marks_the_frontier() -> None:
    rows = rank(_votes([("A", "B", "a", 3), ("B", "C", "a", 3), ("A", "C", "a", 3)]), samples=0)
    cost = {"A": 0.5, "B": 0.1, "C": 0.3}
    view = price_view(rows, cost.get)
    assert [(p.model_id, p.frontier) for p in view] == [("B", True), ("C", False), ("A", True)]


def test_csv_export_has_one_row_per_model_with_costs() -> None:
    catalog = load_catalog()
    votes = _votes([("veo3.1-fast", "kling-v1-6", "a", 2), ("kling-v1-6", "veo3.1-fast", "a", 1)])
    rows = rank(votes, samples=20)
    text = to_csv(rows, category="product", names=lambda m: catalog.get(m).display_name,
                  cost_per_s=lambda m: catalog_cost_per_s(catalog, m))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["model_id"] for r in parsed] == ["veo3.1-fast", "kling-v1-6"]
    assert parsed[0]["model"] == catalog.get("veo3.1-fast").display_name and parsed[0]["category"] == "product"
    assert parsed[0]["votes"] == "3" and parsed[0]["wins"] == "2"
    assert float(parsed[0]["cost_per_s_usd"]) == pytest.approx(catalog_cost_per_s(catalog, "veo3.1-fast"), abs=1e-4)
    assert catalog_cost_per_s(catalog, "no-such-model") is None
