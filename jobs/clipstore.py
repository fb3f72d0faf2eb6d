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
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
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
MAX_REOPENS = 3
"""A body broken off mid-stream is resumed with Range (or restarted) at most this many times per download."""

Opener = Callable[[Mapping[str, str]], AbstractContextManager[httpx.Response]]
"""Opens the result URL with extra request headers (a Range when resuming) and yields the streaming response."""

_REJECTED_TYPES = ("application/json", "application/xml", "application/problem+json")
_EXPIRED_STATUSES = (403, 404, 410)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_CONTENT_RANGE = re.compile(r"^bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)$", re.IGNORECASE)


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


def _encoded(response: httpx.Response) -> bool:
    return response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")


def _content_range(response: httpx.Response) -> tuple[int | None, int | None]:
    """(first byte, whole size) from `Content-Range: bytes a-b/size` or `bytes */size`; None where absent."""
    found = _CONTENT_RANGE.match(response.headers.get("content-range", "").strip())
    if found is None:
        return None, None
    start, _end, total = found.groups()
    return (int(start) if start else None), (int(total) if total and total != "*" else None)


def _validator(response: httpx.Response) -> str | None:
    """A strong ETag, else Last-Modified: If-Range accepts nothing weaker."""
    etag = response.headers.get("etag", "").strip()
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("last-modified", "").strip() or None


class _BrokenOff(Exception):
    """The body stopped early; what arrived is intact, so the rest may be fetched with Range."""

    def __init__(self, error: TransientError) -> None:
        super().__init__(error.message)
        self.error = error


class _Restart(Exception):
    """The server's answer to a Range cannot be appended to the .part: fetch the whole file again."""


class _Watchdog:
    """The overall deadline and the throughput floor, kept across every response of one download."""

    def __init__(self, clock: Callable[[], float], deadline_s: float, *, min_bps: float = MIN_THROUGHPUT_BPS,
                 window_s: float = THROUGHPUT_WINDOW_S) -> None:
        self.clock, self.deadline_s = clock, deadline_s
        self.min_bps, self.window_s = min_bps, window_s
        self.start = self.window_start = clock()
        self.window_bytes = 0

    def check_deadline(self) -> float:
        now = self.clock()
        if now - self.start > self.deadline_s:
            raise TransientError(f"download took longer than {self.deadline_s:g} s", kind=ErrorKind.TIMEOUT)
        return now

    def received(self, n: int) -> None:
        now = self.check_deadline()
        self.window_bytes += n
        if now - self.window_start >= self.window_s:
            if self.window_bytes < self.min_bps * (now - self.window_start):
                raise TransientError(f"download slower than {self.min_bps / 1024:g} KiB/s for {self.window_s:g} s",
                                     kind=ErrorKind.TIMEOUT)
            self.window_start, self.window_bytes = now, 0


class _Part:
    """The `.part` file being written, with the size cap and the running sha256 of everything in it."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path, self.max_bytes = path, max_bytes
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.digest = hashlib.sha256()
        self.size = 0
        self.total: int | None = None  # the whole file's size, once a response has said it
        self.validator: str | None = None  # what identifies that file for If-Range

    def __enter__(self) -> _Part:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self.max_bytes:
            raise _invalid(f"the download passed the {self.max_bytes}-byte cap")
        self.size += len(chunk)
        self.digest.update(chunk)
        view = memoryview(chunk)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def restart(self) -> None:
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        self.digest = hashlib.sha256()
        self.size = 0
        self.total = None
        self.validator = None

    def finish(self) -> tuple[str, int]:
        os.fsync(self.fd)
        if self.size == 0:
            raise _invalid("the download was empty")
        return self.digest.hexdigest(), self.size


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


def _broken(error: TransientError, cause: BaseException) -> _BrokenOff:
    error.__cause__ = cause
    return _BrokenOff(error)


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _part_owner() -> str:
    """Who writes a `.part` (pid and host), in its name: the next start sweeps a gone writer's parts at once."""
    return f"w{os.getpid()}-{_host_tag()}"


_PART_OWNER_RE = re.compile(r"\.w(\d+)-([0-9a-f]{8})\.part$")


