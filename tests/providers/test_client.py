"""CometClient: the POST-ambiguity rule, poll retries and budgets, download safety and URL policy."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.client import Backend, CometClient, validate_user_image_url
from providers.errors import (
    ErrorKind,
    MalformedResponse,
    ProviderError,
    SubmitUnknown,
    TaskNotFoundYet,
    TransientError,
    ValidationError,
)
from providers.http import RateLimiter, RetryBudget
from providers.recipe import ModelOptions, Recipe
from providers.status import TaskState
from providers.submission import CostEstimate, Submission, WireRequest
from sandbox.pytest_plugin import wait_until

WIRE = Path(__file__).resolve().parents[1] / "fixtures" / "wire"
BASE = "https://api.cometapi.com"
KEY = "sk-client-test-abcdef0123456789"

Handler = Callable[[httpx.Request], httpx.Response]


def wire(name: str) -> bytes:
    return (WIRE / name).read_bytes()


class Recorder:
    """Counts every request the transport saw (including ones that fail before a response)."""

    def __init__(self, *steps: httpx.Response | Exception | Handler) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            return step(request)
        return step


def resp(status: int, body: bytes = b"", **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"content-type": "application/json", **headers})


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(api: Recorder, cdn: Recorder | None = None, *, sandbox: bool = False, base: str = BASE,
               budget: RetryBudget | None = None, sleeps: Sleeps | None = None) -> CometClient:
    return CometClient(
        Backend(base, KEY, sandbox=sandbox), transport=httpx.MockTransport(api),
        cdn_transport=httpx.MockTransport(cdn) if cdn else None, budget=budget or RetryBudget(),
        limiter=RateLimiter(rate=1000, burst=1000), sleep=sleeps if sleeps is not None else Sleeps())


def veo_submission() -> Submission:
    return Submission(
        model_id="veo3.1-fast", family="veo", recipe=Recipe(prompt="p"), options=ModelOptions(),
        request=WireRequest(method="POST", path="/v1/videos", form={"model": "veo3.1-fast", "prompt": "p"}),
        poll_path_template="/v1/videos/{task_id}", content_path_template="/v1/videos/{task_id}/content",
        report=(), cost=CostEstimate(0.2, 0.2, True, "$0.05/s x 4 s", "test", "2026-01-01"),
        requested_duration_s=4, requested_size=(1280, 720), has_audio=True,
    )


# ---------------------------------------------------------------------------------------------
# Submit: never a second POST unless the first provably never left
# ---------------------------------------------------------------------------------------------


def test_connect_error_is_retried_once_and_succeeds_with_two_attempts() -> None:
    api = Recorder(httpx.ConnectError("refused"), resp(200, wire("videos/generic_submit.json")))
    sleeps = Sleeps()
    with client_for(api, sleeps=sleeps) as client:
        status = client.submit(veo_submission())
    assert status.task_id == "task_example"
    assert len(api.requests) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize("error", [httpx.ConnectTimeout("slow dns"), httpx.PoolTimeout("pool")])
def test_other_never_sent_errors_are_retried(error: Exception) -> None:
    api = Recorder(error, resp(200, wire("sora/create.json")))
    with client_for(api) as client:
        assert client.submit(veo_submission()).state is TaskState.QUEUED
    assert len(api.requests) == 2


def test_connect_errors_exhausted_are_transient_and_not_charged() -> None:
    api = Recorder(httpx.ConnectError("refused"))
    with client_for(api) as client, pytest.raises(TransientError) as caught:
        client.submit(veo_submission())
    assert len(api.requests) == 3
    assert caught.value.charged.value == "no"


@pytest.mark.parametrize(
    "step",
    [
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadError("connection reset by peer"),
        httpx.WriteTimeout("stalled upload"),
        resp(500, b'{"error":{"message":"upstream error","type":"comet_api_error","param":"","code":""}}'),
        resp(502, b"<html><title>502 Bad Gateway</title></html>", **{"content-type": "text/html"}),
        resp(503, b""),
        resp(504, b"gateway timeout"),
        resp(524, b"<html>A timeout occurred</html>"),
        resp(200, b"<!DOCTYPE html><html><body>Welcome to the hotel wifi</body></html>"),
        resp(200, b'{"object":"video","status":"queued"}'),
        resp(200, b'{"id": "task_trunc'),
        resp(200, b""),
    ],
    ids=["read-timeout", "remote-protocol", "reset", "write-timeout", "500", "502-html", "503", "504", "524",
         "200-html", "200-no-id", "200-truncated", "200-empty"],
)
def test_any_failure_after_sending_is_submit_unknown_with_one_post(step: httpx.Response | Exception) -> None:
    api = Recorder(step, resp(200, wire("videos/generic_submit.json")))
    with client_for(api) as client, pytest.raises(SubmitUnknown) as caught:
        client.submit(veo_submission())
    assert len(api.requests) == 1
    assert caught.value.kind is ErrorKind.SUBMIT_UNKNOWN
    assert "not resent" in caught.value.message


@pytest.mark.parametrize("status", [500, 502, 503, 520, 599])
def test_unreadable_5xx_after_a_submit_is_submit_unknown_with_one_post(
        status: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader that cannot make sense of a 5xx body (MalformedResponse) must not turn a possibly created,
    paid task into a plain failure the user would simply run again."""

    def unreadable(status_code: int, headers: Any, body: bytes) -> Any:
        raise MalformedResponse(f"HTML response body (HTTP {status_code}): {body[:20]!r}", status_code=status_code)

    monkeypatch.setattr("providers.client.submit_parser", lambda family: unreadable)
    api = Recorder(resp(status, b"<html><title>Origin error</title></html>", **{"content-type": "text/html"}),
                   resp(200, wire("videos/generic_submit.json")))
    with client_for(api) as client, pytest.raises(SubmitUnknown) as caught:
        client.submit(veo_submission())
    assert len(api.requests) == 1
    assert caught.value.status_code == status
    assert "not resent" in caught.value.message


