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

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from jobs_helpers import encode_clip
from PIL import Image

from jobs import clipstore as clipstore_module
from jobs.clipstore import ClipInfo, ClipStore, StorageError
from jobs.probe import check_mp4, probe
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


def opener(handler: Callable[[httpx.Request], httpx.Response]) -> Callable[[], contextlib.AbstractContextManager]:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return lambda: client.stream("GET", URL, headers={"Accept-Encoding": "identity"})


def serve(body: bytes, *, content_type: str = "video/mp4", length: int | None = -1, chunk: int = 997,
          headers: dict[str, str] | None = None) -> Callable[[], contextlib.AbstractContextManager]:
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
def raw_server(body: bytes, *, declared: int, send: int, reset: bool) -> Iterator[str]:
    """Answers one GET with `declared` Content-Length but only `send` bytes, then closes or resets."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {declared}\r\n\r\n".encode())
            conn.sendall(body[:send])
            if reset:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{port}/clip.mp4"
    finally:
        t.join(timeout=5)
        listener.close()


@pytest.mark.parametrize("reset", [False, True], ids=["D1-truncated", "D2-reset"])
def test_a_connection_lost_mid_body_is_transient_and_keeps_nothing(
    store: ClipStore, silent_mp4: bytes, reset: bool
) -> None:
    with raw_server(silent_mp4, declared=len(silent_mp4), send=len(silent_mp4) // 2, reset=reset) as url, \
            httpx.Client() as client:
        err = expect(ErrorKind.PROVIDER_OUTAGE, lambda: store.download(lambda: client.stream("GET", url), "t"),
                     TransientError)
    assert "interrupted" in err.message
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

    def open_stream() -> contextlib.AbstractContextManager[httpx.Response]:
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
