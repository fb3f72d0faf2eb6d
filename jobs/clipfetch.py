"""The HTTP half of a clip download: stream a provider's result into a local `.part` file, resuming a body
broken off mid-stream with Range (reliability.md D1, D2, D9), under a size cap, a deadline and a throughput floor.

What happens to the verified file afterwards (a local folder, a bucket) is the clip store's business
(jobs/clipstore.py); this module only fills a file and returns its sha256 and size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

import httpx

from jobs.probe import check_mp4, probe
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
_CONTENT_RANGE = re.compile(r"^bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)$", re.IGNORECASE)


class StorageError(ProviderError):
    """The clip could not be written locally (disk full, permission). The rendered clip is still on the provider."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            kind=ErrorKind.DOWNLOAD_INVALID,
            advice="Free some disk space or fix the clips folder's permissions; the download can be retried.",
        )


def _invalid(message: str) -> ProviderError:
    return ProviderError(message, kind=ErrorKind.DOWNLOAD_INVALID)


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


class Fetcher:
    """One download's rules: the cap, the deadline, the throughput floor and the free-space check."""

    def __init__(self, *, max_bytes: int, deadline_s: float, clock: Callable[[], float], min_throughput_bps: float,
                 throughput_window_s: float, check_space: Callable[[int | None], None]) -> None:
        self.max_bytes = max_bytes
        self.deadline_s = deadline_s
        self._clock = clock
        self.min_throughput_bps = min_throughput_bps
        self.throughput_window_s = throughput_window_s
        self._check_space = check_space

    def copy(self, source: BinaryIO, path: Path) -> tuple[str, int]:
        """Fill `path` from an open local file or stream, under the same cap."""
        with _Part(path, self.max_bytes) as part:
            while block := source.read(CHUNK_BYTES):
                part.write(block)
            return part.finish()

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

    # -- one download, across resumes ------------------------------------------------------------------------------

    def fetch(self, open_stream: Opener, path: Path) -> tuple[str, int]:
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
