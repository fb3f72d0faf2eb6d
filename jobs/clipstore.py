"""Downloads a rendered clip safely (stream, cap, verify, atomic rename) and keeps it where Streamlit serves it."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import httpx

from jobs.probe import ProbeInfo, check_mp4, make_thumbnail, probe
from providers.errors import ErrorKind, ProviderError, TransientError

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
MIN_THROUGHPUT_BPS = 32 * 1024
THROUGHPUT_WINDOW_S = 60.0
"""A slow drip never trips a per-read timeout, so a window below 32 KiB/s for 60 s aborts the download."""

_REJECTED_TYPES = ("application/json", "application/xml", "application/problem+json")
_EXPIRED_STATUSES = (403, 404, 410)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


class StorageError(ProviderError):
    """The clip could not be written locally (disk full, permission). The rendered clip is still on the provider."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            kind=ErrorKind.DOWNLOAD_INVALID,
            advice="Free some disk space or fix the clips folder's permissions; the download can be retried.",
        )


@dataclass(frozen=True)
class ClipInfo:
    path: Path
    sha256: str
    size_bytes: int
    probe: ProbeInfo
    thumbnail_path: Path
    url: str
    thumb_url: str


class ClipStorage(Protocol):
    """Where verified clips live. The local folder is the first implementation; S3-compatible storage can follow."""

    def put(self, source: Path, name_hint: str) -> ClipInfo: ...

    def open(self, path: Path) -> BinaryIO: ...

    def url(self, path: Path) -> str: ...

    def delete(self, path: Path) -> None: ...


def _invalid(message: str) -> ProviderError:
    return ProviderError(message, kind=ErrorKind.DOWNLOAD_INVALID)


def _safe_hint(name_hint: str) -> str:
    return _SAFE_NAME.sub("-", name_hint).strip("-_")[:48] or "clip"


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _error_body_summary(response: httpx.Response, media_type: str) -> str:
    """The provider's own message from a JSON error body. XML and HTML bodies are not echoed: they can carry
    signatures."""
    if "json" not in media_type:
        return ""
    with contextlib.suppress(httpx.HTTPError, ValueError, UnicodeDecodeError):
        raw = b""
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) > 16 * 1024:
                return ""
        body = json.loads(raw)
        if isinstance(body, dict):
            err = body.get("error")
            msg = err.get("message") if isinstance(err, dict) else body.get("message") or err
            if isinstance(msg, str):
                return f": {msg[:200]}"
    return ""


