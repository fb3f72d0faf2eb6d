"""Pair planning and content-hash copies: only cross-model pairs of one prompt, files named by their bytes."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from jobs.clipstore import ClipStore
from jobs.ledger import Ledger
from review.blind import blind_copy, plan_pairs, start_review
from review.store import ReviewError, ReviewStore
from tests.review.review_helpers import finished_job


@pytest.fixture
def env(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    yield ledger, ClipStore(tmp_path / "clips", url_prefix="/app/static/clips/t"), tmp_path
    ledger.close()


def test_pairs_cross_models_within_one_prompt_in_random_order(env) -> None:
    ledger, clips, tmp = env
    jobs = [finished_job(ledger, clips, m, p, run_id=p, take=t, work_dir=tmp, seconds=1.0)
            for p in ("kite", "plane") for m, t in (("veo3.1-fast", 0), ("veo3.1-fast", 1), ("kling-v1-6", 0))]
    pairs = plan_pairs(jobs, random.Random(7))
    by_id = {j.id: j for j in jobs}
    assert len(pairs) == 4, "per prompt: two Veo takes x one Kling take"
    for a, b in pairs:
        assert by_id[a].model_id != by_id[b].model_id
        assert by_id[a].recipe["prompt"] == by_id[b].recipe["prompt"]
    assert plan_pairs(jobs, random.Random(7)) == pairs, "a seed reproduces the plan"
    orders = {tuple(plan_pairs(jobs, random.Random(s))) for s in range(10)}
    assert len(orders) > 1, "order and sides are shuffled"
    sides = {by_id[a].model_id for s in range(10) for a, _ in plan_pairs(jobs, random.Random(s))}
    assert sides == {"veo3.1-fast", "kling-v1-6"}, "either model can be clip A"


def test_blind_copy_is_named_by_content_and_made_once(env) -> None:
    ledger, clips, tmp = env
    job = finished_job(ledger, clips, "kling-v1-6", "kite", run_id="r", work_dir=tmp, seconds=1.0)
    first = blind_copy(clips, job.clip_path)
    sha = hashlib.sha256(clips.path_of(job.clip_path).read_bytes()).hexdigest()
    assert first.sha256 == sha == job.clip_sha256
    copy = clips.root / "review" / f"{sha}.mp4"
    assert first.key == f"review/{sha}.mp4" and copy.read_bytes() == clips.path_of(job.clip_path).read_bytes()
    assert first.url == f"/app/static/clips/t/review/{sha}.mp4"
    mtime = copy.stat().st_mtime_ns
    assert blind_copy(clips, job.clip_path, job.clip_sha256) == first
    assert copy.stat().st_mtime_ns == mtime
    assert not list((clips.root / "review").glob("*.part"))


def test_a_review_needs_two_models(env) -> None:
    ledger, clips, tmp = env
    store = ReviewStore(tmp / "review.sqlite3")
    jobs = [finished_job(ledger, clips, "kling-v1-6", "kite", run_id="r", take=t, work_dir=tmp, seconds=1.0)
            for t in range(2)]
    with pytest.raises(ReviewError, match="at least two different models"):
        start_review(store, jobs, clips, name="r")
    store.close()
