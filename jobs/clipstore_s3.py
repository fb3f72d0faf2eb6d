"""Clips in S3-compatible storage (AWS S3, Cloudflare R2, MinIO), for team deployments whose disks are wiped.

boto3 rather than obstore: it is the client every S3-compatible service documents and tests against, it
reads the standard `AWS_*` variables and credential chain by itself, and its SigV4 presigning is
synchronous and local (no request per URL), which suits a Streamlit rerun. moto's server speaks to it
over real HTTP in the tests.

A download is staged and verified locally exactly as for the local folder, and only a verified clip is
put (multipart above `multipart_threshold`). Browsers play from presigned GET URLs, never through the app:
a URL is reused while most of its life is left (so reruns do not reload players or miss the browser
cache) and re-issued once a quarter of it remains, so a page holding the old one still plays.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from jobs.clipstore import (
    MIN_THROUGHPUT_BPS,
    THROUGHPUT_WINDOW_S,
    Key,
    StorageError,
    VerifiedStore,
    _part_owner,
    check_key,
    legacy_path,
    thumb_key_for,
)
from providers.redact import get_logger

log = get_logger(__name__)

MIN_EXPIRY_S, MAX_EXPIRY_S = 60, 7 * 24 * 3600
"""SigV4 presigned URLs live at most 7 days; under a minute a slow page load could outlive its URL."""
REFRESH_FRACTION = 0.25
"""A URL is re-issued once this share of its life is left."""
MIN_PART_BYTES = 5 * 2**20
"""S3's smallest multipart part (all but the last)."""


@dataclass(frozen=True)
class _Issued:
    url: str
    refresh_at: float


def _client_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _missing(error: BaseException) -> bool:
    code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def make_client(endpoint_url: str | None, region: str | None) -> Any:
    """A boto3 S3 client; credentials come from boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ...)."""
    import boto3
    from botocore.config import Config

    # A custom endpoint (MinIO, R2, a proxy, moto) takes the bucket in the path: its host is not per-bucket.
    style = {"addressing_style": "path"} if endpoint_url else {}
    config = Config(signature_version="s3v4", s3=style, retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=10, read_timeout=60)
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                                          config=config)


