"""The engine downloads a sandbox take into S3 (moto's server on loopback, the real boto3 client): the job's
ledger row holds the storage key, the bucket holds the verified bytes and thumbnail, nothing is left in
staging, and the technical checks read the clip back from the bucket."""

from __future__ import annotations

import hashlib
from pathlib import Path

from jobs_helpers import downloads, run_one, wait_state

from jobs.clipstore import clip_url_of, thumb_key_for
from jobs.ledger import JobState
from tests.s3_helpers import moto_endpoint, objects, s3_env, s3_store

__all__ = ["moto_endpoint", "s3_env"]  # fixtures

ENDED = {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED, JobState.STALE}


def test_a_sandbox_take_lands_verified_in_the_bucket(make_sandbox, make_runner, moto_endpoint: str, s3_env: str,
                                                     tmp_path: Path) -> None:
    server = make_sandbox(render_times={"*": (1, 2)})
    served = Path(server.config.prerendered_clip).read_bytes()
    store = s3_store(moto_endpoint, s3_env, tmp_path / "staging")
    runner = make_runner(clips=store, check_clips=True)
    job = wait_state(runner, run_one(runner, server, "kling-v1-6"), ENDED, timeout=20)
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert len(downloads(server)) == 1
    key = job.clip_path
    assert key and not key.startswith("/") and job.clip_url == f"s3://{s3_env}/team/clips/{key}"
    assert objects(store) == sorted([f"team/clips/{key}", f"team/clips/{thumb_key_for(key)}"])
    with store.open(key) as f:
        assert f.read() == served
    assert job.clip_sha256 == hashlib.sha256(served).hexdigest()
    # The download's own .part is gone; the checks may still be reading their copy (read-*.part) right now.
    assert [p.name for p in store.staging.iterdir() if not p.name.startswith("read-")] == []
    assert clip_url_of(store, job).startswith(f"{moto_endpoint}/{s3_env}/team/clips/{key}?")
    # The checks ran on a temporary local copy of the bucket's clip, and cleaned it up.
    assert runner.wait_for(lambda: runner.ledger.get(job.id).flags_json is not None, 20)
    assert list(store.staging.iterdir()) == []


def test_a_bucket_that_refuses_the_put_keeps_the_take_waiting_until_it_accepts(
        make_sandbox, make_runner, moto_endpoint: str, s3_env: str, tmp_path: Path) -> None:
    from tests.s3_helpers import client

    server = make_sandbox(render_times={"*": (1, 2)})
    late = f"{s3_env}-late"  # not created yet: every put is refused with NoSuchBucket
    store = s3_store(moto_endpoint, late, tmp_path / "staging")
    runner = make_runner(clips=store)
    job_id = run_one(runner, server, "kling-v1-6")
    assert runner.wait_for(lambda: "could not put the clip into bucket" in (runner.ledger.get(job_id).error_message
                                                                            or ""), 20)
    assert runner.ledger.get(job_id).state == JobState.SUCCEEDED  # billed at the provider, not lost
    client(moto_endpoint).create_bucket(Bucket=late)
    job = wait_state(runner, job_id, ENDED, timeout=30)
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert len(downloads(server)) >= 2 and objects(store) == sorted(
        [f"team/clips/{job.clip_path}", f"team/clips/{thumb_key_for(job.clip_path)}"])
    assert list(store.staging.iterdir()) == []  # the refused attempts left nothing behind
