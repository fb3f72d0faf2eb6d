"""Every documented response shape of the four families, driven through the client with httpx.MockTransport.

Bodies come from tests/fixtures/wire/ (verbatim reference samples). Shapes the reference describes in
words only (a failure, a later status) are derived from a loaded sample by changing the named fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers import taxonomy
from providers.client import Backend, CometClient
from providers.errors import (
    ErrorKind,
    MalformedResponse,
    ProviderError,
    TaskNotFoundYet,
    TransientError,
)
from providers.families import _common, kling, openai_videos, runway
from providers.http import RateLimiter, RetryBudget
from providers.recipe import ModelOptions, Recipe
from providers.status import TaskState
from providers.submission import CostEstimate, Submission, WireFile, WireRequest

WIRE = Path(__file__).resolve().parents[1] / "fixtures" / "wire"
BASE = "https://api.cometapi.com"
KEY = "sk-test-families-0123456789"


def wire(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def wire_json(name: str) -> dict[str, Any]:
    return json.loads(wire(name))


def derived(name: str, *path_and_values: tuple[tuple[str, ...], Any]) -> bytes:
    """A loaded sample with the named fields set (None-valued with `...` removes the field)."""
    data = wire_json(name)
    for path, value in path_and_values:
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is ...:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return json.dumps(data).encode()


class Script:
    """A fake CometAPI: answers each request with the next scripted response and records requests."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.responses.pop(0)


def ok(body: bytes, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"content-type": "application/json", **headers})


def make_client(script: Script) -> CometClient:
    return CometClient(Backend(BASE, KEY), transport=httpx.MockTransport(script), budget=RetryBudget(),
                       limiter=RateLimiter(rate=1000, burst=1000), sleep=lambda s: None)


def submission(family: str, path: str, *, json_body: dict[str, Any] | None = None,
               form: dict[str, str] | None = None, files: tuple[WireFile, ...] = (),
               headers: dict[str, str] | None = None) -> Submission:
    return Submission(
        model_id="model", family=family, recipe=Recipe(prompt="a paper airplane"), options=ModelOptions(),
        request=WireRequest(method="POST", path=path, json=json_body, form=form, files=files, headers=headers or {}),
        poll_path_template=path + "/{task_id}", content_path_template=None, report=(),
        cost=CostEstimate(0.4, 0.4, True, "$0.05/s x 8 s", "test", "2026-01-01"),
        requested_duration_s=8, requested_size=None, has_audio=False,
    )


# ---------------------------------------------------------------------------------------------
# Veo / Sora on /v1/videos
# ---------------------------------------------------------------------------------------------


def test_veo_gen_a_submit_poll_complete_through_the_client() -> None:
    script = Script(ok(wire("veo/submit_gen_a.json")), ok(wire("veo/poll_gen_a_queued.json")),
                    ok(wire("veo/completed_cdoc.json")))
    png = WireFile("input_reference", "first.png", b"\x89PNG fake", "image/png")
    with make_client(script) as client:
        sub = submission("veo", "/v1/videos", form={"model": "veo3-fast", "prompt": "p", "size": "16x9"},
                         files=(png, WireFile("input_reference", "last.png", b"\x89PNG 2", "image/png")))
        first = client.submit(sub)
        queued = client.poll("veo", f"/v1/videos/{first.task_id}")
        done = client.poll("veo", f"/v1/videos/{first.task_id}")

    assert first.task_id == "task_pa9CKKtYlTdxO7IIHOKKhXfjxEu4EQoR"
    assert (first.state, first.progress, first.created_at) == (TaskState.QUEUED, 0, 1773297229.0)
    assert queued.state is TaskState.QUEUED
    assert (done.state, done.progress, done.video_url) == (TaskState.SUCCEEDED, 100, "https://…")
    assert done.finished_at == 1773297529.0
    post = script.requests[0]
    assert post.headers["authorization"] == f"Bearer {KEY}"
    assert post.headers["content-type"].startswith("multipart/form-data")
    assert post.content.count(b'name="input_reference"') == 2
    assert b'name="size"' in post.content and b"16x9" in post.content
    assert script.requests[1].url.path == "/v1/videos/task_pa9CKKtYlTdxO7IIHOKKhXfjxEu4EQoR"