def test_unreadable_4xx_after_a_submit_stays_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(status_code: int, headers: Any, body: bytes) -> Any:
        raise MalformedResponse(f"non-JSON response body (HTTP {status_code})", status_code=status_code)

    monkeypatch.setattr("providers.client.submit_parser", lambda family: unreadable)
    api = Recorder(resp(400, b"bad request", **{"content-type": "text/plain"}))
    with client_for(api) as client, pytest.raises(MalformedResponse):
        client.submit(veo_submission())
    assert len(api.requests) == 1


def test_429_on_submit_is_rate_limited_with_retry_after_and_one_post() -> None:
    body = b'{"error":{"message":"upstream is overloaded, please try again later","type":"comet_api_error"}}'
    api = Recorder(resp(429, body, **{"retry-after": "12"}))
    with client_for(api) as client, pytest.raises(TransientError) as caught:
        client.submit(veo_submission())
    assert (caught.value.kind, caught.value.retry_after_s, caught.value.status_code) == (
        ErrorKind.RATE_LIMITED, 12.0, 429)
    assert len(api.requests) == 1


def test_500_invalid_request_on_submit_is_a_validation_error_not_unknown() -> None:
    body = (b'{"error":{"message":"bad size (request id: 1)","type":"comet_api_error","param":"",'
            b'"code":"invalid_request"}}')
    api = Recorder(resp(500, body))
    with client_for(api) as client, pytest.raises(ProviderError) as caught:
        client.submit(veo_submission())
    assert caught.value.kind is ErrorKind.VALIDATION
    assert not isinstance(caught.value, TransientError)
    assert len(api.requests) == 1


@pytest.mark.parametrize(("status", "kind"), [(400, ErrorKind.VALIDATION), (401, ErrorKind.AUTH),
                                              (403, ErrorKind.AUTH), (404, ErrorKind.NOT_FOUND)])
