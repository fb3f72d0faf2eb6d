"""The clip-store contract, run against the local folder and S3 (moto's server on loopback, the real boto3 client):
what goes in is a verified clip under a key, comes back byte for byte, has a thumbnail, plays from a URL,
copies by content hash, and leaves nothing behind when it is refused or deleted."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from jobs_helpers import encode_clip

from jobs.clipstore import ClipStore, StorageError, check_key, clip_url_of, open_clip_store, thumb_key_for
from jobs.clipstore_s3 import REFRESH_FRACTION, S3ClipStore, s3_store_from_env
from jobs.ledger import Job, JobState, Ledger
from providers.errors import ProviderError
from tests.s3_helpers import ACCESS_KEY, SECRET_KEY, client, moto_endpoint, objects, s3_env, s3_store

__all__ = ["moto_endpoint", "s3_env"]  # fixtures


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return encode_clip(tmp_path_factory.mktemp("c") / "c.mp4", audio=False).read_bytes()


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return ClipStore(tmp_path / "clips", url_prefix="/app/static/clips/t", max_bytes=2**20, min_free_bytes=0)
    bucket = request.getfixturevalue("s3_env")
    return s3_store(request.getfixturevalue("moto_endpoint"), bucket, tmp_path / "staging", max_bytes=2**20)


def kept(store: Any) -> list[str]:
    """Every clip and thumbnail the store holds (object names, or files in the folder)."""
    if isinstance(store, S3ClipStore):
        return [name.removeprefix(store.prefix) for name in objects(store)]
    return sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file())


def staged(store: Any) -> list[str]:
    return sorted(p.name for p in store.staging.glob("*.part"))


def body(store: Any, key: str) -> bytes:
    with store.open(key) as f:
        return f.read()


def serve(data: bytes) -> Any:
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"Content-Type": "video/mp4", "Content-Length": str(len(data))}, content=data))
    http = httpx.Client(transport=transport)
    return lambda headers: http.stream("GET", "https://cdn.example/clip.mp4", headers=headers)


def test_a_downloaded_clip_is_kept_under_a_key_with_its_thumbnail(store: Any, clip_bytes: bytes) -> None:
    info = store.download(serve(clip_bytes), "veo3.1-fast-1a2b")
    assert info.key.startswith("veo3-1-fast-1a2b_") and info.key.endswith(".mp4") and "/" not in info.key
    assert info.sha256 == hashlib.sha256(clip_bytes).hexdigest() and info.size_bytes == len(clip_bytes)
    assert body(store, info.key) == clip_bytes
    assert store.exists(info.key) and store.exists(info.thumb_key) and info.thumb_key == thumb_key_for(info.key)
    assert body(store, info.thumb_key)[:2] == b"\xff\xd8"  # a JPEG
    assert kept(store) == sorted([info.key, info.thumb_key]) and staged(store) == []
    assert store.verify(info.key, info.sha256, info.size_bytes)
    assert not store.verify(info.key, "0" * 64, info.size_bytes)
    where = store.location(info.key)  # what the CLI prints
    assert where == (f"s3://{store.bucket}/team/clips/{info.key}" if isinstance(store, S3ClipStore)
                     else str(store.root.resolve() / info.key))


def test_put_a_file_or_a_stream_goes_through_the_same_checks(store: Any, clip_bytes: bytes, tmp_path: Path) -> None:
    source = tmp_path / "in.mp4"
    source.write_bytes(clip_bytes)
    from_file = store.put(source, "file")
    from_stream = store.put_stream(io.BytesIO(clip_bytes), "stream")
    assert body(store, from_file.key) == body(store, from_stream.key) == clip_bytes
    with pytest.raises(ProviderError, match="not an MP4|moov|ftyp|box"):
        store.put_stream(io.BytesIO(b"<html>not a clip</html>" * 50), "page")
    assert len(kept(store)) == 4 and staged(store) == []  # the refused one left nothing, in the store or staging


def test_delete_removes_the_clip_and_its_thumbnail(store: Any, clip_bytes: bytes) -> None:
    info = store.put_stream(io.BytesIO(clip_bytes), "gone")
    store.delete(info.key)
    assert not store.exists(info.key) and not store.exists(info.thumb_key) and kept(store) == []
    with pytest.raises(FileNotFoundError):
        store.open(info.key)


def test_a_local_path_for_readers_that_need_a_file(store: Any, clip_bytes: bytes) -> None:
    info = store.put_stream(io.BytesIO(clip_bytes), "checked")
    with store.local_path(info.key) as path:
        assert path.read_bytes() == clip_bytes
    assert staged(store) == []  # a bucket's temporary copy is gone afterwards
    assert store.exists(info.key)


def test_a_copy_by_content_hash_shares_the_bytes(store: Any, clip_bytes: bytes) -> None:
    info = store.put_stream(io.BytesIO(clip_bytes), "blind")
    blind = f"review/{info.sha256}.mp4"
    assert not store.exists(blind)
    store.copy_as(info.key, blind)
    assert store.exists(blind) and body(store, blind) == clip_bytes
    assert blind in kept(store)


def test_unsafe_keys_are_refused(store: Any) -> None:
    for key in ("../escape.mp4", "a/../../b.mp4", "", "a//b.mp4", ".hidden.mp4", "with space.mp4"):
        with pytest.raises(ValueError, match="key"):
            store.exists(key)
        with pytest.raises(ValueError):
            check_key(key)


def test_an_old_ledgers_absolute_clip_path_still_opens(store: Any, clip_bytes: bytes, tmp_path: Path) -> None:
    folder = store.root if isinstance(store, ClipStore) else tmp_path / "old-clips"
    folder.mkdir(parents=True, exist_ok=True)
    old = folder / "sora-2-abc_OLDTOKEN.mp4"
    old.write_bytes(clip_bytes)
    assert store.exists(str(old)) and body(store, str(old)) == clip_bytes
    with store.local_path(str(old)) as path:
        assert path == old
    job = a_job(clip_path=str(old), clip_url="/app/static/clips/sora-2-abc_OLDTOKEN.mp4")
    assert clip_url_of(store, job) == job.clip_url  # what the old row recorded


def test_the_browser_url_of_a_job(store: Any, clip_bytes: bytes) -> None:
    info = store.put_stream(io.BytesIO(clip_bytes), "shown")
    job = a_job(clip_path=info.key, clip_url=info.url, thumb_url=info.thumb_url)
    url = clip_url_of(store, job)
    if isinstance(store, ClipStore):
        assert url == info.url == f"/app/static/clips/t/{info.key}"
        return
    assert info.url == f"s3://{store.bucket}/team/clips/{info.key}"  # the ledger's record, not a URL to expire
    # The presigned URL plays from the bucket itself, with Range for seeking, and carries no secret.
    assert url is not None and url.startswith(client_endpoint(store)) and SECRET_KEY not in url
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == clip_bytes
    part = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == clip_bytes[:100]
    assert clip_url_of(store, a_job(clip_path=None, clip_url=None)) is None


def a_job(**fields: Any) -> Job:
    base = {"id": "j", "run_id": "r", "take": 0, "model_id": "veo3.1-fast", "family": "veo", "backend": "sandbox",
            "base_url": "http://127.0.0.1:1", "key_fingerprint": None, "recipe_json": "{}",
            "state": JobState.DOWNLOADED}
    return Job(**{**base, **fields})


def client_endpoint(store: S3ClipStore) -> str:
    return str(store.client.meta.endpoint_url)


# -- S3 only -------------------------------------------------------------------------------------------------


def signed(url: str) -> tuple[dt.datetime, int]:
    query = parse_qs(urlsplit(url).query)
    issued = dt.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    return issued, int(query["X-Amz-Expires"][0])


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        import time

        return time.time() + self.offset


def test_a_presigned_url_is_reused_while_valid_and_reissued_before_it_runs_out(
        moto_endpoint: str, s3_env: str, tmp_path: Path, clip_bytes: bytes) -> None:
    clock = Clock()
    store = s3_store(moto_endpoint, s3_env, tmp_path / "staging", url_expiry_s=900, url_clock=clock)
    info = store.put_stream(io.BytesIO(clip_bytes), "signed")
    first = store.url(info.key)
    issued, expires = signed(first)
    assert expires == 900
    assert abs((dt.datetime.now(dt.UTC) - issued).total_seconds()) < 60
    # Reruns get the very same URL (players do not reload) until a quarter of its life is left...
    clock.offset = 900 * (1 - REFRESH_FRACTION) - 5
    assert store.url(info.key) == first and store.urls_issued == 1
    # ...then a fresh one, while the old one still has minutes to run for a page that holds it.
    clock.offset = 900 * (1 - REFRESH_FRACTION) + 5
    second = store.url(info.key)
    assert store.urls_issued == 2
    reissued, expires_again = signed(second)
    assert expires_again == 900 and reissued >= issued
    assert store.url(info.key) == second and store.urls_issued == 2
    assert httpx.get(second).content == clip_bytes


def test_a_public_origin_for_browsers_signs_urls_for_that_host(
        moto_endpoint: str, s3_env: str, tmp_path: Path, clip_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILIES_S3_PUBLIC_URL", "https://clips.example.test")
    monkeypatch.setenv("DAILIES_S3_URL_EXPIRY_S", "600")
    store = s3_store_from_env(f"s3://{s3_env}/team", tmp_path / "staging")
    info = store.put_stream(io.BytesIO(clip_bytes), "public")
    url = store.url(info.key)
    assert url.startswith(f"https://clips.example.test/{s3_env}/team/{info.key}?") and signed(url)[1] == 600
    assert client_endpoint(store) == moto_endpoint  # the server still talks to its own endpoint
    assert store.describe() == f"S3 bucket {s3_env}, prefix team/"
    assert SECRET_KEY not in store.describe() and ACCESS_KEY not in store.describe()


def test_a_large_clip_goes_up_in_parts(moto_endpoint: str, s3_env: str, tmp_path: Path, clip_bytes: bytes) -> None:
    store = s3_store(moto_endpoint, s3_env, tmp_path / "staging", multipart_threshold=1024, part_bytes=2048)
    info = store.put_stream(io.BytesIO(clip_bytes), "big")
    head = client(moto_endpoint).head_object(Bucket=s3_env, Key=store.object_name(info.key))
    parts = -(-len(clip_bytes) // 2048)
    assert parts >= 2 and head["ETag"].strip('"').endswith(f"-{parts}")  # S3's multipart ETag
    assert body(store, info.key) == clip_bytes


def test_a_bucket_that_refuses_the_put_is_a_storage_error_and_keeps_nothing(
        moto_endpoint: str, s3_env: str, tmp_path: Path, clip_bytes: bytes) -> None:
    store = s3_store(moto_endpoint, "no-such-bucket-dailies", tmp_path / "staging")
    with pytest.raises(StorageError, match="could not put the clip into bucket no-such-bucket-dailies"):
        store.put_stream(io.BytesIO(clip_bytes), "refused")
    assert staged(store) == [] and list(store.staging.iterdir()) == []


def test_the_clip_store_is_chosen_by_its_variable(moto_endpoint: str, s3_env: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAILIES_CLIP_STORE", raising=False)
    local = open_clip_store(tmp_path / "clips", "/app/static/clips", tmp_path / "staging")
    assert isinstance(local, ClipStore) and local.describe() == f"local folder {tmp_path / 'clips'}"
    monkeypatch.setenv("DAILIES_CLIP_STORE", f"s3://{s3_env}/a/b/")
    remote = open_clip_store(tmp_path / "clips", "/app/static/clips", tmp_path / "staging")
    assert isinstance(remote, S3ClipStore) and (remote.bucket, remote.prefix) == (s3_env, "a/b/")
    monkeypatch.setenv("DAILIES_CLIP_STORE", "gs://elsewhere")
    with pytest.raises(ValueError, match="DAILIES_CLIP_STORE: 'gs://elsewhere' is not s3://bucket/prefix"):
        open_clip_store(tmp_path / "clips", "/app/static/clips", tmp_path / "staging")
    monkeypatch.setenv("DAILIES_CLIP_STORE", f"s3://{s3_env}")
    monkeypatch.setenv("DAILIES_S3_URL_EXPIRY_S", "30")
    with pytest.raises(ValueError, match="DAILIES_S3_URL_EXPIRY_S: 30 is not between 60 and 604800"):
        open_clip_store(tmp_path / "clips", "/app/static/clips", tmp_path / "staging")


def test_a_signed_url_in_a_log_line_loses_its_signature(moto_endpoint: str, s3_env: str, tmp_path: Path,
                                                         clip_bytes: bytes) -> None:
    from providers.redact import redact

    store = s3_store(moto_endpoint, s3_env, tmp_path / "staging")
    url = store.url(store.put_stream(io.BytesIO(clip_bytes), "logged").key)
    line = redact(f"player src {url} failed")
    assert "X-Amz-Signature" not in line and "X-Amz-Credential" not in line and ACCESS_KEY not in line
    assert line.startswith(f"player src {url.split('?')[0]}?")


def test_a_blind_review_plays_content_hash_copies_from_the_store(store: Any, tmp_path: Path) -> None:
    from review.blind import blind_key, start_review
    from review.store import ReviewStore
    from tests.review.review_helpers import finished_job

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    reviews = ReviewStore(tmp_path / "review.sqlite3")
    try:
        jobs = [finished_job(ledger, store, m, "a kite", run_id="r", work_dir=tmp_path, seconds=1.0)
                for m in ("veo3.1-fast", "kling-v1-6")]
        review = start_review(reviews, jobs, store, name="r", seed=1)
    finally:
        reviews.close()
        ledger.close()
    for job in jobs:
        sha = review.clips[job.id]
        assert sha == job.clip_sha256 and body(store, blind_key(sha)) == body(store, job.clip_path)
        url = store.url(blind_key(sha))
        assert job.model_id.split(".")[0] not in url.split("?")[0].rsplit("/", 1)[-1]  # the name says nothing
        if isinstance(store, S3ClipStore):
            assert httpx.get(url).content == body(store, job.clip_path)
