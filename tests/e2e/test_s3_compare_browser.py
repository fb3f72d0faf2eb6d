"""End to end with the clips in S3: the app (its own process, `DAILIES_CLIP_STORE` set) hands Compare's synced
player presigned URLs on the bucket (moto's server on loopback), the browser fetches the clips from the bucket
directly, never through the app, and two of them play in sync. The bucket's origin is the one other host the
page may reach."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from app_process import running_app
from browser_guard import guarded_page
from compare_seed import ROOT, TIME_SCALE, seed_three_takes
from sync_players import READ_ALL, play_and_check_sync

from tests.s3_helpers import ACCESS_KEY, REGION, SECRET_KEY, client, moto_endpoint, s3_store

__all__ = ["moto_endpoint"]  # a fixture

pytestmark = pytest.mark.e2e

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
PLAYER = "iframe[title='Synchronised player']"
TAKES = (("veo3.1-fast", 4), ("kling-v1-6", 5))


@pytest.fixture(scope="module")
def s3_app(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(app base URL, run id, bucket) of an app whose clip store is a bucket holding a seeded two-take run."""
    bucket = f"e2e-{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION,
                            "DAILIES_CLIP_STORE": f"s3://{bucket}/team"}.items():
            env.setenv(name, value)
        client(moto_endpoint).create_bucket(Bucket=bucket)
        data_dir = tmp_path_factory.mktemp("e2e-s3")
        clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
        store = s3_store(moto_endpoint, bucket, data_dir / "seed-staging", prefix="team")
        run = seed_three_takes(data_dir, clips_dir, TAKES, clips=store)
        with running_app(data_dir, clips_dir, TIME_SCALE) as base:
            yield base, run, bucket


def test_compare_plays_two_clips_from_the_bucket_in_sync(s3_app, moto_endpoint: str, browser,
                                                         tmp_path: Path) -> None:
    base, run, bucket = s3_app
    page, guard = guarded_page(browser, base, height=1200, also=(moto_endpoint,))
    page.goto(f"{base}/compare?run={run}")
    page.wait_for_selector(READY, timeout=60_000)
    frame = page.wait_for_selector(PLAYER, timeout=30_000).content_frame()
    assert frame is not None
    frame.wait_for_function("() => { const v = [...document.querySelectorAll('video.sync')];"
                            " return v.length === 2 && v.every(x => x.readyState >= 3); }", timeout=30_000)
    before = frame.evaluate(READ_ALL)
    for video in before:
        src = urlsplit(video["src"])
        assert f"{src.scheme}://{src.netloc}" == moto_endpoint and src.path.startswith(f"/{bucket}/team/")
        assert "X-Amz-Signature=" in src.query and SECRET_KEY not in video["src"]
    play_and_check_sync(frame)
    page.screenshot(path=str(tmp_path / "compare-s3.png"), full_page=True)
    page.screenshot(path=str(tmp_path / "s3-compare.png"))
    assert guard.blocked == []  # nothing but the app and the bucket
    page.close()