def test_refusals_on_submit_are_typed_and_not_retried(status: int, kind: ErrorKind) -> None:
    api = Recorder(resp(status, wire("common/error_envelope_400.json")))
    with client_for(api) as client, pytest.raises(ProviderError) as caught:
        client.submit(veo_submission())
    assert caught.value.kind is kind
    assert len(api.requests) == 1


def test_submit_already_failed_is_returned_as_a_terminal_status() -> None:
    body = json.loads(wire("sora/create.json"))
    body.update(status="failed", error={"code": "moderation_blocked",
                                        "message": "Your request was blocked by our moderation system."})
    api = Recorder(resp(200, json.dumps(body).encode()))
    with client_for(api) as client:
        status = client.submit(veo_submission())
    assert (status.state, status.error_kind) == (TaskState.FAILED, ErrorKind.CONTENT_POLICY)


# ---------------------------------------------------------------------------------------------
# Poll: idempotent retries under the budget; hints
# ---------------------------------------------------------------------------------------------

POLL = "/v1/videos/task_example"


def test_poll_retries_5xx_and_network_errors_then_succeeds() -> None:
    api = Recorder(resp(503, b""), httpx.ReadTimeout("slow"), resp(200, wire("sora/retrieve_in_progress.json")))
    sleeps = Sleeps()
    with client_for(api, sleeps=sleeps) as client:
        status = client.poll("sora", POLL)
    assert status.state is TaskState.RUNNING
    assert len(api.requests) == 3
    assert len(sleeps) == 2


def test_poll_obeys_retry_after_within_the_cap() -> None:
    api = Recorder(resp(429, b"{}", **{"retry-after": "7"}), resp(200, wire("sora/retrieve_in_progress.json")))
    sleeps = Sleeps()
    with client_for(api, sleeps=sleeps) as client:
        client.poll("sora", POLL)
    assert sleeps == [7.0]


@pytest.mark.parametrize(("hint", "pause"), [("60", 60.0), ("900", 900.0), ("99999999", 3600.0)])
def test_poll_long_retry_after_is_handed_to_the_job_as_a_pause(hint: str, pause: float) -> None:
    api = Recorder(resp(503, b"{}", **{"retry-after": hint}))
    sleeps = Sleeps()
    with client_for(api, sleeps=sleeps) as client, pytest.raises(TransientError) as caught:
        client.poll("sora", POLL)
    assert len(api.requests) == 1  # no worker thread sits idle for a minute
    assert sleeps == []
    assert caught.value.retry_after_s == pause


def test_poll_attempts_exhausted_is_transient_so_the_job_is_kept() -> None:
    api = Recorder(resp(502, b"<html>bad gateway</html>"))
    with client_for(api) as client, pytest.raises(TransientError) as caught:
        client.poll("veo", POLL)
    assert len(api.requests) == 3
    assert caught.value.status_code == 502


def test_poll_garbage_200_is_retried_then_transient_not_a_job_failure() -> None:
    api = Recorder(resp(200, b"<html>proxy</html>"))
    with client_for(api) as client, pytest.raises(TransientError) as caught:
        client.poll("veo", POLL)
    assert caught.value.kind is ErrorKind.MALFORMED_RESPONSE
    assert len(api.requests) == 3


def test_poll_stops_retrying_when_the_process_budget_is_spent() -> None:
    budget = RetryBudget(capacity=5, retry_cost=5, timeout_cost=10)
    api = Recorder(resp(503, b""))
    with client_for(api, budget=budget) as client, pytest.raises(TransientError) as caught:
        client.poll("veo", POLL)
    assert len(api.requests) == 2  # one retry paid for, then the budget is empty
    assert "budget" in caught.value.message
    with client_for(Recorder(resp(503, b"")), budget=budget) as other, pytest.raises(TransientError):
        other.poll("veo", POLL)  # the budget is shared: no retry at all now
    assert budget.available == 0