class S3ClipStore(VerifiedStore):
    kind = "s3"
    signs_urls = True

    def __init__(self, bucket: str, prefix: str = "", *, staging: Path, client: Any,
                 presign_client: Any | None = None, url_expiry_s: int = 3600,
                 multipart_threshold: int = 16 * 2**20, part_bytes: int = 8 * 2**20,
                 url_clock: Callable[[], float] = time.time, max_bytes: int = 200 * 2**20,
                 min_free_bytes: int = 100 * 2**20, deadline_s: float = 600.0,
                 clock: Callable[[], float] = time.monotonic, min_throughput_bps: float = MIN_THROUGHPUT_BPS,
                 throughput_window_s: float = THROUGHPUT_WINDOW_S) -> None:
        super().__init__(staging, max_bytes=max_bytes, min_free_bytes=min_free_bytes, deadline_s=deadline_s,
                         clock=clock, min_throughput_bps=min_throughput_bps, throughput_window_s=throughput_window_s)
        if not MIN_EXPIRY_S <= url_expiry_s <= MAX_EXPIRY_S:
            raise ValueError(f"DAILIES_S3_URL_EXPIRY_S: {url_expiry_s} is not between {MIN_EXPIRY_S} and "
                             f"{MAX_EXPIRY_S} seconds")
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.client = client
        self.presign_client = presign_client or client
        self.url_expiry_s = url_expiry_s
        self.multipart_threshold = multipart_threshold
        self.part_bytes = part_bytes
        self._url_clock = url_clock
        self._urls: dict[str, _Issued] = {}
        self._urls_lock = threading.Lock()
        self.urls_issued = 0
        """How many URLs were signed (a cached one reused is not counted)."""
        self._present: set[str] = set()
        """Objects seen to exist: keys carry a random token and are never overwritten, so pages listing many
        takes (Review's boards) ask the bucket once per clip, not once per rerun. Our own delete forgets them."""

    # -- the storage interface -------------------------------------------------------------------------------

    def open(self, key: Key) -> BinaryIO:
        local = legacy_path(key)
        if local is not None:
            return open(local, "rb")
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.object_name(key))["Body"]
        except _client_errors() as e:
            if _missing(e):
                raise FileNotFoundError(f"no clip {key} in bucket {self.bucket}") from e
            raise StorageError(f"could not read clip {key} from bucket {self.bucket}: {type(e).__name__}") from e
        return body  # botocore's StreamingBody is an IOBase: read() and `with` both work

    def url(self, key: Key) -> str:
        """A presigned GET URL for the browser, reused while most of its life is left."""
        name = self.object_name(key)
        now = self._url_clock()
        with self._urls_lock:
            issued = self._urls.get(name)
            if issued is not None and now < issued.refresh_at:
                return issued.url
            url = self.presign_client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": name}, ExpiresIn=self.url_expiry_s)
            self._urls[name] = _Issued(url, now + self.url_expiry_s * (1 - REFRESH_FRACTION))
            self.urls_issued += 1
            return url

    def stable_url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_name(key)}"

    def delete(self, key: Key) -> None:
        local = legacy_path(key)
        if local is not None:
            raise ValueError(f"path: {key} is a local clip from before the bucket; the S3 store does not delete it")
        names = [self.object_name(key)]
        if names[0].endswith(".mp4"):
            names.append(thumb_key_for(names[0]))
        try:
            for name in names:
                self.client.delete_object(Bucket=self.bucket, Key=name)
        except _client_errors() as e:
            raise StorageError(f"could not delete clip {key} from bucket {self.bucket}: {type(e).__name__}") from e
        with self._urls_lock:
            for name in names:
                self._urls.pop(name, None)
                self._present.discard(name)

    def exists(self, key: Key) -> bool:
        local = legacy_path(key)
        if local is not None:
            return local.is_file()
        name = self.object_name(key)
        if name in self._present:
            return True
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except _client_errors() as e:
            if _missing(e):
                return False
            raise StorageError(f"could not look up clip {key} in bucket {self.bucket}: {type(e).__name__}") from e
        with self._urls_lock:
            self._present.add(name)
        return True

    @contextlib.contextmanager
    def local_path(self, key: Key) -> Iterator[Path]:
        """A local file with the clip's bytes (a temporary copy), for readers that need a path (the checks)."""
        local = legacy_path(key)
        if local is not None:
            yield local
            return
        tmp = self.staging / f"read-{check_key(key).replace('/', '_')}.{_part_owner()}.part"
        try:
            with self.open(key) as body, open(tmp, "wb") as out:
                while block := body.read(256 * 1024):
                    out.write(block)
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def copy_as(self, key: Key, dest_key: str) -> None:
        """Server-side copy (review copies by content hash): no bytes pass through the app."""
        dest = self.object_name(dest_key)
        local = legacy_path(key)
        try:
            if local is not None:
                self.client.upload_file(str(local), self.bucket, dest, ExtraArgs={"ContentType": "video/mp4"})
            else:
                self.client.copy_object(Bucket=self.bucket, Key=dest,
                                        CopySource={"Bucket": self.bucket, "Key": self.object_name(key)})
        except _client_errors() as e:
            raise StorageError(f"could not copy clip {key} in bucket {self.bucket}: {type(e).__name__}") from e

    def owns(self, key: Key | None) -> bool:
        return bool(key) and legacy_path(key or "") is None

    def describe(self) -> str:
        return f"S3 bucket {self.bucket}" + (f", prefix {self.prefix}" if self.prefix else "")

    def location(self, key: Key) -> str:
        return str(key) if legacy_path(key) is not None else self.stable_url(str(key))

    # -- helpers -----------------------------------------------------------------------------------------------

    def import_file(self, path: Path, key: str) -> None:
        """Put a file that is already verified (a local clips folder moving here) under its own key."""
        kind = "image/jpeg" if key.endswith(".jpg") else "video/mp4"
        try:
            self._upload(path, self.object_name(key), kind)
        except _client_errors() as e:
            raise StorageError(f"could not put {key} into bucket {self.bucket}: {type(e).__name__}: {e}") from e

    def object_name(self, key: Key) -> str:
        return self.prefix + check_key(key)

    def _commit(self, part: Path, thumb: Path, key: str) -> None:
        """The thumbnail first, then the clip: a clip that exists always has its thumbnail."""
        try:
            self._upload(thumb, self.object_name(thumb_key_for(key)), "image/jpeg")
            self._upload(part, self.object_name(key), "video/mp4")
        except _client_errors() as e:
            raise StorageError(f"could not put the clip into bucket {self.bucket}: {type(e).__name__}: {e}") from e
        finally:
            thumb.unlink(missing_ok=True)

    def _abandon(self, key: str) -> None:
        with contextlib.suppress(*_client_errors()):
            self.client.delete_object(Bucket=self.bucket, Key=self.object_name(thumb_key_for(key)))

    def _upload(self, path: Path, name: str, content_type: str) -> None:
        size = path.stat().st_size
        if size <= self.multipart_threshold:
            with open(path, "rb") as f:
                self.client.put_object(Bucket=self.bucket, Key=name, Body=f, ContentType=content_type)
            return
        # Our own multipart loop (not s3transfer's): one part in memory at a time, and a failed upload is aborted.
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=name,
                                                        ContentType=content_type)["UploadId"]
        try:
            parts = []
            with open(path, "rb") as f:
                number = 1
                while block := f.read(self.part_bytes):
                    answer = self.client.upload_part(Bucket=self.bucket, Key=name, UploadId=upload_id,
                                                     PartNumber=number, Body=block)
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                    number += 1
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts})
        except BaseException:
            with contextlib.suppress(*_client_errors()):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
            raise


def s3_store_from_env(target: str, staging: Path) -> S3ClipStore:
    """The store named by `DAILIES_CLIP_STORE` (`s3://bucket/prefix`), with `AWS_ENDPOINT_URL`, `AWS_REGION`,
    `DAILIES_S3_PUBLIC_URL` (the origin browsers use) and `DAILIES_S3_URL_EXPIRY_S`. Credentials stay in boto3."""
    found = urlsplit(target)
    if found.scheme != "s3" or not found.netloc:
        raise ValueError(f"DAILIES_CLIP_STORE: {target!r} is not s3://bucket/prefix (or leave it unset for the "
                         "local folder)")
    raw_expiry = os.environ.get("DAILIES_S3_URL_EXPIRY_S", "").strip() or "3600"
    try:
        expiry = int(raw_expiry)
    except ValueError:
        raise ValueError(f"DAILIES_S3_URL_EXPIRY_S: {raw_expiry!r} is not a whole number of seconds between "
                         f"{MIN_EXPIRY_S} and {MAX_EXPIRY_S}") from None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3", "").strip() or os.environ.get("AWS_ENDPOINT_URL", "").strip()
    region = os.environ.get("AWS_REGION", "").strip() or os.environ.get("AWS_DEFAULT_REGION", "").strip() or None
    public = os.environ.get("DAILIES_S3_PUBLIC_URL", "").strip()
    client = make_client(endpoint or None, region)
    presign = make_client(public, region) if public else None
    return S3ClipStore(found.netloc, found.path, staging=staging, client=client, presign_client=presign,
                       url_expiry_s=expiry)