def test_text_only_veo_submit_is_still_multipart() -> None:
    script = Script(ok(wire("videos/generic_submit.json")))
    with make_client(script) as client:
        status = client.submit(submission("veo", "/v1/videos", form={"model": "veo3.1-fast", "prompt": "p"}))
    assert status.task_id == "task_example"
    assert script.requests[0].headers["content-type"].startswith("multipart/form-data")


def test_gen_b_completed_with_video_url() -> None:
    status = openai_videos.parse_poll(200, {}, wire("videos/generic_completed.json"))
    assert (status.state, status.video_url, status.finished_at) == (TaskState.SUCCEEDED, "<url>", 1779872300.0)


def test_gen_b_completed_without_video_url_leaves_the_content_route_to_the_caller() -> None:
    status = openai_videos.parse_poll(200, {}, derived("videos/generic_completed.json", (("video_url",), ...)))
    assert status.state is TaskState.SUCCEEDED
    assert status.video_url is None


def test_gen_b_falls_back_to_metadata_url() -> None:
    body = derived("videos/generic_completed.json", (("video_url",), ...),
                   (("metadata",), {"url": "https://cdn.example/v.mp4"}))
    assert openai_videos.parse_poll(200, {}, body).video_url == "https://cdn.example/v.mp4"


def test_legacy_wrapped_succeeded_with_output() -> None:
    status = openai_videos.parse_poll(200, {}, wire("videos/legacy_succeeded_output.json"))
    assert (status.task_id, status.state, status.video_url) == ("…", TaskState.SUCCEEDED, "…")
    only_output = derived("videos/legacy_succeeded_output.json", (("data", "url"), ...),
                          (("data", "output"), ["https://cdn.example/out.mp4"]))
    assert openai_videos.parse_poll(200, {}, only_output).video_url == "https://cdn.example/out.mp4"


def test_tutorial_shape_unwrapped_succeeded_output() -> None:
    body = derived("videos/generic_completed.json", (("status",), "succeeded"), (("video_url",), ...),
                   (("output",), ["https://cdn.example/tut.mp4"]))
    status = openai_videos.parse_poll(200, {}, body)
    assert (status.state, status.video_url) == (TaskState.SUCCEEDED, "https://cdn.example/tut.mp4")


def test_sora_create_and_retrieve() -> None:
    script = Script(ok(wire("sora/create.json")), ok(wire("sora/retrieve_in_progress.json")))
    with make_client(script) as client:
        created = client.submit(submission("sora", "/v1/videos", form={"model": "sora-2", "seconds": "4"}))
        running = client.poll("sora", f"/v1/videos/{created.task_id}")
    assert created.task_id == "video_69b25d5f467c81908733a56bc236b4df"
    assert created.state is TaskState.QUEUED
    assert (running.state, running.progress, running.expires_at) == (TaskState.RUNNING, 0, None)


def test_sora_task_ids_are_opaque() -> None:
    body = derived("sora/retrieve_in_progress.json", (("id",), "task_abcDEF0123456789abcdef0123456789"))
    assert openai_videos.parse_poll(200, {}, body).task_id == "task_abcDEF0123456789abcdef0123456789"


def test_sora_completed_has_expiry() -> None:
    body = derived("sora/retrieve_in_progress.json", (("status",), "completed"), (("progress",), 100),
                   (("completed_at",), 1773297091), (("expires_at",), 1773300691),
                   (("video_url",), "https://cdn.example/sora.mp4"))
    status = openai_videos.parse_poll(200, {}, body)
    assert (status.state, status.expires_at, status.video_url) == (
        TaskState.SUCCEEDED, 1773300691.0, "https://cdn.example/sora.mp4")


def test_sora_moderation_failure_is_content_policy() -> None:
    body = derived("sora/retrieve_in_progress.json", (("status",), "failed"),
                   (("error",), {"code": "moderation_blocked",
                                 "message": "Your request was blocked by our moderation system."}))
    status = openai_videos.parse_poll(200, {}, body)
    assert status.state is TaskState.FAILED
    assert status.error_kind is ErrorKind.CONTENT_POLICY
    assert status.error_message == "Your request was blocked by our moderation system."