def _writer_gone(name: str) -> bool:
    found = _PART_OWNER_RE.search(name)
    if found is None or found.group(2) != _host_tag():
        return False
    pid = int(found.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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
        clock: Callable[[], float] = time.monotonic,
        min_throughput_bps: float = MIN_THROUGHPUT_BPS,
        throughput_window_s: float = THROUGHPUT_WINDOW_S,
    ) -> None:
        self.root = Path(root)
        self.url_prefix = url_prefix.rstrip("/")
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self.deadline_s = deadline_s
        self._clock = clock
        self.min_throughput_bps = min_throughput_bps
        self.throughput_window_s = throughput_window_s
        self.root.mkdir(parents=True, exist_ok=True)

    # -- the storage interface -------------------------------------------------------------------------------

    def download(self, open_stream: Opener, name_hint: str) -> ClipInfo:
        """Stream a provider's result into the store, resuming a broken-off body with Range (reliability.md D1,
        D2, D9). `open_stream(headers)` opens the URL with those extra headers; URL_EXPIRED from it propagates
        untouched."""
        return self._store(name_hint, lambda part: self._fetch(open_stream, part))

    def put(self, source: Path, name_hint: str) -> ClipInfo:
        """Copy a local file into the store through the same verification as a download."""
        size = os.path.getsize(source)
        if size > self.max_bytes:
            raise _invalid(f"the clip is {size} bytes, above the {self.max_bytes}-byte cap")
        self._check_space(size)

        def copy(path: Path) -> tuple[str, int]:
            with _Part(path, self.max_bytes) as part, open(source, "rb") as f:
                while block := f.read(CHUNK_BYTES):
                    part.write(block)
                return part.finish()

        return self._store(name_hint, copy)

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
        """Remove `.part` files left by a process killed mid-download: at once when the name says its writer
        (a process on this host) is gone, else once older than `older_than_s` (another host's, an old name)."""
        cutoff = time.time() - older_than_s
        removed = []
        for part in self.root.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if _writer_gone(part.name) or part.stat().st_mtime < cutoff:
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
        self._check_media_type(response)

    def _check_media_type(self, response: httpx.Response) -> None:
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

    # -- one download, across resumes ------------------------------------------------------------------------------

    def _fetch(self, open_stream: Opener, path: Path) -> tuple[str, int]:
        """Fill `path` with the whole clip: the first response, then at most MAX_REOPENS resumes or restarts."""
        watch = _Watchdog(self._clock, self.deadline_s, min_bps=self.min_throughput_bps,
                          window_s=self.throughput_window_s)
        headers: dict[str, str] = {}
        last: TransientError | None = None
        with _Part(path, self.max_bytes) as part:
            for attempt in range(MAX_REOPENS + 1):
                if attempt:
                    watch.check_deadline()  # reopening must not outlive the download's deadline
                try:
                    try:
                        with open_stream(headers) as response:
                            self._receive(response, part, watch, resuming=bool(headers))
                    except ProviderError as e:
                        # The provider client refuses a 416 before we see it; it is still the answer to our Range.
                        if not (headers and e.status_code == 416):
                            raise
                        self._whole_or_restart(part, part.total)
                    return part.finish()
                except _BrokenOff as broken:
                    last = broken.error
                    if part.size == 0:
                        raise broken.error from broken.error.__cause__
                    log.info("download broke off after %d bytes; resuming with Range", part.size)
                    headers = {"Range": f"bytes={part.size}-"}
                    if part.validator:
                        # A file replaced meanwhile then comes back whole (200) instead of spliced onto ours.
                        headers["If-Range"] = part.validator
                except _Restart as why:
                    log.info("download restarts from zero: %s", why)
                    last = TransientError(f"the download could not be resumed: {why}", kind=ErrorKind.PROVIDER_OUTAGE)
                    part.restart()
                    headers = {}
        assert last is not None
        raise last from last.__cause__

    def _receive(self, response: httpx.Response, part: _Part, watch: _Watchdog, *, resuming: bool) -> None:
        """Append one response to the part. Raises _BrokenOff when the body stops early and can be resumed,
        _Restart when an answer to a Range cannot be appended."""
        if resuming and response.status_code == 416:
            self._whole_or_restart(part, _content_range(response)[1] or part.total)
            return
        if resuming and response.status_code == 206:
            self._check_resumed(response, part)
        else:
            self._check_response(response)
            part.restart()  # a 200 to a Range request is the whole file again
            part.total = None if _encoded(response) else self._declared_length(response)
            part.validator = _validator(response)
        declared = self._declared_length(response)
        self._check_space(declared)
        before = part.size
        try:
            for chunk in self._watched(response.iter_bytes(), watch):
                part.write(chunk)
        except _BrokenOff as broken:
            if _encoded(response):  # decoded bytes have no wire offset to resume from
                raise broken.error from broken.error.__cause__
            raise
        self._check_received(response, declared, part.size - before, part.total, part.size)

    def _check_resumed(self, response: httpx.Response, part: _Part) -> None:
        self._check_media_type(response)
        start, whole = _content_range(response)
        if start != part.size:
            raise _Restart(f"the server resumed at byte {start}, not {part.size}")
        if part.total is not None and whole != part.total:
            raise _Restart(f"the file is now {whole} bytes, not {part.total}")
        if _encoded(response):
            raise _Restart("the resumed part is content-encoded")
        if whole is not None and whole > self.max_bytes:
            raise _invalid(f"the clip is {whole} bytes, above the {self.max_bytes}-byte cap")
        part.total = whole

    def _whole_or_restart(self, part: _Part, total: int | None) -> None:
        """416 to `bytes=N-`: the part may already be the whole clip (the break came after the last byte)."""
        if total is not None and part.size != total:
            raise _Restart(f"416: the file is {total} bytes, the part {part.size}")
        try:
            check_mp4(part.path)
            probe(part.path)
        except ProviderError as e:
            raise _Restart(f"416 and the part is not a whole clip: {e.message}") from e

    def _check_received(self, response: httpx.Response, declared: int | None, written: int, total: int | None,
                        size: int) -> None:
        if _encoded(response):
            # Content-Length counts wire bytes: a gzip body is compared by httpx's raw count, not what we wrote.
            if declared is not None and response.num_bytes_downloaded != declared:
                raise TransientError(f"download incomplete: {response.num_bytes_downloaded} of {declared} bytes",
                                     kind=ErrorKind.DOWNLOAD_INVALID)
            return
        # This response's own length first, then the whole file's: a server may answer a Range with less.
        for got, expected in ((written, declared), (size, total)):
            if expected is None or got == expected:
                continue
            error = TransientError(f"download incomplete: {got} of {expected} bytes", kind=ErrorKind.DOWNLOAD_INVALID)
            if got < expected:
                raise _BrokenOff(error)
            raise error

    def _watched(self, chunks: Iterable[bytes], watch: _Watchdog) -> Iterator[bytes]:
        """Chunks as they arrive, with network errors as _BrokenOff and the watchdog consulted on every read."""
        try:
            for chunk in chunks:
                watch.received(len(chunk))
                yield chunk
        except httpx.DecodingError as e:
            raise _invalid(f"the download's content encoding could not be decoded: {e}") from e
        except httpx.TimeoutException as e:
            raise _broken(TransientError(f"download stalled: {type(e).__name__}", kind=ErrorKind.TIMEOUT), e) from e
        except httpx.TransportError as e:
            raise _broken(TransientError(f"download interrupted: {type(e).__name__}",
                                         kind=ErrorKind.PROVIDER_OUTAGE), e) from e

    # -- into the store ----------------------------------------------------------------------------------------------

    def _store(self, name_hint: str, fill: Callable[[Path], tuple[str, int]]) -> ClipInfo:
        stem = f"{_safe_hint(name_hint)}_{secrets.token_urlsafe(16)}"
        final = self.root / f"{stem}.mp4"
        part = self.root / f"{stem}.mp4.{_part_owner()}.part"
        thumb = self.thumbnail_for(final)
        committed = False
        try:
            digest, size = fill(part)
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

    def _fsync_dir(self) -> None:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
