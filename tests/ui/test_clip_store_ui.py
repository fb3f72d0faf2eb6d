"""Settings and the sidebar say which clip store is in use (never a credential), and History plays a clip kept
in S3 from a presigned URL on the bucket (moto's server on loopback, the real boto3 client)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from ui_helpers import open_page, texts

from jobs import settings
from jobs.ledger import Ledger
from tests.jobs.jobs_helpers import orphan_part
from tests.review.review_helpers import finished_job
from tests.s3_helpers import ACCESS_KEY, SECRET_KEY, moto_endpoint, s3_env, s3_store

__all__ = ["moto_endpoint", "s3_env"]  # fixtures


def shown(at) -> str:
    return "\n".join(texts(at, "markdown") + texts(at, "caption"))


def test_the_local_folder_is_named_when_nothing_is_configured(empty_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAILIES_CLIP_STORE", raising=False)
    at = open_page("app_pages/settings.py")
    assert "Clips: local folder" in shown(at)
    assert f"- Clips: local folder `{settings.clips_dir()}`" in shown(at)  # Settings → Storage


def test_the_app_start_sweeps_the_part_of_a_download_killed_mid_way(empty_app) -> None:
    part = orphan_part(settings.clips_dir())
    open_page("app_pages/history.py")
    assert not part.exists()


def test_an_s3_clip_store_is_named_without_credentials_and_history_plays_from_the_bucket(
        empty_app, moto_endpoint: str, s3_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DAILIES_CLIP_STORE", f"s3://{s3_env}/team/clips")
    at = open_page("app_pages/settings.py")
    text = shown(at)
    assert f"Clips: S3 bucket `{s3_env}`" in text and f"- Clips: S3 bucket `{s3_env}`, prefix `team/clips/`" in text
    assert SECRET_KEY not in text and ACCESS_KEY not in text and moto_endpoint not in text

    empty_app.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_path())
    job = finished_job(ledger, s3_store(moto_endpoint, s3_env, tmp_path / "seed-staging"), "veo3.1-fast",
                       "a kite over the dunes", run_id="r1", work_dir=tmp_path, seconds=1.0)
    ledger.close()
    history = open_page("app_pages/history.py", query={"job": job.id})
    (video,) = history.get("video")
    url = urlsplit(video.url)
    assert f"{url.scheme}://{url.netloc}" == moto_endpoint and url.path == f"/{s3_env}/team/clips/{job.clip_path}"
    assert "X-Amz-Signature=" in url.query and SECRET_KEY not in video.url
    assert history.get("download_button")[0].label == "Download MP4"
    again = history.run()
    assert again.get("video")[0].url == video.url  # a rerun reuses the URL: the player does not reload


def test_a_clip_recorded_by_an_absolute_path_still_plays_downloads_and_deletes(
        empty_app, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Ledgers written before storage keys hold the clip's absolute path: read as a local file."""
    from ui_helpers import rerun

    from components.runtime import clips_url_prefix
    from jobs.clipstore import ClipStore

    monkeypatch.delenv("DAILIES_CLIP_STORE", raising=False)
    empty_app.mkdir(parents=True, exist_ok=True)
    clips = ClipStore(settings.clips_dir(), url_prefix=clips_url_prefix(settings.clips_dir()))
    ledger = Ledger(settings.ledger_path())
    job = finished_job(ledger, clips, "kling-v1-6", "an old take", run_id="old", work_dir=tmp_path, seconds=1.0)
    old_path = clips.path_of(job.clip_path)
    ledger.update(job.id, clip_path=str(old_path))  # what the ledger held before keys
    ledger.close()
    at = open_page("app_pages/history.py", query={"job": job.id})
    assert [v.url for v in at.get("video")] == [job.clip_url]
    assert at.get("download_button")[0].label == "Download MP4"
    at.checkbox(key=f"h_del_ok:{job.id}").check()
    rerun(at)
    at.button(key=f"h_del:{job.id}").click()
    rerun(at)
    assert not old_path.exists() and not old_path.with_suffix(".jpg").exists()