def test_failure_without_a_message_is_reported_as_a_likely_content_filter() -> None:
    body = derived("sora/retrieve_in_progress.json", (("status",), "failed"))
    status = openai_videos.parse_poll(200, {}, body)
    assert status.error_kind is ErrorKind.CONTENT_POLICY
    assert "content filter" in taxonomy.verdict_for_task_failure(None, None).charged_reason


def test_generic_failure_with_a_message_is_a_task_failure() -> None:
    body = derived("sora/retrieve_in_progress.json", (("status",), "error"),
                   (("error",), {"code": "", "message": "upstream render crashed"}))
    status = openai_videos.parse_poll(200, {}, body)
    assert (status.state, status.error_kind) == (TaskState.FAILED, ErrorKind.TASK_FAILED)


# new-api's tolerant vocabulary (cometapi-video-api.md §2) plus the /v1/videos values.
VOCABULARY = {
    TaskState.QUEUED: ["queued", "pending", "submitted", "not_start", "preparing", "unknown", "created", "starting"],
    TaskState.RUNNING: ["processing", "in_progress", "running", "generating"],
    TaskState.SUCCEEDED: ["completed", "complete", "success", "succeeded", "finished"],
    TaskState.FAILED: ["failed", "failure", "fail", "error"],
    TaskState.CANCELED: ["cancelled", "canceled"],
}


@pytest.mark.parametrize(("word", "expected"), [(w, s) for s, ws in VOCABULARY.items() for w in ws])
def test_tolerant_status_vocabulary(word: str, expected: TaskState) -> None:
    body = derived("sora/retrieve_in_progress.json", (("status",), word.upper() if len(word) % 2 else word))
    assert openai_videos.parse_poll(200, {}, body).state is expected


@pytest.mark.parametrize("word", ["rendering_v2", "paused", "ELSEWHERE", "42"])
def test_unknown_status_keeps_polling(word: str) -> None:
    body = derived("sora/retrieve_in_progress.json", (("status",), word))
    state = openai_videos.parse_poll(200, {}, body).state
    assert not state.terminal


# ---------------------------------------------------------------------------------------------
# Kling
# ---------------------------------------------------------------------------------------------


def test_kling_submit_poll_succeed_through_the_client() -> None:
    script = Script(ok(wire("kling/submit_cdoc.json")), ok(wire("kling/poll_processing.json")),
                    ok(wire("kling/success_reconstructed.json")))
    with make_client(script) as client:
        sub = submission("kling", "/kling/v1/videos/image2video",
                         json_body={"model_name": "kling-v2-1-master", "image": "aGVsbG8=", "duration": "5"})
        first = client.submit(sub)
        running = client.poll("kling", f"/kling/v1/videos/image2video/{first.task_id}")
        done = client.poll("kling", "/kling/v1/videos/image2video/x")
    assert (first.task_id, first.state) == ("2032273942220931072", TaskState.QUEUED)
    assert first.created_at == pytest.approx(1773366840.306)  # milliseconds became seconds
    assert running.state is TaskState.RUNNING
    assert (done.state, done.video_url) == (TaskState.SUCCEEDED, "https://…mp4")
    assert done.finished_at == pytest.approx(1777385663.321)
    assert json.loads(script.requests[0].content)["image"] == "aGVsbG8="
    assert script.requests[0].headers["content-type"] == "application/json"


def test_kling_failed_carries_task_status_msg() -> None:
    body = derived("kling/success_reconstructed.json", (("data", "task_status"), "failed"),
                   (("data", "task_status_msg"), "Failure to pass the risk control system"),
                   (("data", "task_result"), {}))
    status = kling.parse_poll(200, {}, body)
    assert (status.state, status.video_url) == (TaskState.FAILED, None)
    assert status.error_message == "Failure to pass the risk control system"


