"""The clip store keeps only complete, playable MP4s, and never leaves a partial file behind (reliability.md D1-D13)."""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import re
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from jobs_helpers import SANDBOX_KEY, backend_for, encode_clip, orphan_part
from PIL import Image

from jobs import clipstore as clipstore_module
from jobs.clipstore import ClipInfo, ClipStore, StorageError
from jobs.probe import check_mp4, probe
from providers.client import CometClient
from providers.errors import ErrorKind, ProviderError, TransientError

URL = "https://cdn.example.com/clip.mp4?X-Amz-Signature=secret123"
NAME = re.compile(r"^[A-Za-z0-9_-]+\.mp4$")




@pytest.fixture(scope="session")
def silent_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return encode_clip(tmp_path_factory.mktemp("clips") / "silent.mp4", audio=False).read_bytes()


@pytest.fixture(scope="session")
def audio_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return encode_clip(tmp_path_factory.mktemp("clips") / "audio.mp4", audio=True).read_bytes()


@pytest.fixture
def store(tmp_path: Path) -> ClipStore:
    return ClipStore(tmp_path / "clips", max_bytes=1 * 2**20, min_free_bytes=0)


def leftovers(store: ClipStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir())


Opener = Callable[[dict[str, str]], contextlib.AbstractContextManager[httpx.Response]]


def opener(handler: Callable[[httpx.Request], httpx.Response]) -> Opener:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return lambda headers: client.stream("GET", URL, headers={**headers, "Accept-Encoding": "identity"})


def serve(body: bytes, *, content_type: str = "video/mp4", length: int | None = -1, chunk: int = 997,
          headers: dict[str, str] | None = None) -> Opener:
    """A CDN answering with `body`; length -1 means the true Content-Length, None means none (chunked)."""

    def handler(request: httpx.Request) -> httpx.Response:
        h = {"Content-Type": content_type, **(headers or {})}
        if length is not None:
            h["Content-Length"] = str(len(body) if length == -1 else length)
        return httpx.Response(200, headers=h, stream=httpx.ByteStream(body) if length is not None else
                              _Chunked(body, chunk))

    return opener(handler)


class _Chunked(httpx.SyncByteStream):
    def __init__(self, body: bytes, chunk: int) -> None:
        self.body, self.chunk, self.sent = body, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.body), self.chunk):
            self.sent += 1
            yield self.body[i : i + self.chunk]


def expect(kind: ErrorKind, fn: Callable[[], object], cls: type[ProviderError] = ProviderError) -> ProviderError:
    with pytest.raises(cls) as info:
        fn()
    assert info.value.kind == kind, info.value.message
    return info.value


# -- the happy path ----------------------------------------------------------------------------------------------


def test_download_keeps_a_verified_probed_clip_with_thumbnail_under_an_unguessable_name(
    store: ClipStore, audio_mp4: bytes
) -> None:
    clip = store.download(serve(audio_mp4), "task_ABC/../1")
    assert clip.path.read_bytes() == audio_mp4
    assert clip.sha256 == hashlib.sha256(audio_mp4).hexdigest() and clip.size_bytes == len(audio_mp4)
    assert NAME.match(clip.path.name) and clip.path.parent == store.root
    assert clip.probe.has_audio and (clip.probe.width, clip.probe.height) == (160, 90)
    assert clip.url == f"/app/static/clips/{clip.path.name}"
    assert clip.thumb_url == f"/app/static/clips/{clip.thumbnail_path.name}"
    with Image.open(clip.thumbnail_path) as img:
        assert img.format == "JPEG" and img.width == 320
    assert leftovers(store) == sorted([clip.path.name, clip.thumbnail_path.name])
    again = store.download(serve(audio_mp4), "task_ABC")
    assert again.path != clip.path and again.sha256 == clip.sha256


def test_open_delete_and_verify(store: ClipStore, silent_mp4: bytes) -> None:
    clip = store.download(serve(silent_mp4), "t")
    with store.open(clip.path) as f:
        assert f.read() == silent_mp4
    assert store.verify(clip.path, clip.sha256, clip.size_bytes)
    assert not store.verify(clip.path, "0" * 64, clip.size_bytes)
    store.delete(clip.path)
    assert leftovers(store) == []
    assert not store.verify(clip.path, clip.sha256, clip.size_bytes)


def test_paths_outside_the_store_are_refused(store: ClipStore, tmp_path: Path) -> None:
    for bad in (tmp_path / "elsewhere.mp4", store.root / ".." / "x.mp4"):
        with pytest.raises(ValueError, match="path"):
            store.url(bad)
        with pytest.raises(ValueError, match="path"):
            store.delete(bad)