def test_poll_success_refunds_the_budget() -> None:
    budget = RetryBudget(capacity=500)
    api = Recorder(resp(503, b""), resp(200, wire("sora/retrieve_in_progress.json")))
    with client_for(api, budget=budget) as client:
        client.poll("sora", POLL)
    assert budget.available == 496


@pytest.mark.parametrize(("status", "kind"), [(401, ErrorKind.AUTH), (404, ErrorKind.NOT_FOUND)])
def test_poll_permanent_errors_are_not_retried(status: int, kind: ErrorKind) -> None:
    api = Recorder(resp(status, b'{"code":"not_found","message":"task not found","data":null}'))
    with client_for(api) as client, pytest.raises(ProviderError) as caught:
        client.poll("veo", POLL)
    assert caught.value.kind is kind
    assert not isinstance(caught.value, TransientError)
    assert len(api.requests) == 1


def test_poll_task_not_exist_goes_straight_to_the_caller() -> None:
    api = Recorder(resp(400, wire("common/task_error_task_not_exist.json")))
    with client_for(api) as client, pytest.raises(TaskNotFoundYet):
        client.poll("runway", "/runwayml/v1/tasks/abc")
    assert len(api.requests) == 1


@pytest.mark.parametrize(("headers", "expected"),
                         [({"openai-poll-after-ms": "4000"}, 4.0), ({"openai-poll-after-ms": "0"}, 1.0),
                          ({"openai-poll-after-ms": "banana"}, None), ({"retry-after": "9"}, 9.0), ({}, None)])
def test_poll_reports_the_server_poll_hint(headers: dict[str, str], expected: float | None) -> None:
    api = Recorder(resp(200, wire("sora/retrieve_in_progress.json"), **headers))
    with client_for(api) as client:
        assert client.poll("sora", POLL).poll_after_s == expected


def test_unknown_family_is_a_validation_error_naming_the_field() -> None:
    with client_for(Recorder(resp(200, b"{}"))) as client, pytest.raises(ValidationError) as caught:
        client.poll("pika", POLL)
    assert caught.value.field == "family"
    assert "kling" in caught.value.message


# ---------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------

MP4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64


def mp4(**headers: str) -> httpx.Response:
    return httpx.Response(200, content=MP4, headers={"content-type": "video/mp4", **headers})


def test_content_route_on_the_api_host_is_authenticated() -> None:
    api = Recorder(mp4())
    cdn = Recorder(mp4())
    with client_for(api, cdn) as client, client.open_download(f"{BASE}/v1/videos/task_x/content") as r:
        assert r.read() == MP4
    assert api.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert api.requests[0].headers["accept-encoding"] == "identity"
    assert cdn.requests == []


def test_cdn_urls_never_get_the_key() -> None:
    api = Recorder(mp4())
    cdn = Recorder(mp4())
    with client_for(api, cdn) as client, client.open_download("https://cdn.example/v.mp4?X-Amz-Signature=abc") as r:
        assert r.status_code == 200
    assert "authorization" not in cdn.requests[0].headers
    assert cdn.requests[0].headers["accept-encoding"] == "identity"
    assert api.requests == []


def test_redirect_from_the_api_host_to_a_cdn_drops_the_key() -> None:
    api = Recorder(httpx.Response(302, headers={"location": "https://cdn.example/signed.mp4?sig=1"}))
    cdn = Recorder(mp4())
    with client_for(api, cdn) as client, client.open_download(f"{BASE}/v1/videos/t/content") as r:
        assert r.read() == MP4
    assert "authorization" not in cdn.requests[0].headers
    assert str(cdn.requests[0].url) == "https://cdn.example/signed.mp4?sig=1"


def test_redirect_to_plain_http_is_rejected() -> None:
    cdn = Recorder(httpx.Response(301, headers={"location": "http://cdn.example/v.mp4"}))
    with client_for(Recorder(mp4()), cdn) as client, pytest.raises(ValidationError) as caught:
        with client.open_download("https://cdn.example/start.mp4"):
            pass
    assert caught.value.field == "video_url"


