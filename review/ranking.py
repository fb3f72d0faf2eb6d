"""Pooled votes into a ranking per model: Bradley–Terry strengths (MM iterations), bootstrap intervals, price view.

A tie counts as half a win for each side; a best–worst vote counts as its implied pairs (review/arena.py).
Strengths are shown on an Elo-like scale (1000 + 400·log10(strength / geometric mean)), so 400 points means
10:1 odds of winning.

As the public leaderboards do: a model needs MIN_VOTES votes before it gets a rank at all, is marked
"preliminary" below PRELIMINARY_VOTES, and models are sorted by the lower end of their interval (a model
must be reliably good to be on top). A rank is 1 + the number of models clearly better (whose interval lies
wholly above this one's), so models whose intervals overlap share a rank. Fits are cached by a hash of the
vote set: rerunning the page on the same votes does not refit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from providers.catalog import Catalog
from providers.errors import ValidationError
from providers.pricing import estimate
from review.arena import Ballot, as_ballot
from review.store import Vote

PRIOR_GAMES = 1.0
"""Each model plays one virtual game (a win and a loss, half each way) against an average opponent.
Without it a model that won every vote has an infinite strength and no interval."""
BOOTSTRAP_SAMPLES = 200
BASE_RATING = 1000.0
MIN_VOTES = 3
"""Below this many votes a model is listed without a rank: one or two verdicts say nothing."""
PRELIMINARY_VOTES = 10
"""Below this many votes a rank is shown but marked preliminary (its interval is still wide)."""
FIT_CACHE_SIZE = 64
RANKED, PRELIMINARY, TOO_FEW = "ranked", "preliminary", "too few votes"


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
    """0 for a model with fewer than MIN_VOTES votes (listed, not ranked)."""
    status: str = RANKED  # ranked, preliminary or "too few votes"


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


def _vote_arrays(ballots: Sequence[Ballot], models: Sequence[str]) -> tuple[np.ndarray, ...]:
    """Every implied pair as (i, j, i's score, j's score, index of its ballot)."""
    index = {m: i for i, m in enumerate(models)}
    rows = [(index[x], index[y], score, n) for n, b in enumerate(ballots) for x, y, score in b.pairs]
    ia, ib, wa, unit = (np.array(col) for col in zip(*rows, strict=True)) if rows else (np.zeros(0),) * 4
    return ia.astype(int), ib.astype(int), wa.astype(float), 1.0 - wa.astype(float), unit.astype(int)


def _tally(arrays: tuple[np.ndarray, ...], n: int, picks: np.ndarray | None = None) -> np.ndarray:
    """wins[i, j]: how often i beat j over the picked ballots (all when `picks` is None; a ballot picked twice
    counts twice, with all its pairs)."""
    ia, ib, wa, wb, unit = arrays
    weight = np.ones(len(ia)) if picks is None else np.bincount(picks, minlength=int(unit.max()) + 1)[unit]
    wins = np.zeros((n, n))
    np.add.at(wins, (ia, ib), wa * weight)
    np.add.at(wins, (ib, ia), wb * weight)
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


_FITS: OrderedDict[str, list[RankRow]] = OrderedDict()
_FITS_LOCK = threading.Lock()


def vote_set_hash(ballots: Sequence[Ballot], *params: object) -> str:
    digest = hashlib.sha256(repr(params).encode())
    for key in sorted(repr(b.key()) for b in ballots):
        digest.update(key.encode())
    return digest.hexdigest()


def rank(votes: Sequence[Vote | Ballot], *, prior: float = PRIOR_GAMES, samples: int = BOOTSTRAP_SAMPLES,
         seed: int = 0) -> list[RankRow]:
    """One row per model that received a vote, with a 95 % bootstrap interval (ballots resampled): ranked
    models first, by their interval's lower bound, then models with too few votes (unranked)."""
    ballots = [as_ballot(v) for v in votes]
    if not ballots:
        return []
    key = vote_set_hash(ballots, prior, samples, seed)
    with _FITS_LOCK:  # every browser session's thread shares the cache
        if key in _FITS:
            _FITS.move_to_end(key)
            return list(_FITS[key])
    rows = _fit_rows(ballots, prior, samples, seed)
    with _FITS_LOCK:
        _FITS[key] = rows
        while len(_FITS) > FIT_CACHE_SIZE:
            _FITS.popitem(last=False)
    return list(rows)


def _fit_rows(ballots: list[Ballot], prior: float, samples: int, seed: int) -> list[RankRow]:
    models = sorted({m for b in ballots for m in b.models})
    arrays = _vote_arrays(ballots, models)
    wins = _tally(arrays, len(models))
    rating = to_rating(fit_strengths(wins, prior=prior))
    rng = np.random.default_rng(seed)
    boot = np.empty((samples, len(models)))
    for s in range(samples):
        picks = rng.integers(0, len(ballots), len(ballots))
        boot[s] = to_rating(fit_strengths(_tally(arrays, len(models), picks), prior=prior, iters=2000, tol=1e-9))
    low, high = (np.percentile(boot, [2.5, 97.5], axis=0) if samples else (rating, rating))
    rows = []
    for i, model in enumerate(models):
        ballots_in = sum(1 for b in ballots if model in b.models)
        scores = [score if x == model else 1.0 - score for b in ballots for x, y, score in b.pairs
                  if model in (x, y)]
        won, tied = sum(1 for s in scores if s == 1.0), sum(1 for s in scores if s == 0.5)
        status = TOO_FEW if ballots_in < MIN_VOTES else PRELIMINARY if ballots_in < PRELIMINARY_VOTES else RANKED
        rows.append(RankRow(model_id=model, rating=float(rating[i]), ci_low=float(min(low[i], rating[i])),
                            ci_high=float(max(high[i], rating[i])), votes=ballots_in, wins=won,
                            losses=len(scores) - won - tied, ties=tied, status=status))
    return order_rows(rows)


def order_rows(rows: Sequence[RankRow]) -> list[RankRow]:
    """Ranked (and preliminary) rows by lower bound, sharing a rank while intervals overlap; then the rest."""
    shown = sorted((r for r in rows if r.status != TOO_FEW), key=lambda r: (-r.ci_low, -r.rating, r.model_id))
    unranked = sorted((r for r in rows if r.status == TOO_FEW), key=lambda r: (-r.votes, -r.rating, r.model_id))
    out = [RankRow(**{**asdict(r), "rank": 1 + sum(1 for o in shown if o.ci_low > r.ci_high)}) for r in shown]
    return out + [RankRow(**{**asdict(r), "rank": 0}) for r in unranked]


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
              "ties", "cost_per_s_usd", "status")


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
                         "cost_per_s_usd": "" if cost is None else f"{cost:.4f}", "status": r.status})
    return buf.getvalue()