def test_put_copies_a_local_file_through_the_same_checks(store: ClipStore, silent_mp4: bytes, tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    src.write_bytes(silent_mp4)
    assert store.put(src, "local").sha256 == hashlib.sha256(silent_mp4).hexdigest()
    src.write_bytes(silent_mp4[:-100])
    expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.put(src, "local"))
    assert len(leftovers(store)) == 2


def test_stale_partials_from_a_killed_process_are_swept(store: ClipStore) -> None:
    old = store.root / "x.mp4.part"
    old.write_bytes(b"half")
    os.utime(old, (1, 1))
    fresh = store.root / "y.mp4.part"
    fresh.write_bytes(b"in progress")
    assert store.sweep_partials(older_than_s=3600) == [old]
    assert leftovers(store) == ["y.mp4.part"]


# -- D1/D2: truncated body and reset mid-stream, from a raw socket ------------------------------------------------


@contextlib.contextmanager
def raw_server(body: bytes, answers: list[str], *, reset: bool) -> Iterator[tuple[str, list[str]]]:
    """Answers one GET per entry: "cut" declares the full Content-Length but sends half the body, then closes or
    resets; "ranged" answers like a CDN that honours `Range: bytes=N-`. Yields the URL and each request's Range."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    ranges: list[str] = []

    def cut(conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        conn.sendall(body[: len(body) // 2])
        if reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def ranged(conn: socket.socket, asked: str) -> None:
        start = int(asked.removeprefix("bytes=").split("-")[0])
        conn.sendall(f"HTTP/1.1 206 Partial Content\r\nContent-Type: video/mp4\r\nContent-Length: "
                     f"{len(body) - start}\r\nContent-Range: bytes {start}-{len(body) - 1}/{len(body)}\r\n\r\n"
                     .encode() + body[start:])

    def run() -> None:
        for answer in answers:
            conn, _ = listener.accept()
            with conn:
                head = conn.recv(65536).decode("latin-1")
                found = re.search(r"(?im)^range:\s*(\S+)", head)
                ranges.append(found.group(1) if found else "")
                if answer == "cut":
                    cut(conn)
                else:
                    ranged(conn, ranges[-1])

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{port}/clip.mp4", ranges
    finally:
        t.join(timeout=5)
        listener.close()


@pytest.mark.parametrize("reset", [False, True], ids=["D1-truncated", "D2-reset"])
def test_d1_d2_a_connection_lost_mid_body_resumes_with_range(store: ClipStore, silent_mp4: bytes, reset: bool) -> None:
    with raw_server(silent_mp4, ["cut", "ranged"], reset=reset) as (url, ranges), httpx.Client() as client:
        clip = store.download(lambda headers: client.stream("GET", url, headers=headers), "t")
    assert ranges == ["", f"bytes={len(silent_mp4) // 2}-"]
    assert clip.path.read_bytes() == silent_mp4 and clip.sha256 == hashlib.sha256(silent_mp4).hexdigest()
    assert leftovers(store) == sorted([clip.path.name, clip.thumbnail_path.name])


@pytest.mark.parametrize("reset", [False, True], ids=["D1-truncated", "D2-reset"])
def test_d1_d2_resumes_are_bounded_then_transient_and_keep_nothing(
    store: ClipStore, silent_mp4: bytes, reset: bool
) -> None:
    with raw_server(silent_mp4, ["cut"] * (clipstore_module.MAX_REOPENS + 1), reset=reset) as (url, ranges), \
            httpx.Client() as client:
        err = expect(ErrorKind.PROVIDER_OUTAGE,
                     lambda: store.download(lambda headers: client.stream("GET", url, headers=headers), "t"),
                     TransientError)
    assert "interrupted" in err.message
    assert ranges == [""] + [f"bytes={len(silent_mp4) // 2}-"] * clipstore_module.MAX_REOPENS
    assert leftovers(store) == []


def test_a_short_body_that_the_transport_does_not_notice_is_caught_by_the_byte_count(
    store: ClipStore, silent_mp4: bytes
) -> None:
    err = expect(ErrorKind.DOWNLOAD_INVALID,
                 lambda: store.download(serve(silent_mp4, length=len(silent_mp4) + 50), "t"), TransientError)
    assert f"{len(silent_mp4)} of {len(silent_mp4) + 50} bytes" in err.message
    assert leftovers(store) == []


# -- D4: no Content-Length ---------------------------------------------------------------------------------------


def test_without_content_length_a_complete_clip_is_accepted(store: ClipStore, silent_mp4: bytes) -> None:
    assert store.download(serve(silent_mp4, length=None), "t").sha256 == hashlib.sha256(silent_mp4).hexdigest()


def test_without_content_length_a_truncated_clip_is_caught_by_the_box_walk(store: ClipStore, silent_mp4: bytes) -> None:
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(silent_mp4[:-300], length=None), "t"))
    assert "truncated" in err.message
    assert leftovers(store) == []


# -- D5: over the size cap ---------------------------------------------------------------------------------------


def test_a_declared_size_over_the_cap_is_refused_before_reading(store: ClipStore) -> None:
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(b"x" * 10, length=5 * 2**20), "t"))
    assert "above the 1048576-byte cap" in err.message
    assert leftovers(store) == []


def test_an_undeclared_body_over_the_cap_is_aborted_early(store: ClipStore) -> None:
    stream = _Chunked(b"\x00" * (10 * 2**20), 64 * 1024)
    handler = lambda request: httpx.Response(200, headers={"Content-Type": "video/mp4"}, stream=stream)  # noqa: E731
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(opener(handler), "t"))
    assert "passed the 1048576-byte cap" in err.message
    assert stream.sent <= 24  # stopped at the cap plus one 256 KiB read, not after all 160 chunks of 10 MiB
    assert leftovers(store) == []


# -- D6: an error page with status 200 ---------------------------------------------------------------------------


def test_a_json_error_body_is_rejected_with_the_providers_message(store: ClipStore) -> None:
    body = b'{"error": {"message": "video is not ready yet", "type": "invalid_request_error"}}'
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(body, content_type="application/json"), "t"))
    assert "application/json" in err.message and "video is not ready yet" in err.message
    assert leftovers(store) == []


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/xml", "text/plain"])
def test_html_and_xml_error_pages_are_rejected_without_echoing_them(store: ClipStore, content_type: str) -> None:
    body = b"<Error><Code>AccessDenied</Code><SignatureProvided>secret123</SignatureProvided></Error>"
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(body, content_type=content_type), "t"))
    assert "secret123" not in err.message
    assert leftovers(store) == []


def test_an_error_page_labelled_as_video_is_rejected_by_the_magic_check(store: ClipStore) -> None:
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(b"<html>Bad gateway</html>"), "t"))
    assert "ftyp" in err.message or "box" in err.message
    assert leftovers(store) == []


def test_octet_stream_and_missing_type_are_left_to_the_magic_check(store: ClipStore, silent_mp4: bytes) -> None:
    store.download(serve(silent_mp4, content_type="application/octet-stream"), "t")
    store.download(serve(silent_mp4, content_type=""), "t")
    assert len(leftovers(store)) == 4


# -- D7: valid ftyp, garbage later -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10**6))
def test_any_truncation_of_a_clip_is_rejected(silent_mp4: bytes, cut: int) -> None:
    body = silent_mp4[: cut % len(silent_mp4)]
    with tempfile.TemporaryDirectory() as d:
        store = ClipStore(Path(d), min_free_bytes=0)
        expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(body, length=None), "t"))
        assert leftovers(store) == []


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_byte_mutations_are_only_accepted_if_they_still_walk_and_probe(silent_mp4: bytes, data: st.DataObject) -> None:
    body = bytearray(silent_mp4)
    for _ in range(data.draw(st.integers(1, 8), label="mutations")):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]), label="op")
        # Bias towards the first KB, where the box headers and moov live.
        limit = data.draw(st.sampled_from([64, 1024, len(body)]), label="region")
        pos = data.draw(st.integers(0, max(0, min(limit, len(body)) - 1)), label="pos")
        if op == "flip":
            body[pos] ^= data.draw(st.integers(1, 255), label="xor")
        elif op == "insert":
            body[pos:pos] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        elif len(body) > 1:
            del body[pos : pos + data.draw(st.integers(1, 16), label="n")]
    with tempfile.TemporaryDirectory() as d:
        store = ClipStore(Path(d), min_free_bytes=0)
        try:
            clip = store.download(serve(bytes(body), length=None), "t")
        except ProviderError as e:
            assert e.kind == ErrorKind.DOWNLOAD_INVALID
            assert leftovers(store) == []
            return
        assert clip.path.read_bytes() == bytes(body)
        check_mp4(clip.path)
        probe(clip.path)
        assert leftovers(store) == sorted([clip.path.name, clip.thumbnail_path.name])


# -- D8: expired link --------------------------------------------------------------------------------------------


def test_url_expired_from_the_opener_propagates_untouched(store: ClipStore) -> None:
    expired = ProviderError("signed URL expired", kind=ErrorKind.URL_EXPIRED, status_code=403)

    def open_stream(headers: dict[str, str]) -> contextlib.AbstractContextManager[httpx.Response]:
        raise expired

    with pytest.raises(ProviderError) as info:
        store.download(open_stream, "t")
    assert info.value is expired
    assert leftovers(store) == []


@pytest.mark.parametrize("status", [403, 404, 410])
def test_an_expired_status_reaching_the_store_is_url_expired(store: ClipStore, status: int) -> None:
    handler = lambda request: httpx.Response(status, text="AccessDenied")  # noqa: E731
    err = expect(ErrorKind.URL_EXPIRED, lambda: store.download(opener(handler), "t"))
    assert err.status_code == status and "secret123" not in err.message


def test_a_server_error_on_the_link_is_transient(store: ClipStore) -> None:
    handler = lambda request: httpx.Response(503, text="busy")  # noqa: E731
    expect(ErrorKind.PROVIDER_OUTAGE, lambda: store.download(opener(handler), "t"), TransientError)


# -- D10: gzip despite identity ----------------------------------------------------------------------------------


def test_a_gzip_encoded_clip_is_decoded_and_counted_in_wire_bytes(store: ClipStore, silent_mp4: bytes) -> None:
    packed = gzip.compress(silent_mp4)
    clip = store.download(serve(packed, headers={"Content-Encoding": "gzip"}), "t")
    assert clip.path.read_bytes() == silent_mp4
    expect(ErrorKind.DOWNLOAD_INVALID,
           lambda: store.download(serve(packed, length=len(silent_mp4), headers={"Content-Encoding": "gzip"}), "t"))
    expect(ErrorKind.DOWNLOAD_INVALID,
           lambda: store.download(serve(b"not gzip at all", headers={"Content-Encoding": "gzip"}), "t"))
    assert len(leftovers(store)) == 2


# -- D12: disk full, permission denied ---------------------------------------------------------------------------


def test_too_little_free_space_is_refused_before_writing(
    tmp_path: Path, silent_mp4: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ClipStore(tmp_path / "c", min_free_bytes=100 * 2**20)
    usage = shutil.disk_usage(tmp_path)._replace(free=100 * 2**20 + len(silent_mp4) - 1)
    monkeypatch.setattr(clipstore_module.shutil, "disk_usage", lambda path: usage)
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(silent_mp4), "t"), StorageError)
    assert "disk space" in err.message and "disk space" in err.advice
    assert leftovers(store) == []


def test_disk_full_while_writing_cleans_up(
    store: ClipStore, silent_mp4: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(clipstore_module.os, "write", full)
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(silent_mp4), "t"), StorageError)
    assert "ENOSPC" in err.message
    monkeypatch.undo()
    assert leftovers(store) == []


def test_a_failed_rename_cleans_up_part_and_thumbnail(
    store: ClipStore, silent_mp4: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def deny(src: object, dst: object) -> None:
        if str(dst).endswith(".mp4"):
            raise PermissionError(errno.EACCES, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr(clipstore_module.os, "replace", deny)
    expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(serve(silent_mp4), "t"), StorageError)
    monkeypatch.undo()
    assert leftovers(store) == []


# -- D13: two sessions download the same task --------------------------------------------------------------------


def test_two_concurrent_downloads_of_the_same_task_both_end_valid(store: ClipStore, silent_mp4: bytes) -> None:
    both_mid_body = threading.Barrier(2, timeout=10)

    class Interleaved(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield silent_mp4[:1000]
            both_mid_body.wait()  # both .part files exist and are half written
            yield silent_mp4[1000:]

    handler = lambda request: httpx.Response(200, headers={"Content-Type": "video/mp4"}, stream=Interleaved())  # noqa: E731
    results: list[ClipInfo] = []
    threads = [threading.Thread(target=lambda: results.append(store.download(opener(handler), "task_1")))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(results) == 2 and results[0].path != results[1].path
    for clip in results:
        assert clip.path.read_bytes() == silent_mp4 and probe(clip.path).width == 160
    assert not [n for n in leftovers(store) if n.endswith(".part")]


# -- D1/D9: resuming with Range, and every answer a server can give to it -----------------------------------------

Answer = Callable[[httpx.Request], httpx.Response]


def scripted(*answers: Answer) -> tuple[Opener, list[httpx.Request]]:
    """A CDN answering the n-th request with the n-th answer (the last one repeats); returns the requests seen."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1](request)

    return opener(handler), seen