def test_more_than_three_redirects_is_an_invalid_download() -> None:
    cdn = Recorder(lambda req: httpx.Response(302, headers={"location": f"{req.url}x"}))
    with client_for(Recorder(mp4()), cdn) as client, pytest.raises(ProviderError) as caught:
        with client.open_download("https://cdn.example/a"):
            pass
    assert caught.value.kind is ErrorKind.DOWNLOAD_INVALID
    assert len(cdn.requests) == 4


@pytest.mark.parametrize("status", [403, 404, 410])
def test_expired_signed_url(status: int) -> None:
    xml = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    cdn = Recorder(httpx.Response(status, content=xml, headers={"content-type": "application/xml"}))
    with client_for(Recorder(mp4()), cdn) as client, pytest.raises(ProviderError) as caught:
        with client.open_download("https://cdn.example/v.mp4?X-Amz-Signature=secret-sig"):
            pass
    assert caught.value.kind is ErrorKind.URL_EXPIRED
    assert "secret-sig" not in str(caught.value)
    assert len(cdn.requests) == 1


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [("application/json", b'{"error":{"message":"Video is not ready yet","type":"invalid_request_error"}}',
      "Video is not ready yet"),
     ("text/html; charset=utf-8", b"<html><head><title>Access denied</title></head></html>", "Access denied"),
     ("application/xml", b"<Error><Code>NoSuchKey</Code></Error>", "NoSuchKey")],
)
def test_error_bodies_with_200_are_invalid_downloads(content_type: str, body: bytes, expected: str) -> None:
    api = Recorder(httpx.Response(200, content=body, headers={"content-type": content_type}))
    with client_for(api) as client, pytest.raises(ProviderError) as caught:
        with client.open_download(f"{BASE}/v1/videos/t/content"):
            pass
    assert caught.value.kind is ErrorKind.DOWNLOAD_INVALID
    assert expected in caught.value.message


def test_content_before_completion_400_json_is_an_invalid_download() -> None:
    body = b'{"error":{"message":"Video is still processing","type":"invalid_request_error","code":""}}'
    with client_for(Recorder(resp(400, body))) as client, pytest.raises(ProviderError) as caught:
        with client.open_download(f"{BASE}/v1/videos/t/content"):
            pass
    assert caught.value.kind is ErrorKind.DOWNLOAD_INVALID
    assert "still processing" in caught.value.message


def test_download_5xx_and_network_errors_are_retried_then_transient() -> None:
    cdn = Recorder(httpx.ConnectError("down"), httpx.Response(503), httpx.Response(502))
    with client_for(Recorder(mp4()), cdn) as client, pytest.raises(TransientError):
        with client.open_download("https://cdn.example/v.mp4"):
            pass
    assert len(cdn.requests) == 3


def test_download_recovers_after_one_transient_failure() -> None:
    cdn = Recorder(httpx.Response(503), mp4())
    with client_for(Recorder(mp4()), cdn) as client, client.open_download("https://cdn.example/v.mp4") as r:
        assert r.read() == MP4


def test_range_headers_are_passed_for_resumes() -> None:
    cdn = Recorder(httpx.Response(206, content=MP4[10:], headers={"content-type": "video/mp4"}))
    with client_for(Recorder(mp4()), cdn) as client:
        with client.open_download("https://cdn.example/v.mp4", headers={"Range": "bytes=10-"}) as r:
            assert r.status_code == 206
    assert cdn.requests[0].headers["range"] == "bytes=10-"