@pytest.mark.parametrize(
    ("http_status", "code", "kind", "transient"),
    [
        (401, 1000, ErrorKind.AUTH, False),
        (401, 1004, ErrorKind.AUTH, False),
        (429, 1100, ErrorKind.BILLING, False),
        (429, 1101, ErrorKind.BILLING, False),
        (429, 1102, ErrorKind.BILLING, False),
        (400, 1201, ErrorKind.VALIDATION, False),
        (400, 1300, ErrorKind.CONTENT_POLICY, False),
        (400, 1301, ErrorKind.CONTENT_POLICY, False),
        (429, 1302, ErrorKind.RATE_LIMITED, True),
        (429, 1303, ErrorKind.RATE_LIMITED, True),
        (500, 5000, ErrorKind.PROVIDER_OUTAGE, True),
        (503, 5001, ErrorKind.PROVIDER_OUTAGE, True),
        (200, 1303, ErrorKind.RATE_LIMITED, True),
        (200, 1102, ErrorKind.BILLING, False),
    ],
)
def test_kling_error_codes(http_status: int, code: int, kind: ErrorKind, transient: bool) -> None:
    body = derived("kling/submit_cdoc.json", (("code",), code), (("message",), "kling says no"), (("data",), None))
    with pytest.raises(ProviderError) as caught:
        kling.parse_submit(http_status, {}, body)
    assert caught.value.kind is kind
    assert isinstance(caught.value, TransientError) is transient
    assert caught.value.provider_code == str(code)
    assert caught.value.status_code == http_status


def test_kling_rate_limit_on_submit_is_requeued_not_unknown() -> None:
    body = derived("kling/submit_cdoc.json", (("code",), 1303),
                   (("message",), "parallel task over resource pack limit"), (("data",), None))
    script = Script(ok(body, 429, **{"retry-after": "7"}))
    with make_client(script) as client, pytest.raises(TransientError) as caught:
        client.submit(submission("kling", "/kling/v1/videos/text2video", json_body={"prompt": "p"}))
    assert (caught.value.kind, caught.value.retry_after_s) == (ErrorKind.RATE_LIMITED, 7.0)
    assert len(script.requests) == 1


def test_kling_answered_in_the_openai_video_dialect_is_accepted() -> None:
    status = kling.parse_poll(200, {}, derived("videos/generic_completed.json", (("video_url",), ...),
                                               (("metadata",), {"url": "https://cdn.example/k.mp4"})))
    assert (status.state, status.video_url) == (TaskState.SUCCEEDED, "https://cdn.example/k.mp4")


# ---------------------------------------------------------------------------------------------
# Runway
# ---------------------------------------------------------------------------------------------


def test_runway_submit_not_exist_then_wrapped_then_bare_through_the_client() -> None:
    script = Script(ok(wire("runway/submit.json")), ok(wire("common/task_error_task_not_exist.json"), 400),
                    ok(wire("runway/poll_wrapped_queued.json")), ok(wire("runway/poll_bare_succeeded.json")))
    with make_client(script) as client:
        sub = submission("runway", "/runwayml/v1/image_to_video",
                         json_body={"model": "gen4_turbo", "promptImage": "https://img.example/a.png"},
                         headers={"X-Runway-Version": "2024-11-06"})
        first = client.submit(sub)
        with pytest.raises(TaskNotFoundYet) as not_yet:
            client.poll("runway", f"/runwayml/v1/tasks/{first.task_id}")
        queued = client.poll("runway", f"/runwayml/v1/tasks/{first.task_id}")
        done = client.poll("runway", f"/runwayml/v1/tasks/{first.task_id}")
    assert (first.task_id, first.state) == ("3d957031-9a2a-45e2-9dc7-bc8513059c50", TaskState.QUEUED)
    assert script.requests[0].headers["x-runway-version"] == "2024-11-06"
    assert not_yet.value.status_code == 400
    assert len(script.requests) == 4  # task_not_exist is handed to the caller, not retried in place
    assert (queued.state, queued.progress) == (TaskState.QUEUED, 0)
    assert (done.state, done.video_url) == (TaskState.SUCCEEDED, "https://example.com/output.mp4")


