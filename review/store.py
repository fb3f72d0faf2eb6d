"""Reviews and votes in their own SQLite file, so every reviewer of a deployment adds to one shared pool."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs import settings
from jobs.store.tables import Tables
from jobs.store.team_schema import REVIEW_COLUMNS, REVIEW_STEPS

REVIEW_FILENAME = "review.sqlite3"
WINNERS = ("a", "b", "tie")
REASONS = ("motion", "prompt adherence", "artefacts", "audio")



class ReviewError(ValueError):
    """A review or vote the store refuses; the message names the field and the allowed values."""


@dataclass(frozen=True)
class Review:
    id: str
    name: str
    created_at: float
    tags: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    """Job ids in the order shown: the first is clip A, the second clip B."""
    clips: dict[str, str] = field(hash=False)
    """job id -> sha256 of its content (the blind file name)."""
    sources: tuple[str, ...] = ()
    """Board or run ids the review was started from."""


@dataclass(frozen=True)
class Vote:
    id: str
    review_id: str
    created_at: float
    reviewer: str
    job_a: str
    job_b: str
    model_a: str
    model_b: str
    winner: str
    reasons: tuple[str, ...]
    tags: tuple[str, ...]
    prompt: str
    voter: str | None = None
    """The signed-in person who cast it (None with no sign-in): one vote per person per pair of a review."""

    @property
    def winner_model(self) -> str | None:
        return {"a": self.model_a, "b": self.model_b}.get(self.winner)


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Lower-case, trimmed, unique, sorted: "Product " and "product" are one category."""
    return tuple(sorted({t.strip().lower() for t in tags if t and t.strip()}))