class _BreaksOff(httpx.SyncByteStream):
    def __init__(self, body: bytes, error: Exception) -> None:
        self.body, self.error = body, error

    def __iter__(self) -> Iterator[bytes]:
        yield self.body
        raise self.error


def cut(body: bytes, at: int, *, headers: dict[str, str] | None = None) -> Answer:
    """A 200 declaring all of `body` whose connection drops after `at` bytes (after all of them if at == len)."""
    h = {"Content-Type": "video/mp4", "Content-Length": str(len(body)), "Accept-Ranges": "bytes", **(headers or {})}
    return lambda request: httpx.Response(200, headers=h, stream=_BreaksOff(body[:at], httpx.ReadError("reset")))


def ranged(body: bytes, *, start: int | None = None) -> Answer:
    """A 206 for `Range: bytes=N-`; `start` forces a different first byte (a CDN resuming at the wrong place)."""

    def answer(request: httpx.Request) -> httpx.Response:
        first = start if start is not None else int(request.headers["range"].removeprefix("bytes=").split("-")[0])
        return httpx.Response(206, content=body[first:], headers={
            "Content-Type": "video/mp4", "Content-Range": f"bytes {first}-{len(body) - 1}/{len(body)}"})

    return answer


def whole(body: bytes) -> Answer:
    return lambda request: httpx.Response(200, content=body, headers={"Content-Type": "video/mp4"})


