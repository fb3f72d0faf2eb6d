"""reliability.md §4 download rows D4 (no Content-Length), D6 (an error body under a 200), D7 (a valid ftyp, garbage
after) and D10 (gzip despite `Accept-Encoding: identity`), each injected by the real sandbox on its download or
`/content` route and met by the real runner, client and clip store."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import downloads, run_one, submits, wait_state

from jobs.clipstore import ClipStore
from jobs.ledger import Job, JobState
from jobs.runner import DOWNLOAD_INVALID_RETRIES
from providers.errors import ErrorKind

ENDED = {JobState.DOWNLOADED, JobState.FAILED, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED, JobState.STALE,
         JobState.CANCELED}
FAST = {"render_times": {"*": (5, 10)}}
EVERY_TRY = DOWNLOAD_INVALID_RETRIES + 1
"""A fault with this count answers every download the runner tries before it gives up."""

# (model, sandbox shapes, the route the runner downloads from): Kling's signed CDN URL, Veo's `/content`.
ROUTES = [
    pytest.param("kling-v1-6", {}, "download", id="download"),
    pytest.param("veo3.1-fast", {"veo": "content_only"}, "content", id="content"),
]


def leftovers(store: ClipStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir())


def served(server: Any) -> bytes:
    return Path(server.config.prerendered_clip).read_bytes()


def run_with_fault(make_sandbox, make_runner, tmp_path: Path, model: str, shapes: dict[str, str], route: str,
                   kind: str, count: int, **params: Any) -> tuple[Any, ClipStore, Job]:
    server = make_sandbox(shapes=shapes, **FAST)
    server.faults.add(route=route, kind=kind, count=count, **params)
    store = ClipStore(tmp_path / "clips", min_free_bytes=0)
    runner = make_runner(clips=store)
    job = wait_state(runner, run_one(runner, server, model), ENDED, timeout=20)
    return server, store, job


def assert_kept_the_served_clip(server: Any, store: ClipStore, job: Job) -> None:
    """DOWNLOADED with the very bytes the sandbox serves, and nothing else in the clips folder."""
    assert job.state == JobState.DOWNLOADED, f"{job.state}: {job.error_kind} {job.error_message}"
    clip = store.path_of(job.clip_path)
    assert clip.read_bytes() == served(server)
    assert job.clip_sha256 == hashlib.sha256(served(server)).hexdigest()
    assert store.verify(clip, job.clip_sha256, clip.stat().st_size)
    assert leftovers(store) == sorted([clip.name, store.thumbnail_for(clip).name])  # no .part, no stray clip
    assert len(submits(server)) == 1


def assert_failed_invalid_and_kept_nothing(server: Any, store: ClipStore, job: Job, kind: str) -> None:
    assert job.state == JobState.FAILED, f"{job.state}: {job.error_kind} {job.error_message}"
    assert job.error_kind == str(ErrorKind.DOWNLOAD_INVALID)
    assert not job.clip_path and leftovers(store) == []
    assert [r["fault"] for r in downloads(server)] == [kind] * EVERY_TRY
    assert len(submits(server)) == 1  # a bad download is fetched again, never paid for again


# -- D4: no Content-Length (chunked) ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model, shapes, route", ROUTES)
def test_d4_a_chunked_clip_without_content_length_is_kept_whole(make_sandbox, make_runner, tmp_path: Path,
                                                                 model, shapes, route) -> None:
    server, store, job = run_with_fault(make_sandbox, make_runner, tmp_path, model, shapes, route, "chunked", 1)
    assert_kept_the_served_clip(server, store, job)
    assert [(r["route"], r["fault"]) for r in downloads(server)] == [(route, "chunked")]  # kept on the first try


@pytest.mark.parametrize("model, shapes, route", ROUTES)
def test_d4_a_chunked_body_cut_short_is_rejected_and_fetched_again(make_sandbox, make_runner, tmp_path: Path,
                                                                   model, shapes, route) -> None:
    server, store, job = run_with_fault(make_sandbox, make_runner, tmp_path, model, shapes, route, "chunked", 1,
                                        fraction=0.5)
    assert_kept_the_served_clip(server, store, job)
    assert [r["fault"] for r in downloads(server)] == ["chunked", None]


def test_d4_a_body_cut_short_every_time_fails_as_invalid_by_the_box_walk(make_sandbox, make_runner,
                                                                         tmp_path: Path) -> None:
    server, store, job = run_with_fault(make_sandbox, make_runner, tmp_path, "kling-v1-6", {}, "download",
                                        "chunked", EVERY_TRY, fraction=0.5)
    assert_failed_invalid_and_kept_nothing(server, store, job, "chunked")
    # Nothing on the wire said it was short: only the MP4's own box sizes did.
    assert "declares" in job.error_message and "file ends" in job.error_message, job.error_message


# -- D6: a JSON, XML or HTML error body under a 200 ------------------------------------------------------------------

ERROR_BODIES = [
    # CometAPI's /content before the video is ready, answered 200.
    pytest.param("veo3.1-fast", {"veo": "content_only"}, "content", "error_json", {}, id="comet-json-on-content"),
    # S3 refusing the object, as application/xml and as an untyped blob (only the magic check can tell).
    pytest.param("kling-v1-6", {}, "download", "error_xml", {}, id="s3-xml"),
    pytest.param("kling-v1-6", {}, "download", "error_xml", {"content_type": "binary/octet-stream"},
                 id="s3-xml-untyped"),
    # A CDN's HTML page.
    pytest.param("kling-v1-6", {}, "download", "html_error_page", {"status": 200}, id="cdn-html"),
]


@pytest.mark.parametrize("model, shapes, route, kind, params", ERROR_BODIES)
def test_d6_an_error_body_under_a_200_is_never_kept_and_the_clip_is_fetched_again(
        make_sandbox, make_runner, tmp_path: Path, model, shapes, route, kind, params) -> None:
    server, store, job = run_with_fault(make_sandbox, make_runner, tmp_path, model, shapes, route, kind, 1, **params)
    assert_kept_the_served_clip(server, store, job)
    assert [(r["status"], r["fault"]) for r in downloads(server)] == [(200, kind), (200, None)]


@pytest.mark.parametrize("model, shapes, route, kind, params, says", [
    pytest.param(*p.values, says, id=p.id) for p, says in zip(ERROR_BODIES, [
        "returned application/json, not a video: Video is not ready",  # the provider's own words
        "returned application/xml, not a video: AccessDenied",  # S3's code
        "box",  # untyped: only the box walk can tell, from the "<?xm" where a box header should be
        "returned text/html, not a video: 200 Bad Gateway",  # the page's title
    ], strict=True)])
def test_d6_an_error_body_every_time_fails_the_job_as_download_invalid(
        make_sandbox, make_runner, tmp_path: Path, model, shapes, route, kind, params, says) -> None:
    server, store, job = run_with_fault(make_sandbox, make_runner, tmp_path, model, shapes, route, kind, EVERY_TRY,
                                        **params)
    assert_failed_invalid_and_kept_nothing(server, store, job, kind)
    assert says in job.error_message, job.error_message
    assert "sig=" not in job.error_message  # the signed URL is shown without its signature


# -- D7: a valid ftyp, garbage later ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model, shapes, route", ROUTES)
def test_d7_a_corrupt_clip_with_a_true_length_is_rejected_and_fetched_again(make_sandbox, make_runner,
                                                                            tmp_path: Path, model, shapes,
                                                                            route) -> None:
    server, store, job = run_with_fault(make_sandbox, make_runner, tmp_path, model, shapes, route, "corrupt_clip", 1,
                                        keep_bytes=4096)
    assert_kept_the_served_clip(server, store, job)
    assert [r["fault"] for r in downloads(server)] == ["corrupt_clip", None]


@pytest.mark.parametrize("keep_bytes", [0, 4096])
def test_d7_a_corrupt_clip_every_time_fails_as_invalid_by_the_box_walk(make_sandbox, make_runner, tmp_path: Path,
                                                                       keep_bytes) -> None:
    server, store, job = run_with_fault(make_sandbox, make_runner, tmp_path, "kling-v1-6", {}, "download",
                                        "corrupt_clip", EVERY_TRY, keep_bytes=keep_bytes)
    assert_failed_invalid_and_kept_nothing(server, store, job, "corrupt_clip")
    assert "box" in job.error_message, job.error_message


# -- D10: Content-Encoding gzip on the MP4 ----------------------------------------------------------------------------


@pytest.mark.parametrize("model, shapes, route", ROUTES)
def test_d10_a_gzip_encoded_clip_is_decoded_and_kept(make_sandbox, make_runner, tmp_path: Path, model, shapes,
                                                     route) -> None:
    server, store, job = run_with_fault(make_sandbox, make_runner, tmp_path, model, shapes, route, "gzip", 1)
    assert_kept_the_served_clip(server, store, job)
    assert [(r["status"], r["fault"]) for r in downloads(server)] == [(200, "gzip")]  # kept on the first try