class ReviewStore:
    def __init__(self, target: str | Path) -> None:
        """`target`: a SQLite file, or the team's PostgreSQL URL (its tables sit beside the ledger's)."""
        self.tables = Tables(target, [("reviews", REVIEW_STEPS)], REVIEW_COLUMNS)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> ReviewStore:
        return cls(settings.database_url() or Path(data_dir) / REVIEW_FILENAME)

    def close(self) -> None:
        self.tables.close()

    # --- reviews -----------------------------------------------------------------------------------

    def create_review(self, name: str, pairs: Sequence[tuple[str, str]], clips: dict[str, str], *,
                      tags: Iterable[str] = (), sources: Iterable[str] = ()) -> Review:
        if not name.strip():
            raise ReviewError("name: give the review a name")
        if not pairs:
            raise ReviewError("pairs: a review needs at least one pair of clips from two different models")
        missing = sorted({j for pair in pairs for j in pair} - set(clips))
        if missing:
            raise ReviewError(f"clips: no blind copy for job(s) {', '.join(missing)}")
        review = Review(id=uuid.uuid4().hex, name=name.strip(), created_at=time.time(), tags=normalise_tags(tags),
                        pairs=tuple((a, b) for a, b in pairs), clips=dict(clips), sources=tuple(sources))
        self.tables.insert("reviews", {
            "id": review.id, "name": review.name, "created_at": review.created_at,
            "tags_json": json.dumps(list(review.tags)), "pairs_json": json.dumps([list(p) for p in review.pairs]),
            "clips_json": json.dumps(review.clips, sort_keys=True), "sources_json": json.dumps(list(review.sources))})
        return review

    def get_review(self, review_id: str) -> Review | None:
        row = self.tables.first("reviews", id=review_id)
        return _row_to_review(row) if row else None

    def list_reviews(self) -> list[Review]:
        return [_row_to_review(r) for r in self.tables.find("reviews", order_by=("-created_at",))]

    # --- votes -------------------------------------------------------------------------------------

    def add_vote(self, review_id: str, job_a: str, job_b: str, model_a: str, model_b: str, winner: str, *,
                 reasons: Iterable[str] = (), reviewer: str = "", tags: Iterable[str] | None = None,
                 prompt: str = "", vote_id: str | None = None, voter: str | None = None) -> Vote:
        """Record one verdict. The same `vote_id` twice (a double click) stores one vote. With a `voter` (the
        signed-in person), their second verdict on the same pair of the review replaces the first (the unique
        index on review, voter and pair makes it so even from two tabs at once)."""
        if winner not in WINNERS:
            raise ReviewError(f"winner: {winner!r} is not one of {', '.join(WINNERS)}")
        reasons = tuple(reasons)
        unknown = [r for r in reasons if r not in REASONS]
        if unknown:
            raise ReviewError(f"reasons: {', '.join(map(repr, unknown))} not allowed; use {', '.join(REASONS)}")
        if job_a == job_b:
            raise ReviewError("job_b: a clip cannot be voted against itself")
        review = self.get_review(review_id)
        if review is None:
            raise ReviewError(f"review_id: no review {review_id!r}")
        pair_key = f"{min(job_a, job_b)}|{max(job_a, job_b)}" if voter else None
        if voter:
            earlier = self.tables.first("votes", review_id=review_id, voter=voter, pair_key=pair_key)
            vote_id = earlier["id"] if earlier is not None else vote_id
        vote = Vote(id=vote_id or uuid.uuid4().hex, review_id=review_id, created_at=time.time(),
                    reviewer=reviewer.strip()[:80], job_a=job_a, job_b=job_b, model_a=model_a, model_b=model_b,
                    winner=winner, reasons=tuple(r for r in REASONS if r in reasons),
                    tags=normalise_tags(review.tags if tags is None else tags), prompt=prompt, voter=voter)
        row = {
            "id": vote.id, "review_id": vote.review_id, "created_at": vote.created_at, "reviewer": vote.reviewer,
            "job_a": vote.job_a, "job_b": vote.job_b, "model_a": vote.model_a, "model_b": vote.model_b,
            "winner": vote.winner, "reasons_json": json.dumps(list(vote.reasons)),
            "tags_json": json.dumps(list(vote.tags)), "prompt": vote.prompt}
        if voter:
            self.tables.insert("votes", {**row, "voter": voter, "pair_key": pair_key},
                               key=("review_id", "voter", "pair_key"), replace=True)
            # Read back by the person's pair, not by id: another tab's verdict at the same moment may have
            # replaced this row, id and all, and that one is the vote that counts.
            found = self.tables.first("votes", review_id=review_id, voter=voter, pair_key=pair_key)
        else:
            self.tables.insert("votes", row)
            found = self.tables.first("votes", id=vote.id)
        assert found is not None
        return _row_to_vote(found)

    def get_vote(self, vote_id: str) -> Vote | None:
        row = self.tables.first("votes", id=vote_id)
        return _row_to_vote(row) if row else None

    def votes(self, *, review_id: str | None = None, tag: str | None = None,
              job_ids: Iterable[str] | None = None) -> list[Vote]:
        """Votes oldest first; `tag` keeps one category, `job_ids` keeps votes on those clips only."""
        where = {} if review_id is None else {"review_id": review_id}
        rows = self.tables.find("votes", order_by=("created_at", "id"), **where)
        out = [_row_to_vote(r) for r in rows]
        if tag:
            wanted = tag.strip().lower()
            out = [v for v in out if wanted in v.tags]
        if job_ids is not None:
            keep = set(job_ids)
            out = [v for v in out if v.job_a in keep and v.job_b in keep]
        return out

    def tags(self) -> list[str]:
        """Every category a vote was cast under."""
        found: set[str] = set()
        for tags_json in self.tables.distinct("votes", "tags_json"):
            found.update(json.loads(tags_json))
        return sorted(found)

    def voted_pairs(self, review_id: str, reviewer: str) -> set[tuple[str, str]]:
        """Pairs this reviewer already judged in this review (either order)."""
        rows = self.tables.find("votes", review_id=review_id, reviewer=reviewer.strip()[:80])
        return {(min(r["job_a"], r["job_b"]), max(r["job_a"], r["job_b"])) for r in rows}


def _row_to_review(r: Any) -> Review:
    return Review(id=r["id"], name=r["name"], created_at=r["created_at"], tags=tuple(json.loads(r["tags_json"])),
                  pairs=tuple((a, b) for a, b in json.loads(r["pairs_json"])), clips=json.loads(r["clips_json"]),
                  sources=tuple(json.loads(r["sources_json"])))


def _row_to_vote(r: Any) -> Vote:
    return Vote(id=r["id"], review_id=r["review_id"], created_at=r["created_at"], reviewer=r["reviewer"],
                job_a=r["job_a"], job_b=r["job_b"], model_a=r["model_a"], model_b=r["model_b"], winner=r["winner"],
                reasons=tuple(json.loads(r["reasons_json"])), tags=tuple(json.loads(r["tags_json"])),
                prompt=r["prompt"], voter=r["voter"])