# ---------------------------------------------------------------------------------------------
# URL policy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "sandbox", "accepted"),
    [("https://cdn.example/v.mp4", False, True),
     ("http://cdn.example/v.mp4", False, False),
     ("http://127.0.0.1:8765/v1/videos/x/content", False, False),
     ("http://127.0.0.1:8765/v1/videos/x/content", True, True),
     ("http://localhost:8765/files/x.mp4", True, True),
     ("http://[::1]:8765/files/x.mp4", True, True),
     ("http://cdn.example/v.mp4", True, False),
     ("http://10.0.0.5/v.mp4", True, False),
     ("https://user:pw@cdn.example/v.mp4", False, False),
     ("ftp://cdn.example/v.mp4", True, False),
     ("file:///etc/passwd", True, False),
     ("https:///nohost", False, False),
     ("", False, False),
     ("https://cdn.example/a b.mp4", False, False)],
)
def test_result_url_policy(url: str, sandbox: bool, accepted: bool) -> None:
    base = "http://127.0.0.1:8765" if sandbox else BASE
    with client_for(Recorder(mp4()), base=base, sandbox=sandbox) as client:
        if accepted:
            assert client.check_url(url) == url
        else:
            with pytest.raises(ValidationError) as caught:
                client.check_url(url)
            assert caught.value.field == "video_url"


def public_resolver(host: str) -> list[str]:
    return ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/a.png", "http://127.0.0.1:8765/a.png", "https://localhost/a.png",
     "https://169.254.169.254/latest/meta-data", "https://10.1.2.3/a.png", "https://192.168.0.1/a.png",
     "https://172.16.5.4/a.png", "https://[::1]/a.png", "https://[::ffff:127.0.0.1]/a.png",
     "https://2130706433/a.png", "https://0177.0.0.1/a.png", "https://0x7f.1/a.png",
     "https://[64:ff9b::a00:1]/a.png", "https://[fe80::1]/a.png", "https://[fc00::1]/a.png",
     "https://0.0.0.0/a.png", "https://100.64.0.1/a.png", "https://[2002:7f00:1::]/a.png",
     "http://img.example/a.png", "https://img.example:8443/a.png", "https://user@img.example/a.png",
     "https://img.example/a.png#frag", "ftp://img.example/a.png", "", "https://"],
)
def test_user_image_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_user_image_url(url, resolver=public_resolver)
    assert caught.value.field == "image_url"
    assert "https" in caught.value.message


def test_user_image_url_resolving_to_a_private_address_is_rejected() -> None:
    def rebinding(host: str) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # any private answer is enough to refuse

    with pytest.raises(ValidationError, match="private or local"):
        validate_user_image_url("https://img.example/a.png", resolver=rebinding)


def test_user_image_url_that_does_not_resolve_is_rejected() -> None:
    def nxdomain(host: str) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(ValidationError, match="does not resolve"):
        validate_user_image_url("https://img.example/a.png", resolver=nxdomain)


@pytest.mark.parametrize("url", ["https://img.example/a.png", "https://img.example:443/a.png?w=512",
                                 "https://93.184.216.34/a.png"])
def test_public_https_image_urls_are_accepted(url: str) -> None:
    assert validate_user_image_url(url, resolver=public_resolver) == url


# ---------------------------------------------------------------------------------------------
# Backend and key handling
# ---------------------------------------------------------------------------------------------


def test_backend_fingerprint_and_repr_hide_the_key() -> None:
    backend = Backend(BASE, KEY)
    assert KEY not in repr(backend)
    assert len(backend.key_fingerprint) == 12
    assert backend.key_fingerprint == Backend(BASE, KEY + "\n").key_fingerprint
    assert backend.key_fingerprint != Backend(BASE, "sk-other-key-000000").key_fingerprint


