"""Blind pairs: clips copied under their content hash and shown in shuffled order, so nothing names the model.

Clip file names carry a model hint and provider task ids have family-specific formats, so a review
never serves the original file: it serves `<clips>/review/<sha256>.mp4`, a copy named by its bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jobs.ledger import Job, JobState
from review.store import Review, ReviewError, ReviewStore

REVIEW_SUBDIR = "review"
MAX_PAIRS = 60
"""Enough verdicts for a ranking from one session; more pairs tire reviewers and they start clicking."""
LABELS = ("A", "B")


@dataclass(frozen=True)
class BlindClip:
    sha256: str
    path: Path
    url: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(256 * 1024):
            digest.update(block)
    return digest.hexdigest()


def blind_path(clips_root: Path, sha256: str) -> Path:
    return Path(clips_root) / REVIEW_SUBDIR / f"{sha256}.mp4"


def blind_url(url_prefix: str, sha256: str) -> str:
    return f"{url_prefix.rstrip('/')}/{REVIEW_SUBDIR}/{sha256}.mp4"


def blind_copy(source: Path, clips_root: Path, url_prefix: str) -> BlindClip:
    """Copy a clip to `<clips_root>/review/<sha256>.mp4` (once; identical bytes share one file)."""
    sha = sha256_of(source)
    dest = blind_path(clips_root, sha)
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Copy then rename: a reviewer never gets a half-written file.
        fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return BlindClip(sha256=sha, path=dest, url=blind_url(url_prefix, sha))


def reviewable(jobs: Sequence[Job]) -> list[Job]:
    """Takes with a clip on disk: the only ones a reviewer can watch."""
    return [j for j in jobs if j.state == JobState.DOWNLOADED and j.clip_path and Path(j.clip_path).is_file()]


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


def start_review(store: ReviewStore, jobs: Sequence[Job], clips_root: Path, url_prefix: str, *, name: str,
                 tags: Sequence[str] = (), sources: Sequence[str] = (), seed: int | None = None) -> Review:
    """Copy each reviewable take under its content hash and store a shuffled pair plan."""
    ready = reviewable(jobs)
    if models_in(ready) < 2:
        raise ReviewError("boards: a review needs finished takes from at least two different models")
    rng = random.Random(seed)
    pairs = plan_pairs(ready, rng)
    if not pairs:
        raise ReviewError("boards: no two takes of the same prompt come from different models")
    used = {j for pair in pairs for j in pair}
    clips = {job.id: blind_copy(Path(job.clip_path or ""), clips_root, url_prefix).sha256
             for job in ready if job.id in used}
    return store.create_review(name, pairs, clips, tags=tags, sources=sources)