WRAPPED = "runway/poll_wrapped_queued.json"
BARE = "runway/poll_bare_succeeded.json"


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [("NOT_START", "PENDING", TaskState.QUEUED), ("SUBMITTED", "PENDING", TaskState.QUEUED),
     ("QUEUED", "PENDING", TaskState.QUEUED), ("IN_PROGRESS", "RUNNING", TaskState.RUNNING),
     ("SUCCESS", "SUCCEEDED", TaskState.SUCCEEDED), ("FAILURE", "FAILED", TaskState.FAILED),
     ("FAILURE", "CANCELLED", TaskState.CANCELED),  # new-api has no cancelled status of its own
     ("", "RUNNING", TaskState.RUNNING)],
)
def test_runway_wrapped_statuses(outer: str, inner: str, expected: TaskState) -> None:
    body = derived(WRAPPED, (("data", "status"), outer), (("data", "data", "status"), inner))
    assert runway.parse_poll(200, {}, body).state is expected


def test_runway_wrapped_progress_percent_string() -> None:
    body = derived(WRAPPED, (("data", "status"), "IN_PROGRESS"), (("data", "progress"), "45%"))
    assert runway.parse_poll(200, {}, body).progress == 45


def test_runway_wrapped_success_reads_inner_output() -> None:
    body = derived(WRAPPED, (("data", "status"), "SUCCESS"), (("data", "progress"), "100%"),
                   (("data", "data", "status"), "SUCCEEDED"), (("data", "data", "output"), ["https://r.example/o.mp4"]))
    status = runway.parse_poll(200, {}, body)
    assert (status.state, status.video_url, status.progress) == (TaskState.SUCCEEDED, "https://r.example/o.mp4", 100)


def test_runway_wrapped_success_result_url_and_legacy_fail_reason_url() -> None:
    with_result = derived(WRAPPED, (("data", "status"), "SUCCESS"), (("data", "result_url"), "https://r.example/r.mp4"))
    legacy = derived(WRAPPED, (("data", "status"), "SUCCESS"), (("data", "fail_reason"), "https://r.example/f.mp4"))
    assert runway.parse_poll(200, {}, with_result).video_url == "https://r.example/r.mp4"
    assert runway.parse_poll(200, {}, legacy).video_url == "https://r.example/f.mp4"


@pytest.mark.parametrize(
    ("failure_code", "kind"),
    [("SAFETY.INPUT.TEXT", ErrorKind.CONTENT_POLICY), ("INPUT_PREPROCESSING.SAFETY.TEXT", ErrorKind.CONTENT_POLICY),
     ("INTERNAL.BAD_OUTPUT.CODE01", ErrorKind.PROVIDER_OUTAGE)],
)
def test_runway_wrapped_failure_codes(failure_code: str, kind: ErrorKind) -> None:
    body = derived(WRAPPED, (("data", "status"), "FAILURE"), (("data", "fail_reason"), "task failed"),
                   (("data", "data", "status"), "FAILED"), (("data", "data", "failure"), "Runway refused it"),
                   (("data", "data", "failureCode"), failure_code))
    status = runway.parse_poll(200, {}, body)
    assert (status.state, status.error_kind, status.error_code) == (TaskState.FAILED, kind, failure_code)
    assert status.error_message == "Runway refused it"


@pytest.mark.parametrize(
    ("status_word", "expected"),
    [("PENDING", TaskState.QUEUED), ("THROTTLED", TaskState.QUEUED), ("RUNNING", TaskState.RUNNING),
     ("SUCCEEDED", TaskState.SUCCEEDED), ("FAILED", TaskState.FAILED), ("CANCELLED", TaskState.CANCELED)],
)
def test_runway_bare_statuses(status_word: str, expected: TaskState) -> None:
    assert runway.parse_poll(200, {}, derived(BARE, (("status",), status_word))).state is expected


def test_runway_bare_progress_is_a_fraction() -> None:
    body = derived(BARE, (("status",), "RUNNING"), (("progress",), 0.37), (("output",), ...))
    status = runway.parse_poll(200, {}, body)
    assert (status.state, status.progress, status.video_url) == (TaskState.RUNNING, 37, None)


def test_runway_bare_failure_with_code() -> None:
    body = derived(BARE, (("status",), "FAILED"), (("output",), ...), (("failure",), "An unexpected error occurred"),
                   (("failureCode",), "INTERNAL.BAD_OUTPUT.CODE01"))
    status = runway.parse_poll(200, {}, body)
    assert (status.error_kind, status.error_code) == (ErrorKind.PROVIDER_OUTAGE, "INTERNAL.BAD_OUTPUT.CODE01")


