"""Signed, expiring result URLs and byte-range file responses, like a provider's CDN."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import math
import random
import struct
import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send


class UrlSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sig(self, token: str, expires: int) -> str:
        return hmac.new(self._secret, f"{token}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def sign(self, base_url: str, token: str, ttl_s: float) -> tuple[str, int]:
        expires = math.ceil(time.time() + ttl_s)
        return f"{base_url}/files/{token}.mp4?expires={expires}&sig={self._sig(token, expires)}", expires

    def check(self, token: str, expires: str | None, sig: str | None) -> str | None:
        """None when the URL is good; otherwise the reason it is refused."""
        if not expires or not sig or not expires.isdigit():
            return "SignatureDoesNotMatch"
        if not hmac.compare_digest(self._sig(token, int(expires)), sig):
            return "SignatureDoesNotMatch"
        if time.time() > int(expires):
            return "AccessDenied"
        return None


def denied(reason: str) -> Response:
    message = "Request has expired" if reason == "AccessDenied" else "The request signature does not match"
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{reason}</Code><Message>{message}</Message></Error>'
    return Response(body, status_code=403, media_type="application/xml")


class TruncatedResponse(Response):
    """Declares the full Content-Length, sends only part of the body, then drops the connection."""

    def __init__(self, content: bytes, full_length: int, headers: dict[str, str], status_code: int = 200) -> None:
        super().__init__(content, status_code=status_code, headers=headers)
        self.headers["content-length"] = str(full_length)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        # Returning without the final body message makes uvicorn close the socket mid-response.


async def _drip(body: bytes, slice_bytes: int, bytes_per_s: float) -> AsyncIterator[bytes]:
    """The body in small slices at a steady rate, paced from the start so the average holds."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for offset in range(0, len(body), slice_bytes):
        wait = start + offset / bytes_per_s - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        yield body[offset:offset + slice_bytes]


def drip_response(body: bytes, headers: dict[str, str], status_code: int, slice_bytes: int,
                  bytes_per_s: float) -> Response:
    """A whole, well-formed answer that arrives at a trickle: no read ever times out. Starlette stops the
    stream when the client hangs up, so an abandoned drip does not run on."""
    response = StreamingResponse(_drip(body, slice_bytes, bytes_per_s), status_code=status_code, headers=headers)
    response.headers["content-length"] = str(len(body))
    return response


async def _slices(body: bytes, slice_bytes: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(body), slice_bytes):
        yield body[offset:offset + slice_bytes]


def chunked_response(body: bytes, headers: dict[str, str], status_code: int, fraction: float) -> Response:
    """No Content-Length, so uvicorn sends `Transfer-Encoding: chunked` (reliability.md D4). With fraction < 1 the
    stream ends cleanly (terminating chunk and all) after that share of the body: nothing on the wire says it is
    short, only the file's own structure can."""
    keep = len(body) if fraction >= 1 else max(1, min(len(body) - 1, int(len(body) * fraction)))
    return StreamingResponse(_slices(body[:keep], 64 * 1024), status_code=status_code, headers=headers)


def _top_level_boxes(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each top-level ISO-BMFF box of a well-formed file, as far as the sizes can be followed."""
    boxes: list[tuple[int, int]] = []
    offset = 0
    while offset + 8 <= len(data):
        size = struct.unpack_from(">I", data, offset)[0]
        if size == 1 and offset + 16 <= len(data):
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:
            size = len(data) - offset
        if size < 8 or offset + size > len(data):
            break
        boxes.append((offset, offset + size))
        offset += size
    return boxes


def corrupt(data: bytes, keep_bytes: int) -> bytes:
    """The same length: the real bytes up to `keep_bytes`, then garbage (reliability.md D7). The cut is moved
    past the ftyp box, so the file still sniffs as an MP4, and not past the last top-level box's header, so at
    least one box header (mdat's, in a fast-start file) is garbage, which is what a box walk must notice. The
    garbage is the same for the same file, so a test sees the same bytes every time."""
    boxes = _top_level_boxes(data)
    low = boxes[0][1] if boxes else 0
    high = boxes[-1][0] if boxes else len(data)
    keep = max(low, min(keep_bytes, high))
    return data[:keep] + random.Random(len(data)).randbytes(len(data) - keep)


def _parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """(start, end inclusive), None to ignore the header, or "unsatisfiable"."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return "unsatisfiable"
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


def file_response(path: Path, range_header: str | None, content_type: str = "video/mp4",
                  truncate_fraction: float | None = None, drip: tuple[int, float] | None = None, *,
                  chunked_fraction: float | None = None, gzip_body: bool = False,
                  corrupt_keep: int | None = None, if_range: str | None = None) -> Response:
    """The file (or the requested range of it); `drip` = (slice_bytes, bytes_per_s) sends it slowly,
    `chunked_fraction` streams that share of it without a Content-Length, `gzip_body` sends it gzip-encoded (with
    the compressed length) whatever the client accepts, and `corrupt_keep` serves a corrupt file of the same length
    whose first `corrupt_keep` bytes are real (see `corrupt`)."""
    data = path.read_bytes()
    if corrupt_keep is not None:
        data = corrupt(data, corrupt_keep)  # the stored object is bad: every range of it is, consistently
    size = len(data)
    stat = path.stat()
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": '"' + hashlib.sha256(f"{path.name}:{stat.st_mtime_ns}:{size}".encode()).hexdigest()[:16] + '"',
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        "Content-Type": content_type,
    }
    status, start, end = 200, 0, size - 1
    if if_range and if_range not in (headers["ETag"], headers["Last-Modified"]):
        range_header = None  # RFC 9110 If-Range: the file changed, so the whole of it, not a piece
    if range_header:
        parsed = _parse_range(range_header, size)
        if parsed == "unsatisfiable":
            return Response(b"", 416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
        if isinstance(parsed, tuple):
            status, (start, end) = 206, parsed
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    body = data[start:end + 1]
    if truncate_fraction is not None:
        keep = max(1, min(len(body) - 1, int(len(body) * truncate_fraction)))
        return TruncatedResponse(body[:keep], len(body), headers, status)
    if drip is not None:
        return drip_response(body, headers, status, *drip)
    if chunked_fraction is not None:
        return chunked_response(body, headers, status, chunked_fraction)
    if gzip_body:
        # A misbehaving CDN: it ignores `Accept-Encoding: identity`; Content-Length counts the compressed bytes.
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body, mtime=0)
    response = Response(body, status_code=status, headers=headers)
    response.headers["content-type"] = content_type
    return response