def status(code: int, headers: dict[str, str] | None = None) -> Answer:
    return lambda request: httpx.Response(code, headers=headers or {})


def ranges_of(seen: list[httpx.Request]) -> list[str | None]:
    return [r.headers.get("range") for r in seen]


def assert_kept(store: ClipStore, clip: ClipInfo, body: bytes) -> None:
    assert clip.path.read_bytes() == body
    assert clip.sha256 == hashlib.sha256(body).hexdigest() and clip.size_bytes == len(body)
    assert leftovers(store) == sorted([clip.path.name, clip.thumbnail_path.name])


def test_d1_resumes_with_range_and_the_hash_covers_the_whole_file(store: ClipStore, silent_mp4: bytes) -> None:
    half = len(silent_mp4) // 2
    stream, seen = scripted(cut(silent_mp4, half), ranged(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert ranges_of(seen) == [None, f"bytes={half}-"]
    assert seen[1].headers["accept-encoding"] == "identity"


def test_d1_a_short_body_the_transport_does_not_notice_is_resumed(store: ClipStore, silent_mp4: bytes) -> None:
    short = lambda request: httpx.Response(  # noqa: E731
        200, headers={"Content-Type": "video/mp4", "Content-Length": str(len(silent_mp4))},
        stream=httpx.ByteStream(silent_mp4[:1000]))
    stream, seen = scripted(short, ranged(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert ranges_of(seen) == [None, "bytes=1000-"]


def test_d1_a_resume_that_breaks_off_again_resumes_from_the_new_end(store: ClipStore, silent_mp4: bytes) -> None:
    def second(request: httpx.Request) -> httpx.Response:
        return httpx.Response(206, stream=_BreaksOff(silent_mp4[1000:2000], httpx.RemoteProtocolError("gone")),
                              headers={"Content-Type": "video/mp4", "Content-Length": str(len(silent_mp4) - 1000),
                                       "Content-Range": f"bytes 1000-{len(silent_mp4) - 1}/{len(silent_mp4)}"})

    stream, seen = scripted(cut(silent_mp4, 1000), second, ranged(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert ranges_of(seen) == [None, "bytes=1000-", "bytes=2000-"]


def test_d9_range_ignored_with_200_restarts_from_zero(store: ClipStore, silent_mp4: bytes) -> None:
    stream, seen = scripted(cut(silent_mp4, 1000), whole(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)  # not the first 1000 bytes twice
    assert ranges_of(seen) == [None, "bytes=1000-"]


def test_d9_a_wrong_content_range_start_restarts_from_zero(store: ClipStore, silent_mp4: bytes) -> None:
    stream, seen = scripted(cut(silent_mp4, 1000), ranged(silent_mp4, start=500), whole(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert ranges_of(seen) == [None, "bytes=1000-", None]


def test_d9_a_changed_total_size_restarts_from_zero(store: ClipStore, silent_mp4: bytes) -> None:
    other = lambda request: httpx.Response(206, content=b"x" * 10, headers={  # noqa: E731
        "Content-Type": "video/mp4", "Content-Range": f"bytes 1000-1009/{len(silent_mp4) + 5}"})
    stream, seen = scripted(cut(silent_mp4, 1000), other, whole(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert ranges_of(seen) == [None, "bytes=1000-", None]


def test_d9_416_after_the_last_byte_keeps_the_verified_part(store: ClipStore, silent_mp4: bytes) -> None:
    stream, seen = scripted(cut(silent_mp4, len(silent_mp4)),
                            status(416, {"Content-Range": f"bytes */{len(silent_mp4)}"}))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert ranges_of(seen) == [None, f"bytes={len(silent_mp4)}-"]


def test_d9_416_on_a_part_that_is_not_a_whole_clip_restarts_from_zero(store: ClipStore, silent_mp4: bytes) -> None:
    # A chunked first answer: no size to compare, so only the box walk can tell the part is not whole.
    chunked = lambda request: httpx.Response(  # noqa: E731
        200, headers={"Content-Type": "video/mp4"}, stream=_BreaksOff(silent_mp4[:1000], httpx.ReadError("reset")))
    stream, seen = scripted(chunked, status(416), whole(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert ranges_of(seen) == [None, "bytes=1000-", None]


def test_d9_416_with_a_different_total_restarts_from_zero(store: ClipStore, silent_mp4: bytes) -> None:
    stream, seen = scripted(cut(silent_mp4, 1000), status(416, {"Content-Range": f"bytes */{len(silent_mp4)}"}),
                            whole(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert ranges_of(seen) == [None, "bytes=1000-", None]


def test_d9_answers_that_never_fit_are_bounded_and_keep_nothing(store: ClipStore, silent_mp4: bytes) -> None:
    breaks, wrong = cut(silent_mp4, 1000), ranged(silent_mp4, start=0)
    stream, seen = scripted(lambda request: wrong(request) if "range" in request.headers else breaks(request))
    err = expect(ErrorKind.PROVIDER_OUTAGE, lambda: store.download(stream, "t"), TransientError)
    assert "resumed" in err.message
    assert ranges_of(seen) == [None, "bytes=1000-"] * ((clipstore_module.MAX_REOPENS + 1) // 2)
    assert leftovers(store) == []


@pytest.mark.parametrize("code", [403, 404, 410])
def test_d8_an_expired_link_on_resume_is_url_expired_and_keeps_nothing(
    store: ClipStore, silent_mp4: bytes, code: int
) -> None:
    stream, seen = scripted(cut(silent_mp4, 1000), status(code))
    err = expect(ErrorKind.URL_EXPIRED, lambda: store.download(stream, "t"))
    assert err.status_code == code and len(seen) == 2
    assert leftovers(store) == []


def test_d10_a_gzip_body_that_breaks_off_is_not_resumed(store: ClipStore, silent_mp4: bytes) -> None:
    packed = gzip.compress(silent_mp4)
    stream, seen = scripted(cut(packed, len(packed) // 2, headers={"Content-Encoding": "gzip"}), ranged(packed))
    err = expect(ErrorKind.PROVIDER_OUTAGE, lambda: store.download(stream, "t"), TransientError)
    assert "interrupted" in err.message and len(seen) == 1
    assert leftovers(store) == []


def test_d5_the_size_cap_counts_every_resumed_byte(store: ClipStore) -> None:
    body = b"\0" * (store.max_bytes + 4096)
    chunked = lambda request: httpx.Response(  # noqa: E731
        200, headers={"Content-Type": "video/mp4"}, stream=_BreaksOff(body[:700_000], httpx.ReadError("reset")))
    rest = lambda request: httpx.Response(206, stream=_Chunked(body[700_000:], 64 * 1024), headers={  # noqa: E731
        "Content-Type": "video/mp4", "Content-Range": f"bytes 700000-{len(body) - 1}/*"})
    stream, seen = scripted(chunked, rest)
    err = expect(ErrorKind.DOWNLOAD_INVALID, lambda: store.download(stream, "t"))
    assert "passed the 1048576-byte cap" in err.message and len(seen) == 2
    assert leftovers(store) == []


# -- D1/D9 against the sandbox: a real Range request to a real CDN-like server --------------------------------------


@pytest.fixture
def sandbox_clip(make_sandbox: Callable[..., Any]) -> tuple[Any, str, bytes]:
    """A sandbox with one finished Kling task: the server, its signed result URL and the exact bytes it serves."""
    server = make_sandbox(render_times={"*": (0, 0)})
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {SANDBOX_KEY}"}) as c:
        task = c.post("/kling/v1/videos/text2video", json={"model_name": "kling-v1-6", "prompt": "a fox"})
        task_id = task.json()["data"]["task_id"]
        done = c.get(f"/kling/v1/videos/text2video/{task_id}").json()
    url = done["data"]["task_result"]["videos"][0]["url"]
    return server, url, Path(server.config.prerendered_clip).read_bytes()


def sandbox_downloads(server: Any) -> list[int]:
    return [r["status"] for r in server.requests() if r.get("route") == "download"]


def test_d1_a_sandbox_download_cut_mid_body_is_resumed_from_the_sandbox(
    store: ClipStore, sandbox_clip: tuple[Any, str, bytes]
) -> None:
    server, url, served = sandbox_clip
    server.faults.add(route="download", kind="truncated_download", count=1, fraction=0.4)
    with CometClient(backend_for(server)) as client:
        clip = store.download(lambda headers: client.open_download(url, headers=headers), "kling")
    assert sandbox_downloads(server) == [200, 206]  # the sandbox answered our Range with the rest
    assert_kept(store, clip, served)


def test_d9_a_416_from_the_sandbox_keeps_a_part_that_is_already_whole(
    store: ClipStore, sandbox_clip: tuple[Any, str, bytes]
) -> None:
    server, url, served = sandbox_clip
    first = httpx.Response(200, headers={"Content-Type": "video/mp4", "Content-Length": str(len(served))},
                           stream=_BreaksOff(served, httpx.RemoteProtocolError("closed before the chunk end")),
                           request=httpx.Request("GET", url))
    with CometClient(backend_for(server)) as client:

        def open_stream(headers: dict[str, str]) -> contextlib.AbstractContextManager[httpx.Response]:
            if not headers:  # our seam: the first stream breaks after its last byte, before the end of the body
                return contextlib.nullcontext(first)
            return client.open_download(url, headers=headers)

        clip = store.download(open_stream, "kling")
    assert sandbox_downloads(server) == [416]  # the real `Range: bytes=<size>-`, refused by the sandbox
    assert_kept(store, clip, served)


# -- D3: slow drip and tiny slices, on the store's clock -----------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Drip(httpx.SyncByteStream):
    """Sends `body` in `size`-byte slices, each taking `seconds` on the store's clock."""

    def __init__(self, body: bytes, size: int, seconds: float, clock: FakeClock) -> None:
        self.body, self.size, self.seconds, self.clock, self.sent = body, size, seconds, clock, 0

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.body), self.size):
            self.clock.now += self.seconds
            self.sent += 1
            yield self.body[i : i + self.size]


def padded(mp4: bytes, size: int) -> bytes:
    """A real clip grown to `size` bytes with a trailing `free` box, so a drip can run past the watchdog window."""
    pad = size - len(mp4)
    return mp4 + struct.pack(">I4s", pad, b"free") + b"\0" * (pad - 8)


def dripping(body: bytes, size: int, seconds: float, clock: FakeClock) -> tuple[Opener, _Drip, list[httpx.Request]]:
    drip = _Drip(body, size, seconds, clock)
    answer = lambda request: httpx.Response(200, stream=drip, headers={  # noqa: E731
        "Content-Type": "video/mp4", "Content-Length": str(len(body))})
    stream, seen = scripted(answer)
    return stream, drip, seen


def test_d3_a_1_kb_per_second_drip_is_aborted_as_a_timeout_and_keeps_nothing(
    tmp_path: Path, silent_mp4: bytes
) -> None:
    clock = FakeClock()
    store = ClipStore(tmp_path / "c", min_free_bytes=0, clock=clock)
    stream, drip, seen = dripping(padded(silent_mp4, 300_000), 1024, 1.0, clock)
    err = expect(ErrorKind.TIMEOUT, lambda: store.download(stream, "t"), TransientError)
    assert "slower than" in err.message
    assert drip.sent <= clipstore_module.THROUGHPUT_WINDOW_S + 1  # stopped after one window, not 293 s later
    assert len(seen) == 1  # a watchdog abort is not resumed
    assert leftovers(store) == []


def test_d3_tiny_slices_at_a_good_rate_are_accepted(tmp_path: Path, silent_mp4: bytes) -> None:
    clock = FakeClock()
    store = ClipStore(tmp_path / "c", max_bytes=8 * 2**20, min_free_bytes=0, clock=clock)
    body = padded(silent_mp4, 3 * 2**20)
    stream, drip, _ = dripping(body, 1024, 1 / 40, clock)  # 40 KiB/s in 1 KiB slices, above the 32 KiB/s floor
    clip = store.download(stream, "t")
    assert clock.now - 1000.0 > 1.2 * clipstore_module.THROUGHPUT_WINDOW_S  # the watchdog window closed at least once
    assert_kept(store, clip, body)


def test_d3_the_overall_deadline_aborts_a_download_at_a_good_rate(tmp_path: Path, silent_mp4: bytes) -> None:
    clock = FakeClock()
    store = ClipStore(tmp_path / "c", max_bytes=8 * 2**20, min_free_bytes=0, clock=clock, deadline_s=30)
    stream, drip, seen = dripping(padded(silent_mp4, 3 * 2**20), 1024, 1 / 40, clock)
    err = expect(ErrorKind.TIMEOUT, lambda: store.download(stream, "t"), TransientError)
    assert "longer than 30 s" in err.message
    assert drip.sent <= 30 * 40 + 1 and len(seen) == 1
    assert leftovers(store) == []


def test_d3_the_deadline_spans_resumes(tmp_path: Path, silent_mp4: bytes) -> None:
    clock = FakeClock()
    store = ClipStore(tmp_path / "c", max_bytes=8 * 2**20, min_free_bytes=0, clock=clock, deadline_s=30)
    body = padded(silent_mp4, 1600 * 1024)
    first = _Drip(body[:800 * 1024], 1024, 1 / 40, clock)  # 20 s, then the connection drops
    # The rest alone also takes 20 s: only a deadline counted across both responses (40 s) trips.

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_BreaksOff(b"".join(first), httpx.ReadError("reset")),
                              headers={"Content-Type": "video/mp4", "Content-Length": str(len(body))})

    def rest(request: httpx.Request) -> httpx.Response:
        return httpx.Response(206, stream=_Drip(body[800 * 1024:], 1024, 1 / 40, clock), headers={
            "Content-Type": "video/mp4", "Content-Range": f"bytes {800 * 1024}-{len(body) - 1}/{len(body)}"})

    stream, seen = scripted(broken, rest)
    err = expect(ErrorKind.TIMEOUT, lambda: store.download(stream, "t"), TransientError)
    assert "longer than 30 s" in err.message and ranges_of(seen) == [None, f"bytes={800 * 1024}-"]
    assert leftovers(store) == []


@pytest.mark.parametrize(("validators", "if_range"), [
    ({"ETag": '"v1"', "Last-Modified": "Tue, 24 Nov 2026 08:00:00 GMT"}, '"v1"'),
    ({"ETag": 'W/"v1"', "Last-Modified": "Tue, 24 Nov 2026 08:00:00 GMT"}, "Tue, 24 Nov 2026 08:00:00 GMT"),
    ({}, None)])
def test_d9_a_resume_names_the_file_it_continues_with_if_range(
        store: ClipStore, silent_mp4: bytes, validators: dict[str, str], if_range: str | None) -> None:
    stream, seen = scripted(cut(silent_mp4, 1000, headers=validators), ranged(silent_mp4))
    assert_kept(store, store.download(stream, "t"), silent_mp4)
    assert seen[1].headers.get("if-range") == if_range


def test_d9_a_file_replaced_between_requests_comes_back_whole_and_only_it_is_kept(store: ClipStore,
                                                                                  silent_mp4: bytes) -> None:
    replaced = padded(silent_mp4, len(silent_mp4) + 4096)  # another clip now lives at the URL

    def cdn(request: httpx.Request) -> httpx.Response:  # honours If-Range: the old ETag no longer matches
        assert request.headers["if-range"] == '"old"'
        return httpx.Response(200, content=replaced, headers={"Content-Type": "video/mp4", "ETag": '"new"'})

    stream, _ = scripted(cut(silent_mp4, 1000, headers={"ETag": '"old"'}), cdn)
    assert_kept(store, store.download(stream, "t"), replaced)


def test_a_part_whose_writer_is_gone_is_swept_at_the_next_start_whatever_its_age(tmp_path):
    store = ClipStore(tmp_path / "clips")
    orphan = orphan_part(store.root)  # its writer has exited: nothing will ever finish it
    dead_pid = re.search(r"\.w(\d+)-", orphan.name).group(1)
    mine = store.root / f"b.mp4.{clipstore_module._part_owner()}.part"
    mine.write_bytes(b"being written by this process")
    elsewhere = store.root / f"c.mp4.w{dead_pid}-00000000.part"  # another host's: its pid means nothing here
    elsewhere.write_bytes(b"?")
    assert store.sweep_partials(older_than_s=3600) == [orphan]
    assert sorted(p.name for p in store.root.glob("*.part")) == sorted([mine.name, elsewhere.name])
