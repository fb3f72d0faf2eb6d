"""What the Bradley–Terry fit sees of a vote (a ballot of pairs), best–worst ballots, and the arena's pools.

Two kinds of vote feed one fit:

* an A/B vote is one pair (a tie is half a win each way);
* a best–worst vote on 3–4 synced clips of one prompt counts as its implied pairs: the best clip over each
  other clip, and each other clip over the worst (best over worst once). Four clips give five pairs; three
  clips give the full order (three pairs). Nothing is said about the two middle clips of four, so no pair
  between them is invented.

A ballot is resampled as a whole in the bootstrap, so a best–worst vote is never split.

Pools (as the public arenas keep them): text-to-video and image-to-video apart, and with and without audio as
measured on the delivered file, so a model is only compared with models doing the same job. A ballot belongs
to a pool when all its clips do. A ballot of clips with sound against silent ones counts in the no-audio pool
(a picture comparison, as the public arenas rank audio models without sound); a ballot mixing image-to-video
and text-to-video clips counts in no pool and is reported as left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from jobs.ledger import Job
from review.store import Vote

BEST_WORST_SIZES = (3, 4)


@dataclass(frozen=True)
class Ballot:
    id: str
    pairs: tuple[tuple[str, str, float], ...]
    """(model x, model y, x's score: 1 won, 0.5 tie, 0 lost)."""
    jobs: tuple[str, ...]
    tags: tuple[str, ...] = ()
    prompt: str = ""
    kind: str = "pair"  # "pair" or "best_worst"
    voter: str | None = None
    """The signed-in person who cast it (None with no sign-in): Rankings' "only my votes"."""

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m for x, y, _ in self.pairs for m in (x, y)))

    def key(self) -> tuple[object, ...]:
        return (self.id, self.pairs)


def pair_ballot(vote: Vote) -> Ballot:
    score = {"a": 1.0, "b": 0.0}.get(vote.winner, 0.5)
    return Ballot(vote.id, ((vote.model_a, vote.model_b, score),), (vote.job_a, vote.job_b), vote.tags, vote.prompt,
                  voter=vote.voter)


def implied_pairs(models: Sequence[str], best: int, worst: int) -> tuple[tuple[str, str, float], ...]:
    """Best over every other clip, then every middle clip over worst."""
    if len(models) not in BEST_WORST_SIZES:
        raise ValueError(f"clips: a best–worst vote needs {' or '.join(map(str, BEST_WORST_SIZES))} clips, "
                         f"got {len(models)}")
    if len(set(models)) != len(models):
        raise ValueError("clips: a best–worst vote compares different models; a model appears twice")
    if best == worst or not (0 <= best < len(models) and 0 <= worst < len(models)):
        raise ValueError(f"best, worst: two different clip positions in 0..{len(models) - 1}, got {best}, {worst}")
    pairs = [(models[best], models[i], 1.0) for i in range(len(models)) if i != best]
    pairs += [(models[i], models[worst], 1.0) for i in range(len(models)) if i not in (best, worst)]
    return tuple(pairs)


def best_worst_ballot(vote_id: str, models: Sequence[str], jobs: Sequence[str], best: int, worst: int, *,
                      tags: Iterable[str] = (), prompt: str = "", voter: str | None = None) -> Ballot:
    return Ballot(vote_id, implied_pairs(models, best, worst), tuple(jobs), tuple(tags), prompt, "best_worst",
                  voter)


def as_ballot(vote: Vote | Ballot) -> Ballot:
    return vote if isinstance(vote, Ballot) else pair_ballot(vote)


# --- pools ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pool:
    kind: str  # "t2v" or "i2v"
    audio: bool

    @property
    def label(self) -> str:
        what = "Text to video" if self.kind == "t2v" else "Image to video"
        return f"{what} · {'with audio' if self.audio else 'no audio'}"


POOLS = (Pool("t2v", False), Pool("t2v", True), Pool("i2v", False), Pool("i2v", True))


def pool_of_job(job: Job) -> Pool:
    """Image-to-video when the recipe carried a first frame; audio as the probe found it on the file."""
    recipe = job.recipe
    kind = "i2v" if recipe.get("first_frame") else "t2v"
    probe = job.clip_meta.get("probe") or {}
    return Pool(kind, bool(probe.get("has_audio")))


def ballot_pool(ballot: Ballot, pool_of: Callable[[str], Pool | None]) -> Pool | None:
    """The pool of the ballot's clips, or None (a clip unknown, or text-to-video against image-to-video).

    Clips with sound against silent ones count in the no-audio pool of their kind, as a picture comparison
    (the public arenas rank audio models in the no-audio pool with the sound left out; the blind player
    starts muted)."""
    pools = {pool_of(job_id) for job_id in ballot.jobs}
    if None in pools or len({p.kind for p in pools if p is not None}) != 1:
        return None
    if len(pools) == 1:
        return next(iter(pools))
    kind = next(p.kind for p in pools if p is not None)
    return None if kind == UNKNOWN_POOL.kind else Pool(kind, False)


def split_pools(ballots: Sequence[Ballot], pool_of: Callable[[str], Pool | None]
                ) -> tuple[dict[Pool, list[Ballot]], list[Ballot]]:
    """Ballots per pool, and the ones that fit no single pool."""
    pools: dict[Pool, list[Ballot]] = {}
    left_out: list[Ballot] = []
    for ballot in ballots:
        pool = ballot_pool(ballot, pool_of)
        if pool is None:
            left_out.append(ballot)
        else:
            pools.setdefault(pool, []).append(ballot)
    return pools, left_out


def select(ballots: Sequence[Ballot], *, tag: str | None = None, prompt: str | None = None) -> list[Ballot]:
    """One category (a vote's tag) and/or one prompt."""
    wanted = tag.strip().lower() if tag else None
    return [b for b in ballots if (wanted is None or wanted in b.tags) and (prompt is None or b.prompt == prompt)]


UNKNOWN_POOL = Pool("unknown", False)
"""Clips the ledger no longer has (deleted, or another deployment's): their votes are kept together, apart."""


def ledger_pools(jobs: Iterable[Job], ballots: Sequence[Ballot]) -> Callable[[str], Pool]:
    """pool_of for split_pools: each voted clip's pool from its ledger row, UNKNOWN_POOL when it has none."""
    known = {job.id: pool_of_job(job) for job in jobs}
    return lambda job_id: known.get(job_id, UNKNOWN_POOL)


def pool_label(pool: Pool) -> str:
    return "Clips no longer in the ledger" if pool == UNKNOWN_POOL else pool.label