@pytest.mark.parametrize("key", ["", "   ", "sk-abc def", "sk-abc\ndef"])
def test_bad_keys_are_rejected_before_any_request(key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CometClient(Backend(BASE, key))
    assert caught.value.field == "api_key"


@pytest.mark.parametrize("base", ["http://api.cometapi.com", "ftp://x", "not a url", "https://u:p@api.cometapi.com"])
def test_base_url_must_be_https_or_loopback(base: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CometClient(Backend(base, KEY))
    assert caught.value.field == "base_url"


def test_key_echoed_by_the_server_never_reaches_the_exception(caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps({"error": {"message": f"Invalid token {KEY} (Authorization: Bearer {KEY})",
                                 "type": "comet_api_error", "param": "", "code": ""}}).encode()
    caplog.set_level("DEBUG")
    with client_for(Recorder(resp(401, body))) as client, pytest.raises(ProviderError) as caught:
        client.submit(veo_submission())
    assert KEY not in str(caught.value)
    assert KEY not in caught.value.message
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_requests_and_log_records_keep_the_key_out_of_urls(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    api = Recorder(resp(503, b""), resp(200, wire("sora/retrieve_in_progress.json")))
    with client_for(api) as client:
        client.poll("sora", POLL)
    assert all(KEY not in str(r.url) for r in api.requests)
    assert all(KEY not in rec.getMessage() for rec in caplog.records)
    assert any("retrying" in rec.getMessage() for rec in caplog.records)



# ---------------------------------------------------------------------------------------------
# Real HTTP on loopback against the sandbox (built from the reference, not from this client)
# ---------------------------------------------------------------------------------------------

PNG_1X1 = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
           "RU5ErkJggg==")

LOOPBACK_CASES = {
    ("veo", "current"): (WireRequest("POST", "/v1/videos", form={"model": "veo3.1-fast", "prompt": "a fox",
                                                                  "seconds": "4", "size": "1280x720"}),
                         "/v1/videos/{id}"),
    ("veo", "content_only"): (WireRequest("POST", "/v1/videos", form={"model": "veo3.1-fast", "prompt": "a fox",
                                                                       "seconds": "4", "size": "1280x720"}),
                              "/v1/videos/{id}"),
    ("kling", "native"): (WireRequest("POST", "/kling/v1/videos/text2video",
                                      json={"model_name": "kling-v1-6", "prompt": "a fox", "duration": "5"}),
                          "/kling/v1/videos/text2video/{id}"),
    ("runway", "wrapped"): (WireRequest("POST", "/runwayml/v1/image_to_video",
                                        json={"model": "gen4_turbo", "promptImage": PNG_1X1, "ratio": "1280:720",
                                              "duration": 5}, headers={"X-Runway-Version": "2024-11-06"}),
                            "/runwayml/v1/tasks/{id}"),
    ("runway", "bare"): (WireRequest("POST", "/runwayml/v1/image_to_video",
                                     json={"model": "gen4_turbo", "promptImage": PNG_1X1, "ratio": "1280:720",
                                           "duration": 5}, headers={"X-Runway-Version": "2024-11-06"}),
                         "/runwayml/v1/tasks/{id}"),
}


def _loopback_client(server: Any) -> CometClient:
    return CometClient(Backend(server.base_url, "sk-sandbox", sandbox=True, time_scale=0.01), budget=RetryBudget(),
                       limiter=RateLimiter(rate=1000, burst=1000), sleep=Sleeps())


def _sub(family: str, request: WireRequest) -> Submission:
    return replace(veo_submission(), family=family, request=request)


def _until_terminal(client: CometClient, family: str, path: str) -> Any:
    def done() -> Any:
        status = client.poll(family, path)
        return status if status.state.terminal else None

    return wait_until(done, timeout=15)


@pytest.mark.parametrize(("family", "shape"), sorted(LOOPBACK_CASES))
def test_loopback_submit_poll_download(make_sandbox: Any, family: str, shape: str) -> None:
    server = make_sandbox(shapes={family: shape}, render_times={"*": (1, 2)})
    request, poll_template = LOOPBACK_CASES[(family, shape)]
    with _loopback_client(server) as client:
        first = client.submit(_sub(family, request))
        path = poll_template.format(id=first.task_id)
        final = _until_terminal(client, family, path)
        assert final.state is TaskState.SUCCEEDED
        url = final.video_url or f"{server.base_url}/v1/videos/{first.task_id}/content"
        with client.open_download(url) as r:
            data = r.read()
    assert data[4:8] == b"ftyp"
    submits = [r for r in server.requests() if r.get("route") == "submit"]
    assert len(submits) == 1


@pytest.mark.parametrize("kind", ["http_502", "http_524", "malformed_json", "html_error_page"])
def test_loopback_ambiguous_submit_is_never_resent(make_sandbox: Any, kind: str) -> None:
    server = make_sandbox()
    server.faults.add(route="submit", kind=kind, count=1)
    request, _ = LOOPBACK_CASES[("kling", "native")]
    with _loopback_client(server) as client, pytest.raises(SubmitUnknown):
        client.submit(_sub("kling", request))
    assert len([r for r in server.requests() if r.get("route") == "submit"]) == 1


def test_loopback_kling_1303_is_rate_limited(make_sandbox: Any) -> None:
    server = make_sandbox()
    server.faults.add(route="submit", kind="kling_1303", count=1)
    request, _ = LOOPBACK_CASES[("kling", "native")]
    with _loopback_client(server) as client, pytest.raises(TransientError) as caught:
        client.submit(_sub("kling", request))
    assert caught.value.kind is ErrorKind.RATE_LIMITED


def test_loopback_task_not_exist_then_found(make_sandbox: Any) -> None:
    server = make_sandbox(shapes={"runway": "bare"}, render_times={"*": (1, 2)})
    server.faults.add(route="submit", kind="task_not_exist", family="runway", count=1)
    request, template = LOOPBACK_CASES[("runway", "bare")]
    with _loopback_client(server) as client:
        first = client.submit(_sub("runway", request))
        with pytest.raises(TaskNotFoundYet):
            client.poll("runway", template.format(id=first.task_id))
        assert _until_terminal(client, "runway", template.format(id=first.task_id)).state is TaskState.SUCCEEDED


def test_loopback_poll_503_is_retried_in_place(make_sandbox: Any) -> None:
    server = make_sandbox()
    request, template = LOOPBACK_CASES[("kling", "native")]
    with _loopback_client(server) as client:
        first = client.submit(_sub("kling", request))
        server.faults.add(route="poll", kind="http_503", count=1)
        status = client.poll("kling", template.format(id=first.task_id))
    assert status.task_id == first.task_id
    assert len([r for r in server.requests() if r.get("route") == "poll"]) == 2


def test_loopback_content_policy_failure(make_sandbox: Any) -> None:
    server = make_sandbox(render_times={"*": (1, 2)})
    server.faults.add(route="submit", kind="content_policy", family="runway", count=1)
    request, template = LOOPBACK_CASES[("runway", "wrapped")]
    with _loopback_client(server) as client:
        first = client.submit(_sub("runway", request))
        final = _until_terminal(client, "runway", template.format(id=first.task_id))
    assert (final.state, final.error_kind) == (TaskState.FAILED, ErrorKind.CONTENT_POLICY)


def test_a_body_that_fails_to_decode_after_the_post_is_submit_unknown_and_a_poll_skips() -> None:
    """httpx.DecodingError is not a TransportError: it must still come out typed."""
    from providers.catalog import load_catalog
    from providers.client import Backend, CometClient
    from providers.errors import SubmitUnknown, TransientError
    from providers.mapping import prepare
    from providers.recipe import ModelOptions, Recipe

    posts = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posts.append(request)
        raise httpx.DecodingError("bad gzip", request=request)

    client = CometClient(Backend("https://api.example.com", "sk-test-key-123"),
                         transport=httpx.MockTransport(handler), sleep=lambda s: None)
    sub = prepare(Recipe(prompt="a kite"), "veo3.1-fast", ModelOptions(), load_catalog())
    with pytest.raises(SubmitUnknown):
        client.submit(sub)
    assert len(posts) == 1
    with pytest.raises(TransientError):
        client.poll("veo", "/v1/videos/task_x")
