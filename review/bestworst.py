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
from jobs.store.tables import Tables
from jobs.store.team_schema import BEST_WORST_COLUMNS, BEST_WORST_STEPS
from review.arena import BEST_WORST_SIZES, Ballot, best_worst_ballot, implied_pairs
from review.store import REVIEW_FILENAME, ReviewError, normalise_tags


class BestWorstStore:
    def __init__(self, target: str | Path) -> None:
        """`target`: a SQLite file, or the team's PostgreSQL URL (its tables sit beside the ledger's)."""
        self.tables = Tables(target, [("best_worst", BEST_WORST_STEPS)], BEST_WORST_COLUMNS)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> BestWorstStore:
        return cls(settings.database_url() or Path(data_dir) / REVIEW_FILENAME)

    def close(self) -> None:
        self.tables.close()

    def add(self, jobs: Sequence[str], models: Sequence[str], best: int, worst: int, *, source: str = "",
            reviewer: str = "", tags: Iterable[str] = (), prompt: str = "", vote_id: str | None = None,
            voter: str | None = None) -> Ballot:
        """Record one best–worst verdict (the same `vote_id` twice stores one vote). With a `voter` (the signed-in
        person), their second verdict on the same set of clips, in any order, replaces the first."""
        if len(jobs) != len(models):
            raise ReviewError(f"jobs: {len(jobs)} clips but {len(models)} models")
        if len(set(jobs)) != len(jobs):
            raise ReviewError("jobs: a clip appears twice")
        try:
            implied_pairs(models, best, worst)
        except ValueError as exc:
            raise ReviewError(str(exc)) from exc
        set_key = "|".join(sorted(jobs)) if voter else None
        if voter:
            earlier = self.tables.first("best_worst_votes", voter=voter, set_key=set_key)
            vote_id = earlier["id"] if earlier is not None else vote_id
        vote_id = vote_id or uuid.uuid4().hex
        row = {"id": vote_id, "source": source, "created_at": time.time(), "reviewer": reviewer.strip()[:80],
               "jobs_json": json.dumps(list(jobs)), "models_json": json.dumps(list(models)), "best": int(best),
               "worst": int(worst), "tags_json": json.dumps(list(normalise_tags(tags))), "prompt": prompt}
        if voter:
            self.tables.insert("best_worst_votes", {**row, "voter": voter, "set_key": set_key},
                               key=("voter", "set_key"), replace=True)
            # By the person's set, not by id: a verdict from another tab at the same moment may have replaced it.
            found = self.tables.first("best_worst_votes", voter=voter, set_key=set_key)
        else:
            self.tables.insert("best_worst_votes", row)
            found = self.tables.first("best_worst_votes", id=vote_id)
        assert found is not None
        return _ballot(found)

    def get(self, vote_id: str) -> Ballot | None:
        row = self.tables.first("best_worst_votes", id=vote_id)
        return _ballot(row) if row else None

    def ballots(self) -> list[Ballot]:
        rows = self.tables.find("best_worst_votes", order_by=("created_at", "id"))
        return [_ballot(r) for r in rows]

    def tags(self) -> list[str]:
        found: set[str] = set()
        for tags_json in self.tables.distinct("best_worst_votes", "tags_json"):
            found.update(json.loads(tags_json))
        return sorted(found)


def _ballot(r: Any) -> Ballot:
    return best_worst_ballot(r["id"], json.loads(r["models_json"]), json.loads(r["jobs_json"]), r["best"],
                             r["worst"], tags=tuple(json.loads(r["tags_json"])), prompt=r["prompt"],
                             voter=r["voter"])


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
