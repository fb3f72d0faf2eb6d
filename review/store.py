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
from jobs.store.migrate import Step, migrate
from jobs.store.open import open_database

REVIEW_FILENAME = "review.sqlite3"
WINNERS = ("a", "b", "tie")
REASONS = ("motion", "prompt adherence", "artefacts", "audio")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS reviews (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        tags_json TEXT NOT NULL DEFAULT '[]',
        pairs_json TEXT NOT NULL,
        clips_json TEXT NOT NULL,
        sources_json TEXT NOT NULL DEFAULT '[]'
    )""",
    """CREATE TABLE IF NOT EXISTS votes (
        id TEXT PRIMARY KEY,
        review_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        reviewer TEXT NOT NULL DEFAULT '',
        job_a TEXT NOT NULL,
        job_b TEXT NOT NULL,
        model_a TEXT NOT NULL,
        model_b TEXT NOT NULL,
        winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
        reasons_json TEXT NOT NULL DEFAULT '[]',
        tags_json TEXT NOT NULL DEFAULT '[]',
        prompt TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS votes_review ON votes(review_id)",
    "CREATE INDEX IF NOT EXISTS votes_time ON votes(created_at)",
)
STEPS = (Step(1, "tables of the first build", sql=_SCHEMA),)


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

    @property
    def winner_model(self) -> str | None:
        return {"a": self.model_a, "b": self.model_b}.get(self.winner)


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Lower-case, trimmed, unique, sorted: "Product " and "product" are one category."""
    return tuple(sorted({t.strip().lower() for t in tags if t and t.strip()}))


class ReviewStore:
    def __init__(self, target: str | Path) -> None:
        """`target`: a SQLite file, or the team's PostgreSQL URL (its tables sit beside the ledger's)."""
        self.db = open_database(target)
        migrate(self.db, "reviews", STEPS)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> ReviewStore:
        return cls(settings.database_url() or Path(data_dir) / REVIEW_FILENAME)

    def close(self) -> None:
        self.db.close()

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
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO reviews(id, name, created_at, tags_json, pairs_json, clips_json, sources_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (review.id, review.name, review.created_at, json.dumps(list(review.tags)),
                 json.dumps([list(p) for p in review.pairs]), json.dumps(review.clips, sort_keys=True),
                 json.dumps(list(review.sources))))
        return review

    def get_review(self, review_id: str) -> Review | None:
        row = self.db.read().execute("SELECT * FROM reviews WHERE id = ?", (review_id,)).fetchone()
        return _row_to_review(row) if row else None

    def list_reviews(self) -> list[Review]:
        rows = self.db.read().execute("SELECT * FROM reviews ORDER BY created_at DESC").fetchall()
        return [_row_to_review(r) for r in rows]

    # --- votes -------------------------------------------------------------------------------------

    def add_vote(self, review_id: str, job_a: str, job_b: str, model_a: str, model_b: str, winner: str, *,
                 reasons: Iterable[str] = (), reviewer: str = "", tags: Iterable[str] | None = None,
                 prompt: str = "", vote_id: str | None = None) -> Vote:
        """Record one verdict. The same `vote_id` twice (a double click) stores one vote."""
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
        vote = Vote(id=vote_id or uuid.uuid4().hex, review_id=review_id, created_at=time.time(),
                    reviewer=reviewer.strip()[:80], job_a=job_a, job_b=job_b, model_a=model_a, model_b=model_b,
                    winner=winner, reasons=tuple(r for r in REASONS if r in reasons),
                    tags=normalise_tags(review.tags if tags is None else tags), prompt=prompt)
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO votes(id, review_id, created_at, reviewer, job_a, job_b, model_a, model_b, "
                "winner, reasons_json, tags_json, prompt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (vote.id, vote.review_id, vote.created_at, vote.reviewer, vote.job_a, vote.job_b, vote.model_a,
                 vote.model_b, vote.winner, json.dumps(list(vote.reasons)), json.dumps(list(vote.tags)),
                 vote.prompt))
        stored = self.get_vote(vote.id)
        assert stored is not None
        return stored

    def get_vote(self, vote_id: str) -> Vote | None:
        row = self.db.read().execute("SELECT * FROM votes WHERE id = ?", (vote_id,)).fetchone()
        return _row_to_vote(row) if row else None

    def votes(self, *, review_id: str | None = None, tag: str | None = None,
              job_ids: Iterable[str] | None = None) -> list[Vote]:
        """Votes oldest first; `tag` keeps one category, `job_ids` keeps votes on those clips only."""
        sql, params = "SELECT * FROM votes", []
        if review_id is not None:
            sql += " WHERE review_id = ?"
            params.append(review_id)
        rows = self.db.read().execute(sql + " ORDER BY created_at, id", params).fetchall()
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
        for row in self.db.read().execute("SELECT DISTINCT tags_json FROM votes"):
            found.update(json.loads(row[0]))
        return sorted(found)

    def voted_pairs(self, review_id: str, reviewer: str) -> set[tuple[str, str]]:
        """Pairs this reviewer already judged in this review (either order)."""
        rows = self.db.read().execute("SELECT job_a, job_b FROM votes WHERE review_id = ? AND reviewer = ?",
                                      (review_id, reviewer.strip()[:80])).fetchall()
        return {(min(r[0], r[1]), max(r[0], r[1])) for r in rows}


def _row_to_review(r: Any) -> Review:
    return Review(id=r["id"], name=r["name"], created_at=r["created_at"], tags=tuple(json.loads(r["tags_json"])),
                  pairs=tuple((a, b) for a, b in json.loads(r["pairs_json"])), clips=json.loads(r["clips_json"]),
                  sources=tuple(json.loads(r["sources_json"])))


def _row_to_vote(r: Any) -> Vote:
    return Vote(id=r["id"], review_id=r["review_id"], created_at=r["created_at"], reviewer=r["reviewer"],
                job_a=r["job_a"], job_b=r["job_b"], model_a=r["model_a"], model_b=r["model_b"], winner=r["winner"],
                reasons=tuple(json.loads(r["reasons_json"])), tags=tuple(json.loads(r["tags_json"])),
                prompt=r["prompt"])
