"""Blind pairs: clips copied under their content hash and shown in shuffled order, so nothing names the model.

Clip file names carry a model hint and provider task ids have family-specific formats, so a review
never serves the original file: it serves `review/<sha256>.mp4` in the clip store, a copy named by its bytes.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from jobs.clipstore import ClipStorage, sha256_of
from jobs.ledger import Job, JobState
from review.store import Review, ReviewError, ReviewStore

REVIEW_SUBDIR = "review"
MAX_PAIRS = 60
"""Enough verdicts for a ranking from one session; more pairs tire reviewers and they start clicking."""
LABELS = ("A", "B")


@dataclass(frozen=True)
class BlindClip:
    sha256: str
    key: str
    url: str


def blind_key(sha256: str) -> str:
    return f"{REVIEW_SUBDIR}/{sha256}.mp4"


def blind_copy(clips: ClipStorage, source_key: str, sha256: str | None = None) -> BlindClip:
    """Copy a clip to `review/<sha256>.mp4` in the clip store (once; identical bytes share one copy).

    `sha256` is the hash the download verified (the ledger's); the bytes are hashed again only without one.
    """
    if not sha256:
        with clips.open(source_key) as f:
            sha256 = sha256_of(f)[0]
    key = blind_key(sha256)
    if not clips.exists(key):
        clips.copy_as(source_key, key)  # the store copies then renames: a reviewer never gets half a file
    return BlindClip(sha256=sha256, key=key, url=clips.url(key))


def reviewable(jobs: Sequence[Job], clips: ClipStorage) -> list[Job]:
    """Takes whose clip is in the clip store: the only ones a reviewer can watch."""
    return [j for j in jobs if j.state == JobState.DOWNLOADED and j.clip_path and clips.exists(j.clip_path)]


def prompt_of(job: Job) -> str:
    return str(job.recipe.get("prompt") or "")


def plan_pairs(jobs: Sequence[Job], rng: random.Random, *, max_pairs: int = MAX_PAIRS) -> list[tuple[str, str]]:
    """Every pair of takes of the same prompt from two different models, in random order and random sides.

    Takes of the same model are never paired: such a vote says nothing about which model to ship.
    """
    by_prompt: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        by_prompt[prompt_of(job)].append(job)
    pairs: list[tuple[str, str]] = []
    for group in by_prompt.values():
        for a, b in itertools.combinations(sorted(group, key=lambda j: j.id), 2):
            if a.model_id != b.model_id:
                pairs.append((a.id, b.id) if rng.random() < 0.5 else (b.id, a.id))
    rng.shuffle(pairs)
    return pairs[:max_pairs]


def models_in(jobs: Sequence[Job]) -> int:
    return len({j.model_id for j in jobs})


def start_review(store: ReviewStore, jobs: Sequence[Job], clips: ClipStorage, *, name: str,
                 tags: Sequence[str] = (), sources: Sequence[str] = (), seed: int | None = None) -> Review:
    """Copy each reviewable take under its content hash and store a shuffled pair plan."""
    ready = reviewable(jobs, clips)
    if models_in(ready) < 2:
        raise ReviewError("boards: a review needs finished takes from at least two different models")
    rng = random.Random(seed)
    pairs = plan_pairs(ready, rng)
    if not pairs:
        raise ReviewError("boards: no two takes of the same prompt come from different models")
    used = {j for pair in pairs for j in pair}
    copies = {job.id: blind_copy(clips, job.clip_path or "", job.clip_sha256).sha256 for job in ready if job.id in used}
    return store.create_review(name, pairs, copies, tags=tags, sources=sources)