# ---------------------------------------------------------------------------------------------
# Errors shared by every family
# ---------------------------------------------------------------------------------------------

ALL_PARSERS = [openai_videos.parse_submit, openai_videos.parse_poll, kling.parse_submit, kling.parse_poll,
               runway.parse_submit, runway.parse_poll]


@pytest.mark.parametrize("parse", ALL_PARSERS)
@pytest.mark.parametrize(
    ("http_status", "kind", "transient"),
    [(400, ErrorKind.VALIDATION, False), (401, ErrorKind.AUTH, False), (403, ErrorKind.AUTH, False),
     (404, ErrorKind.NOT_FOUND, False), (429, ErrorKind.RATE_LIMITED, True), (500, ErrorKind.PROVIDER_OUTAGE, True),
     (503, ErrorKind.PROVIDER_OUTAGE, True), (524, ErrorKind.PROVIDER_OUTAGE, True)],
)
def test_cometapi_error_envelope(parse: Any, http_status: int, kind: ErrorKind, transient: bool) -> None:
    with pytest.raises(ProviderError) as caught:
        parse(http_status, {}, wire("common/error_envelope_400.json"))
    assert (caught.value.kind, caught.value.status_code) == (kind, http_status)
    assert isinstance(caught.value, TransientError) is transient
    assert "model name is required" in caught.value.message


@pytest.mark.parametrize("parse", ALL_PARSERS)
def test_500_with_invalid_request_is_validation_not_retried(parse: Any) -> None:
    body = derived("common/error_envelope_400.json", (("error", "code"), "invalid_request"))
    with pytest.raises(ProviderError) as caught:
        parse(500, {}, body)
    assert caught.value.kind is ErrorKind.VALIDATION
    assert not isinstance(caught.value, TransientError)


@pytest.mark.parametrize("parse", [openai_videos.parse_poll, kling.parse_poll, runway.parse_poll])
def test_task_not_exist_is_task_not_found_yet(parse: Any) -> None:
    with pytest.raises(TaskNotFoundYet) as caught:
        parse(400, {}, wire("common/task_error_task_not_exist.json"))
    assert caught.value.provider_code == "task_not_exist"


@pytest.mark.parametrize("parse", ALL_PARSERS)
@pytest.mark.parametrize(
    "body",
    [b"<!DOCTYPE html><html><body>Captive portal</body></html>", b"", b"   ", b'{"id": "task_x", "status": "que',
     b"[]", b"null", b"42", b'"completed"', b"\xff\xfe\x00garbage", b'{"unrelated": true}'],
)
def test_malformed_2xx_bodies_raise_malformed_response_with_the_status(parse: Any, body: bytes) -> None:
    with pytest.raises(MalformedResponse) as caught:
        parse(200, {}, body)
    assert caught.value.status_code == 200


def test_html_error_page_on_502_is_transient_and_says_html() -> None:
    with pytest.raises(TransientError) as caught:
        openai_videos.parse_poll(502, {}, b"<html><head><title>502 Bad Gateway</title></head></html>")
    assert caught.value.status_code == 502
    assert "HTML" in caught.value.message


@pytest.mark.parametrize(
    ("value", "fraction", "expected"),
    [(0, False, 0), (45, False, 45), (45.6, False, 46), ("45%", False, 45), (" 7 % ", False, 7), ("100%", True, 100),
     (150, False, 100), (-3, False, 0), (0.37, True, 37), (1, True, 100), (0.0, True, 0), (None, False, None),
     ("soon", False, None), (True, False, None), (float("nan"), False, None), ([50], False, None),
     ("0.5", True, 50), ("inf", False, None)],
)
def test_progress_normalisation(value: Any, fraction: bool, expected: int | None) -> None:
    assert _common.progress(value, fraction=fraction) == expected


def test_runway_compatibility_format_submit() -> None:
    status = runway.parse_submit(200, {}, wire("runway/compat_generate_submit.json"))
    assert (status.task_id, status.state) == ("…", TaskState.QUEUED)
