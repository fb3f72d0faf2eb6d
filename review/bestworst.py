"""Best–worst votes: 3–4 synced clips of one prompt, the reviewer picks the best and the worst.

Schema: a row keeps the clips in the order shown (`jobs_json`, `models_json`) and the positions of the best and
worst clip. It is not a ranking of its own: it counts as its implied pairs (best over each other clip, each other
clip over worst; review/arena.py) in the same Bradley–Terry fit as the A/B votes. Same SQLite file as the
reviews (review.sqlite3), its own table, so the A/B vote table stays as it is.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jobs import settings
from jobs.ledger import Job
from jobs.store.migrate import Step, migrate
from jobs.store.open import open_database
from review.arena import BEST_WORST_SIZES, Ballot, best_worst_ballot, implied_pairs
from review.store import REVIEW_FILENAME, ReviewError, normalise_tags

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS best_worst_votes (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        reviewer TEXT NOT NULL DEFAULT '',
        jobs_json TEXT NOT NULL,
        models_json TEXT NOT NULL,
        best INTEGER NOT NULL,
        worst INTEGER NOT NULL,
        tags_json TEXT NOT NULL DEFAULT '[]',
        prompt TEXT NOT NULL DEFAULT '',
        CHECK (best != worst)
    )""",
    "CREATE INDEX IF NOT EXISTS best_worst_time ON best_worst_votes(created_at)",
)
STEPS = (Step(1, "tables of the first build", sql=_SCHEMA),)


class BestWorstStore:
    def __init__(self, target: str | Path) -> None:
        """`target`: a SQLite file, or the team's PostgreSQL URL (its tables sit beside the ledger's)."""
        self.db = open_database(target)
        migrate(self.db, "best_worst", STEPS)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> BestWorstStore:
        return cls(settings.database_url() or Path(data_dir) / REVIEW_FILENAME)

    def close(self) -> None:
        self.db.close()

    def add(self, jobs: Sequence[str], models: Sequence[str], best: int, worst: int, *, source: str = "",
            reviewer: str = "", tags: Iterable[str] = (), prompt: str = "", vote_id: str | None = None) -> Ballot:
        """Record one best–worst verdict (the same `vote_id` twice stores one vote)."""
        if len(jobs) != len(models):
            raise ReviewError(f"jobs: {len(jobs)} clips but {len(models)} models")
        if len(set(jobs)) != len(jobs):
            raise ReviewError("jobs: a clip appears twice")
        try:
            implied_pairs(models, best, worst)
        except ValueError as exc:
            raise ReviewError(str(exc)) from exc
        vote_id = vote_id or uuid.uuid4().hex
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO best_worst_votes(id, source, created_at, reviewer, jobs_json, models_json, "
                "best, worst, tags_json, prompt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (vote_id, source, time.time(), reviewer.strip()[:80], json.dumps(list(jobs)),
                 json.dumps(list(models)), int(best), int(worst), json.dumps(list(normalise_tags(tags))), prompt))
        stored = self.get(vote_id)
        assert stored is not None
        return stored

    def get(self, vote_id: str) -> Ballot | None:
        row = self.db.read().execute("SELECT * FROM best_worst_votes WHERE id = ?", (vote_id,)).fetchone()
        return _ballot(row) if row else None

    def ballots(self) -> list[Ballot]:
        rows = self.db.read().execute("SELECT * FROM best_worst_votes ORDER BY created_at, id").fetchall()
        return [_ballot(r) for r in rows]

    def tags(self) -> list[str]:
        found: set[str] = set()
        for row in self.db.read().execute("SELECT DISTINCT tags_json FROM best_worst_votes"):
            found.update(json.loads(row[0]))
        return sorted(found)


def _ballot(r: Any) -> Ballot:
    return best_worst_ballot(r["id"], json.loads(r["models_json"]), json.loads(r["jobs_json"]), r["best"],
                             r["worst"], tags=tuple(json.loads(r["tags_json"])), prompt=r["prompt"])


MAX_SETS = 20
"""Best–worst rounds per session: each is worth up to five pairs, so twenty say as much as a hundred A/B votes."""


def plan_sets(jobs: Sequence[Job], rng: random.Random, *, max_sets: int = MAX_SETS) -> list[tuple[str, ...]]:
    """Sets of 3–4 takes of one prompt, each from a different model, in random order; every take shows up
    at least once where the prompt has enough models (takes of one model rotate through the rounds)."""
    by_prompt: dict[str, dict[str, list[Job]]] = defaultdict(lambda: defaultdict(list))
    for job in sorted(jobs, key=lambda j: j.id):
        by_prompt[str(job.recipe.get("prompt") or "")][job.model_id].append(job)
    sets: list[tuple[str, ...]] = []
    for models in by_prompt.values():
        if len(models) < min(BEST_WORST_SIZES):
            continue
        for round_no in range(max(len(takes) for takes in models.values())):
            picked = rng.sample(sorted(models), min(max(BEST_WORST_SIZES), len(models)))
            chosen = [models[m][round_no % len(models[m])].id for m in picked]
            rng.shuffle(chosen)
            sets.append(tuple(chosen))
    rng.shuffle(sets)
    return sets[:max_sets]