class ClipStore:
    """The local clips folder: every clip in it is a complete, probed MP4 with a thumbnail and an unguessable name."""

    def __init__(
        self,
        root: Path,
        url_prefix: str = "/app/static/clips",
        max_bytes: int = 200 * 2**20,
        min_free_bytes: int = 100 * 2**20,
        *,
        deadline_s: float = 600.0,
    ) -> None:
        self.root = Path(root)
        self.url_prefix = url_prefix.rstrip("/")
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self.deadline_s = deadline_s
        self.root.mkdir(parents=True, exist_ok=True)

    # -- the storage interface -------------------------------------------------------------------------------

    def download(
        self, open_stream: Callable[[], AbstractContextManager[httpx.Response]], name_hint: str
    ) -> ClipInfo:
        """Stream a provider's result into the store. URL_EXPIRED from `open_stream` propagates untouched."""
        with open_stream() as response:
            self._check_response(response)
            declared = self._declared_length(response)
            self._check_space(declared)
            chunks = self._watched(response.iter_bytes(CHUNK_BYTES))
            return self._store(chunks, name_hint, lambda written: self._check_received(response, declared, written))

    def put(self, source: Path, name_hint: str) -> ClipInfo:
        """Copy a local file into the store through the same verification as a download."""
        size = os.path.getsize(source)
        if size > self.max_bytes:
            raise _invalid(f"the clip is {size} bytes, above the {self.max_bytes}-byte cap")
        self._check_space(size)

        def chunks() -> Iterator[bytes]:
            with open(source, "rb") as f:
                while block := f.read(CHUNK_BYTES):
                    yield block

        return self._store(chunks(), name_hint, lambda written: None)

    def open(self, path: Path) -> BinaryIO:
        return open(self._inside(path), "rb")

    def url(self, path: Path) -> str:
        return f"{self.url_prefix}/{self._inside(path).name}"

    def delete(self, path: Path) -> None:
        clip = self._inside(path)
        clip.unlink(missing_ok=True)
        self.thumbnail_for(clip).unlink(missing_ok=True)

    # -- helpers the runner uses -------------------------------------------------------------------------------

    def thumbnail_for(self, clip: Path) -> Path:
        return clip.with_suffix(".jpg")

    def verify(self, path: Path, sha256: str, size_bytes: int) -> bool:
        """A clip recorded in the ledger is still the one we verified (same size and hash)."""
        clip = self._inside(path)
        try:
            if clip.stat().st_size != size_bytes:
                return False
            digest = hashlib.sha256()
            with open(clip, "rb") as f:
                while block := f.read(CHUNK_BYTES):
                    digest.update(block)
        except FileNotFoundError:
            return False
        return digest.hexdigest() == sha256

    def sweep_partials(self, older_than_s: float = 3600.0) -> list[Path]:
        """Remove `.part` files left by a process that was killed mid-download."""
        cutoff = time.time() - older_than_s
        removed = []
        for part in self.root.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed.append(part)
        return removed

    # -- the pipeline ----------------------------------------------------------------------------------------------

    def _inside(self, path: Path) -> Path:
        resolved = Path(path).resolve()
        if resolved.parent != self.root.resolve():
            raise ValueError(f"path: {path} is not a clip in {self.root}")
        return resolved

    def _check_response(self, response: httpx.Response) -> None:
        status = response.status_code
        if status in _EXPIRED_STATUSES:
            raise ProviderError(f"the result link answered HTTP {status}", kind=ErrorKind.URL_EXPIRED,
                                status_code=status)
        if status == 429 or status >= 500:
            raise TransientError(f"the result link answered HTTP {status}", kind=ErrorKind.PROVIDER_OUTAGE,
                                 status_code=status)
        if status != 200:
            raise _invalid(f"the result link answered HTTP {status}, expected 200")
        media_type = _media_type(response)
        if media_type in _REJECTED_TYPES or media_type.endswith(("+json", "+xml")) or media_type.startswith("text/"):
            summary = _error_body_summary(response, media_type)
            raise _invalid(f"the result link returned {media_type} instead of a video{summary}")

    def _declared_length(self, response: httpx.Response) -> int | None:
        raw = response.headers.get("content-length")
        if raw is None:
            return None
        try:
            declared = int(raw)
        except ValueError:
            return None
        if declared < 0:
            return None
        if declared > self.max_bytes:
            raise _invalid(f"the clip is {declared} bytes, above the {self.max_bytes}-byte cap")
        return declared

    def _check_space(self, needed: int | None) -> None:
        free = shutil.disk_usage(self.root).free
        if free - (needed or 0) < self.min_free_bytes:
            raise StorageError(
                f"not enough disk space for the clip: {free // 2**20} MiB free, "
                f"{(needed or 0) // 2**20} MiB needed plus {self.min_free_bytes // 2**20} MiB kept free"
            )

    def _check_received(self, response: httpx.Response, declared: int | None, written: int) -> None:
        if declared is None:
            return
        # Content-Length counts wire bytes: a gzip-encoded body is compared by httpx's raw count, not what we wrote.
        encoded = response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")
        received = response.num_bytes_downloaded if encoded else written
        if received != declared:
            raise TransientError(
                f"download incomplete: {received} of {declared} bytes",
                kind=ErrorKind.DOWNLOAD_INVALID,
            )

    def _watched(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Chunks, with network errors as TransientError, an overall deadline and a throughput floor."""
        start = window_start = time.monotonic()
        window_bytes = 0
        try:
            for chunk in chunks:
                now = time.monotonic()
                if now - start > self.deadline_s:
                    raise TransientError(f"download took longer than {self.deadline_s:g} s", kind=ErrorKind.TIMEOUT)
                window_bytes += len(chunk)
                if now - window_start >= THROUGHPUT_WINDOW_S:
                    if window_bytes < MIN_THROUGHPUT_BPS * (now - window_start):
                        raise TransientError("download slower than 32 KiB/s for a minute", kind=ErrorKind.TIMEOUT)
                    window_start, window_bytes = now, 0
                yield chunk
        except httpx.DecodingError as e:
            raise _invalid(f"the download's content encoding could not be decoded: {e}") from e
        except httpx.TimeoutException as e:
            raise TransientError(f"download stalled: {type(e).__name__}", kind=ErrorKind.TIMEOUT) from e
        except httpx.TransportError as e:
            raise TransientError(f"download interrupted: {type(e).__name__}", kind=ErrorKind.PROVIDER_OUTAGE) from e

    def _store(self, chunks: Iterable[bytes], name_hint: str, after_body: Callable[[int], None]) -> ClipInfo:
        stem = f"{_safe_hint(name_hint)}_{secrets.token_urlsafe(16)}"
        final = self.root / f"{stem}.mp4"
        part = self.root / f"{stem}.mp4.part"
        thumb = self.thumbnail_for(final)
        committed = False
        try:
            digest, size = self._write_part(part, chunks)
            after_body(size)
            check_mp4(part)
            info = probe(part)
            make_thumbnail(part, thumb)
            os.replace(part, final)
            committed = True
        except OSError as e:
            raise StorageError(f"could not write the clip: {errno.errorcode.get(e.errno or 0, '')} {e.strerror}") from e
        finally:
            if not committed:
                part.unlink(missing_ok=True)
                thumb.unlink(missing_ok=True)
                final.unlink(missing_ok=True)
        try:
            self._fsync_dir()
        except OSError as e:
            # The clip is complete and renamed; only the rename's durability is in doubt, so keep it.
            log.warning("could not fsync %s: %s", self.root, e)
        return ClipInfo(
            path=final,
            sha256=digest,
            size_bytes=size,
            probe=info,
            thumbnail_path=thumb,
            url=self.url(final),
            thumb_url=self.url(thumb),
        )

    def _write_part(self, part: Path, chunks: Iterable[bytes]) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > self.max_bytes:
                    raise _invalid(f"the download passed the {self.max_bytes}-byte cap")
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if size == 0:
            raise _invalid("the download was empty")
        return digest.hexdigest(), size

    def _fsync_dir(self) -> None:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
