"""Pooled votes into a ranking per model: Bradley–Terry strengths (MM iterations), bootstrap intervals, price view.

A tie counts as half a win for each side. Strengths are shown on an Elo-like scale
(1000 + 400·log10(strength / geometric mean)), so 400 points means 10:1 odds of winning.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from providers.catalog import Catalog
from providers.errors import ValidationError
from providers.pricing import estimate
from review.store import Vote

PRIOR_GAMES = 1.0
"""Each model plays one virtual game (a win and a loss, half each way) against an average opponent.
Without it a model that won every vote has an infinite strength and no interval."""
BOOTSTRAP_SAMPLES = 200
BASE_RATING = 1000.0


@dataclass(frozen=True)
class RankRow:
    model_id: str
    rating: float
    ci_low: float
    ci_high: float
    votes: int
    wins: int
    losses: int
    ties: int
    rank: int = 0


@dataclass(frozen=True)
class PricedRow:
    model_id: str
    rating: float
    ci_low: float
    ci_high: float
    votes: int
    cost_per_s: float | None
    frontier: bool
    """No other model is at least as good for no more money (and better on one of the two)."""


def _vote_arrays(votes: Sequence[Vote], models: Sequence[str]) -> tuple[np.ndarray, ...]:
    index = {m: i for i, m in enumerate(models)}
    ia = np.array([index[v.model_a] for v in votes], dtype=int)
    ib = np.array([index[v.model_b] for v in votes], dtype=int)
    # A tie counts half a win for each side.
    wa = np.array([{"a": 1.0, "b": 0.0}.get(v.winner, 0.5) for v in votes])
    return ia, ib, wa, 1.0 - wa


def _tally(arrays: tuple[np.ndarray, ...], n: int, picks: np.ndarray | None = None) -> np.ndarray:
    """wins[i, j]: how often i beat j over the picked votes (all votes when `picks` is None)."""
    ia, ib, wa, wb = (a if picks is None else a[picks] for a in arrays)
    wins = np.zeros((n, n))
    np.add.at(wins, (ia, ib), wa)
    np.add.at(wins, (ib, ia), wb)
    return wins


def fit_strengths(wins: np.ndarray, *, prior: float = PRIOR_GAMES, iters: int = 10_000,
                  tol: float = 1e-12) -> np.ndarray:
    """Bradley–Terry maximum likelihood by Hunter's MM updates; strengths have geometric mean 1.

    With `prior` > 0 each model also plays `prior` games against a virtual opponent of strength 1,
    winning half of them: a weak pull to the average that keeps unbeaten models finite.
    """
    n = wins.shape[0]
    games = wins + wins.T
    won = wins.sum(axis=1) + prior / 2
    p = np.ones(n)
    for _ in range(iters):
        denom = (games / (p[:, None] + p[None, :])).sum(axis=1) + prior / (p + 1.0)
        new = np.where(denom > 0, won / np.where(denom > 0, denom, 1.0), p)
        new = np.maximum(new, 1e-300)
        new /= math.exp(float(np.mean(np.log(new))))
        if float(np.max(np.abs(np.log(new) - np.log(p)))) < tol:
            p = new
            break
        p = new
    return p


def to_rating(strengths: np.ndarray) -> np.ndarray:
    return BASE_RATING + 400.0 * np.log10(strengths / math.exp(float(np.mean(np.log(strengths)))))


def rank(votes: Sequence[Vote], *, prior: float = PRIOR_GAMES, samples: int = BOOTSTRAP_SAMPLES,
         seed: int = 0) -> list[RankRow]:
    """One row per model that received a vote, best first, with a 95 % bootstrap interval (votes resampled)."""
    if not votes:
        return []
    models = sorted({v.model_a for v in votes} | {v.model_b for v in votes})
    arrays = _vote_arrays(votes, models)
    wins = _tally(arrays, len(models))
    rating = to_rating(fit_strengths(wins, prior=prior))
    rng = np.random.default_rng(seed)
    boot = np.empty((samples, len(models)))
    for s in range(samples):
        picks = rng.integers(0, len(votes), len(votes))
        sample_wins = _tally(arrays, len(models), picks)
        boot[s] = to_rating(fit_strengths(sample_wins, prior=prior, iters=2000, tol=1e-9))
    low, high = (np.percentile(boot, [2.5, 97.5], axis=0) if samples else (rating, rating))
    rows = []
    for i, model in enumerate(models):
        mine = [v for v in votes if model in (v.model_a, v.model_b)]
        won = sum(1 for v in mine if v.winner_model == model)
        tied = sum(1 for v in mine if v.winner == "tie")
        rows.append(RankRow(model_id=model, rating=float(rating[i]), ci_low=float(min(low[i], rating[i])),
                            ci_high=float(max(high[i], rating[i])), votes=len(mine), wins=won,
                            losses=len(mine) - won - tied, ties=tied))
    rows.sort(key=lambda r: (-r.rating, r.model_id))
    return [RankRow(**{**asdict(r), "rank": i + 1}) for i, r in enumerate(rows)]


def price_view(rows: Sequence[RankRow], cost_per_s: Callable[[str], float | None]) -> list[PricedRow]:
    """Ratings against price per second of video, cheapest first, with the price/quality frontier marked."""
    priced = [(r, cost_per_s(r.model_id)) for r in rows]
    out = []
    for r, cost in priced:
        dominated = cost is not None and any(
            other_cost is not None and other.model_id != r.model_id and other.rating >= r.rating
            and other_cost <= cost and (other.rating > r.rating or other_cost < cost)
            for other, other_cost in priced)
        out.append(PricedRow(model_id=r.model_id, rating=r.rating, ci_low=r.ci_low, ci_high=r.ci_high,
                             votes=r.votes, cost_per_s=cost, frontier=cost is not None and not dominated))
    out.sort(key=lambda p: (p.cost_per_s is None, p.cost_per_s or 0.0, -p.rating))
    return out


def catalog_cost_per_s(catalog: Catalog, model_id: str) -> float | None:
    """Upper price of a default-length clip divided by its length: what a second of this model's video costs."""
    try:
        spec = catalog.get(model_id)
    except ValidationError:
        return None
    seconds = spec.durations.default
    return estimate(spec, seconds).high_usd / seconds if seconds else None


CSV_FIELDS = ("category", "rank", "model_id", "model", "rating", "ci_low", "ci_high", "votes", "wins", "losses",
              "ties", "cost_per_s_usd")


def to_csv(rows: Sequence[RankRow], *, category: str = "all", names: Callable[[str], str] | None = None,
           cost_per_s: Callable[[str], float | None] | None = None) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        cost = cost_per_s(r.model_id) if cost_per_s else None
        writer.writerow({"category": category, "rank": r.rank, "model_id": r.model_id,
                         "model": names(r.model_id) if names else r.model_id, "rating": f"{r.rating:.1f}",
                         "ci_low": f"{r.ci_low:.1f}", "ci_high": f"{r.ci_high:.1f}", "votes": r.votes,
                         "wins": r.wins, "losses": r.losses, "ties": r.ties,
                         "cost_per_s_usd": "" if cost is None else f"{cost:.4f}"})
    return buf.getvalue()
