"""Each injected fault reaches a plain httpx client exactly as configured."""

from __future__ import annotations

import email.utils
import gzip
import time

import av
import httpx
import pytest
from sandbox_helpers import KEY, client, poll_path, result_url, submit_kling, submit_runway, submit_video

from sandbox.pytest_plugin import wait_until

DONE = {"render_times": {"*": (0, 0)}}
CLIP_BODY_KINDS = ("chunked", "corrupt_clip", "gzip", "error_json", "error_xml")


@pytest.mark.parametrize("fmt, header", [("seconds", "retry-after"), ("date", "retry-after"), ("ms", "retry-after-ms")])
def test_429_carries_retry_after_in_each_format(sandbox, fmt, header):
    sandbox.faults.add(route="submit", kind="http_429", count=1, retry_after=7, retry_after_format=fmt)
    with client(sandbox.base_url) as c:
        refused = submit_video(c)
        accepted = submit_video(c)
    assert refused.status_code == 429 and accepted.status_code == 200
    assert refused.json()["error"]["type"] == "comet_api_error"
    value = refused.headers[header]
    if fmt == "seconds":
        assert value == "7"
    elif fmt == "ms":
        assert value == "7000"
    else:
        delay = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        assert 4 <= delay <= 8
    submits = [r for r in sandbox.requests() if r["route"] == "submit"]
    assert [r["status"] for r in submits] == [429, 200]
    assert submits[0]["task_id"] is None  # refused: no task was created


@pytest.mark.parametrize("kind", ["http_500", "http_502", "http_503", "http_504", "http_524"])
def test_server_errors_on_poll_then_recovery(make_sandbox, kind):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        task_id = submit_video(c).json()["id"]
        srv.faults.add(route="poll", kind=kind, count=1)
        failed = c.get(poll_path("sora", task_id))
        recovered = c.get(poll_path("sora", task_id))
    assert failed.status_code == int(kind[5:])
    assert failed.json()["error"]["message"].endswith(")")  # "... (request id: ...)"
    assert recovered.status_code == 200 and recovered.json()["status"] == "completed"


def test_submit_500_after_the_task_was_created_is_ambiguous(sandbox):
    sandbox.faults.add(route="submit", kind="http_500", count=1, created=True)
    with client(sandbox.base_url) as c:
        answer = submit_video(c)
    assert answer.status_code == 500
    (record,) = [r for r in sandbox.requests() if r["route"] == "submit"]
    assert record["task_id"] is not None  # the server did create (and would charge for) a task


def test_scripted_sequence_is_consumed_in_order(make_sandbox):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        task_id = submit_video(c).json()["id"]
        srv.faults.script("poll", ["http_503", None, "http_502", "malformed_json"])
        statuses = [c.get(poll_path("sora", task_id)).status_code for _ in range(5)]
    assert statuses == [503, 200, 502, 200, 200]
    assert [r["fault"] for r in srv.requests() if r["route"] == "poll"] == [
        "http_503", None, "http_502", "malformed_json", None]


@pytest.mark.faults_may_not_fire  # the probability-0 rule is the one that must not fire
def test_probability_one_always_fires_and_zero_never(sandbox):
    with client(sandbox.base_url) as c:
        rule = sandbox.faults.add(route="submit", kind="http_503", probability=1.0)
        assert all(submit_video(c).status_code == 503 for _ in range(3))
        sandbox.faults.remove(rule.id)
        sandbox.faults.add(route="submit", kind="http_503", probability=0.0)
        assert all(submit_video(c).status_code == 200 for _ in range(3))


def test_family_filter_spares_other_families(sandbox):
    sandbox.faults.add(route="submit", family="kling", kind="kling_1303")
    with client(sandbox.base_url) as c:
        kling = submit_kling(c)
        sora = submit_video(c)
    assert kling.status_code == 429 and kling.json()["code"] == 1303
    assert sora.status_code == 200


def test_kling_billing_arrears_code(sandbox):
    sandbox.faults.add(route="submit", kind="kling_1102", count=1)
    with client(sandbox.base_url) as c:
        answer = submit_kling(c)
    assert answer.status_code == 429 and answer.json()["code"] == 1102


def test_malformed_json_on_submit_still_creates_the_task(sandbox):
    sandbox.faults.add(route="submit", kind="malformed_json", count=1)
    with client(sandbox.base_url) as c:
        answer = submit_runway(c)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        answer.json()
    assert [r["task_id"] is not None for r in sandbox.requests()] == [True]


def test_html_error_page(sandbox):
    sandbox.faults.add(route="poll", kind="html_error_page", count=1, status=502)
    with client(sandbox.base_url) as c:
        task_id = submit_video(c).json()["id"]
        page = c.get(poll_path("sora", task_id))
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    assert "<html>" in page.text


def test_slow_answer_outlasts_the_client_timeout(sandbox):
    sandbox.faults.add(route="poll", kind="slow", count=1, delay_s=2)
    with client(sandbox.base_url) as c:
        task_id = submit_video(c).json()["id"]
        with pytest.raises(httpx.ReadTimeout):
            c.get(poll_path("sora", task_id), timeout=0.3)


def test_task_not_exist_for_the_first_polls_of_each_new_task(make_sandbox):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="poll", kind="task_not_exist", polls=2)
    with client(srv.base_url) as c:
        for _ in range(2):
            task_id = submit_runway(c).json()["id"]
            answers = [c.get(poll_path("runway", task_id)) for _ in range(3)]
            assert [a.status_code for a in answers] == [400, 400, 200]
            assert answers[0].json() == {"code": "task_not_exist", "message": "task_not_exist", "data": None}


def test_fresh_task_is_known_when_no_fault_is_configured(sandbox):
    with client(sandbox.base_url) as c:
        task_id = submit_kling(c).json()["data"]["task_id"]
        assert c.get(poll_path("kling", task_id)).status_code == 200


@pytest.mark.parametrize("family", ["sora", "kling", "runway"])
@pytest.mark.parametrize("message", ["Your request was blocked by our moderation system.", None])
def test_content_policy_immediately_with_and_without_message(make_sandbox, family, message):
    srv = make_sandbox(shapes={"runway": "bare"}, render_times={"*": (1e6, 1e6)})
    srv.faults.add(route="submit", kind="content_policy", count=1, when="immediate", message=message)
    with client(srv.base_url) as c:
        submit = {"sora": submit_video, "kling": submit_kling, "runway": submit_runway}[family]
        created = submit(c).json()
        task_id = created.get("id") or created["data"]["task_id"]
        body = c.get(poll_path(family, task_id)).json()
    if family == "sora":
        assert body["status"] == "failed"
        assert (body["error"] or {}).get("message") == message
    elif family == "kling":
        assert body["data"]["task_status"] == "failed"
        assert body["data"]["task_status_msg"] == (message or "")
    else:
        assert body["status"] == "FAILED" and body["failureCode"].startswith("SAFETY")
        assert body.get("failure") == message


def test_content_policy_after_a_full_render(make_sandbox):
    srv = make_sandbox(render_times={"*": (40, 40)})  # 0.4 s real
    srv.faults.add(route="submit", kind="content_policy", when="after_render", message="blocked")
    seen: list[str] = []
    with client(srv.base_url) as c:
        task_id = submit_video(c).json()["id"]

        def failed() -> bool:
            body = c.get(poll_path("sora", task_id)).json()
            seen.append(body["status"])
            return body["status"] == "failed"

        wait_until(failed, 5)
        final = c.get(poll_path("sora", task_id)).json()
    assert "in_progress" in seen or "queued" in seen
    assert final["progress"] == 100 and final["error"]["message"] == "blocked"


def test_stuck_in_queue_never_starts(make_sandbox):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="submit", kind="stuck_in_queue", count=1)
    with client(srv.base_url) as c:
        stuck = submit_kling(c).json()["data"]["task_id"]
        normal = submit_kling(c).json()["data"]["task_id"]
        assert c.get(poll_path("kling", stuck)).json()["data"]["task_status"] == "submitted"
        assert c.get(poll_path("kling", normal)).json()["data"]["task_status"] == "succeed"


def test_truncated_download_breaks_mid_body(make_sandbox):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="download", kind="truncated_download", count=1, fraction=0.3)
    with client(srv.base_url) as c:
        url = result_url("sora", c.get(poll_path("sora", submit_video(c).json()["id"])).json())
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url)
        assert httpx.get(url).status_code == 200  # the next download is whole


def test_wrong_content_type_on_content_route(make_sandbox):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="content", kind="wrong_content_type", count=1, content_type="application/json")
    with client(srv.base_url) as c:
        task_id = submit_video(c, "veo3.1-fast").json()["id"]
        wrong = c.get(f"/v1/videos/{task_id}/content")
    assert wrong.status_code == 200 and wrong.headers["content-type"] == "application/json"
    assert wrong.content[4:8] == b"ftyp"


def test_settings_ignored_delivers_a_smaller_shorter_clip(make_sandbox, tmp_path):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="submit", kind="settings_ignored", count=1)
    with client(srv.base_url) as c:
        body = c.get(poll_path("veo", submit_video(c, "veo3.1", seconds="8", size="1920x1080").json()["id"])).json()
        assert body["size"] == "1920x1080" and body["seconds"] == "8"  # the API claims it did what was asked
        path = tmp_path / "clip.mp4"
        path.write_bytes(httpx.get(result_url("veo", body)).content)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
        assert container.duration / 1e6 == pytest.approx(5, abs=0.1)


def test_faults_over_http(sandbox):
    control = httpx.Client(base_url=sandbox.base_url)
    created = control.post("/_sandbox/faults", json={"route": "poll", "kind": "http_504", "count": 2})
    assert created.status_code == 201
    bad = control.post("/_sandbox/faults", json={"route": "poll", "kind": "http_999"})
    assert bad.status_code == 400 and "kind" in bad.json()["error"]
    assert [f["kind"] for f in control.get("/_sandbox/faults").json()] == ["http_504"]
    with client(sandbox.base_url) as c:
        task_id = submit_video(c).json()["id"]
        assert c.get(poll_path("sora", task_id)).status_code == 504
        control.delete("/_sandbox/faults")
        assert c.get(poll_path("sora", task_id)).status_code == 200
    log = control.get("/_sandbox/requests").json()
    assert [r["status"] for r in log if r["route"] == "poll"] == [504, 200]


def test_proxy_reset_after_the_request_reached_the_server(sandbox, fault_proxy):
    proxy = fault_proxy(sandbox.port)
    proxy.reset_next_n(1, match="POST /v1/videos")
    with client(proxy.base_url) as c:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            submit_video(c)
        assert submit_video(c).status_code == 200
    submits = [r for r in sandbox.requests() if r["route"] == "submit"]
    assert len(submits) == 2  # the reset one was received and created a task: an ambiguous submit


def test_proxy_reset_before_upstream_never_reaches_the_server(sandbox, fault_proxy):
    proxy = fault_proxy(sandbox.port)
    proxy.reset_next_n(1, match="POST /kling", before_upstream=True)
    with client(proxy.base_url) as c:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            submit_kling(c)
    assert sandbox.requests() == []


def test_proxy_hang_receives_but_never_answers(sandbox, fault_proxy):
    proxy = fault_proxy(sandbox.port)
    proxy.hang_next_n(1, match="GET /v1/videos/")
    with client(proxy.base_url) as c:
        task_id = submit_video(c).json()["id"]
        with pytest.raises(httpx.ReadTimeout):
            c.get(poll_path("sora", task_id), timeout=0.5)
        assert c.get(poll_path("sora", task_id)).status_code == 200
    polls = [r for r in sandbox.requests() if r["route"] == "poll"]
    assert len(polls) == 2  # the hung poll did reach the server
    assert proxy.seen[0].startswith("POST /v1/videos ")


def test_unauthorized_without_the_key(sandbox):
    answer = httpx.post(f"{sandbox.base_url}/v1/videos", data={"model": "sora-2", "prompt": "x"},
                        headers={"Authorization": "Bearer sk-wrong"})
    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith("Invalid token (request id: ")
    assert httpx.get(f"{sandbox.base_url}/runwayml/v1/tasks/x").status_code == 401
    assert KEY["Authorization"] == "Bearer sk-sandbox"


# -- D3 drip, P8 poll-after hints, P4 THROTTLED and cancelled -------------------------------------------------------


def test_drip_sends_the_requested_range_whole_in_slices(make_sandbox):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        url = result_url("sora", c.get(poll_path("sora", submit_video(c).json()["id"])).json())
        whole = httpx.get(url).content
        srv.faults.add(route="download", kind="drip", count=1, slice_bytes=1024, bytes_per_s=8192)
        chunks: list[bytes] = []
        # A per-read timeout well above the 1/8 s between slices: a drip never trips one.
        with httpx.stream("GET", url, headers={"Range": "bytes=1000-9191"}, timeout=2.0) as answer:
            chunks.extend(answer.iter_raw())
    assert answer.status_code == 206 and answer.headers["content-range"] == f"bytes 1000-9191/{len(whole)}"
    assert answer.headers["content-length"] == "8192"
    assert b"".join(chunks) == whole[1000:9192]
    assert len(chunks) > 1  # arrived bit by bit, not in one piece
    assert [r["fault"] for r in srv.requests() if r["route"] == "download"] == [None, "drip"]


def test_drip_on_the_content_route_then_a_whole_answer(make_sandbox):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="content", kind="drip", count=1, bytes_per_s=1_000_000, slice_bytes=64 * 1024)
    with client(srv.base_url) as c:
        task_id = submit_video(c, "veo3.1-fast").json()["id"]
        dripped = c.get(f"/v1/videos/{task_id}/content")
        normal = c.get(f"/v1/videos/{task_id}/content")
    assert dripped.status_code == 200 and dripped.headers["content-type"] == "video/mp4"
    assert dripped.content == normal.content and dripped.content[4:8] == b"ftyp"


@pytest.mark.parametrize("spec, field", [
    ({"route": "poll", "kind": "drip"}, "route"),
    ({"route": "any", "kind": "drip"}, "route"),
    ({"route": "download", "kind": "drip", "params": {"slice_bytes": 0}}, "slice_bytes"),
    ({"route": "download", "kind": "drip", "params": {"bytes_per_s": "fast"}}, "bytes_per_s"),
    ({"route": "submit", "kind": "cancelled", "family": "kling"}, "family"),
    ({"route": "submit", "kind": "cancelled", "params": {"after_s": -1}}, "after_s"),
    *[({"route": route, "kind": kind}, "route")
      for kind in CLIP_BODY_KINDS for route in ("submit", "poll", "any")],
    ({"route": "download", "kind": "chunked", "params": {"fraction": 0}}, "fraction"),
    ({"route": "download", "kind": "chunked", "params": {"fraction": 1.5}}, "fraction"),
    ({"route": "download", "kind": "corrupt_clip", "params": {"keep_bytes": -1}}, "keep_bytes"),
    ({"route": "content", "kind": "error_json", "params": {"status": 99}}, "status"),
    ({"route": "download", "kind": "error_xml", "params": {"code": "AccessDenied\r\nX-Evil: 1"}}, "code"),
    ({"route": "download", "kind": "error_xml", "params": {"content_type": 7}}, "content_type"),
])
def test_faults_that_could_not_work_are_refused_naming_the_field(sandbox, spec, field):
    answer = httpx.post(f"{sandbox.base_url}/_sandbox/faults", json=spec)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"{field}")
    assert "allowed" in answer.json()["error"] or "must be" in answer.json()["error"]
    assert sandbox.faults.list() == []


def test_poll_after_header_on_every_videos_poll_only_when_set(make_sandbox):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        sora = submit_video(c).json()["id"]
        veo = submit_video(c, "veo3.1-fast").json()["id"]
        runway = submit_runway(c).json()["id"]
        assert "openai-poll-after-ms" not in c.get(poll_path("sora", sora)).headers
        control = httpx.post(f"{srv.base_url}/_sandbox/config", json={"poll_after_ms": "banana"})
        assert control.status_code == 200 and control.json()["poll_after_ms"] == "banana"
        assert c.get(poll_path("sora", sora)).headers["openai-poll-after-ms"] == "banana"  # sent verbatim
        srv.update_config(poll_after_ms="2500")
        assert c.get(poll_path("veo", veo)).headers["openai-poll-after-ms"] == "2500"
        srv.faults.add(route="poll", kind="http_503", count=1)
        assert c.get(poll_path("sora", sora)).headers["openai-poll-after-ms"] == "2500"  # errors carry it too
        assert "openai-poll-after-ms" not in c.get(poll_path("runway", runway)).headers  # OpenAI's header only
        assert "openai-poll-after-ms" not in submit_video(c).headers  # polls only, not the submit


def test_poll_after_refuses_a_line_break(sandbox):
    answer = httpx.post(f"{sandbox.base_url}/_sandbox/config", json={"poll_after_ms": "1\r\nX-Evil: 1"})
    assert answer.status_code == 400 and answer.json()["error"].startswith("poll_after_ms")
    assert sandbox.config.poll_after_ms is None


@pytest.mark.parametrize("shape", ["bare", "wrapped"])
def test_runway_queue_answers_throttled_when_configured(make_sandbox, shape):
    srv = make_sandbox(shapes={"runway": shape}, render_times={"*": (1e6, 1e6)})
    with client(srv.base_url) as c:
        task_id = submit_runway(c).json()["id"]
        default = c.get(poll_path("runway", task_id)).json()
        srv.update_config(runway_queue_status="THROTTLED")
        throttled = c.get(poll_path("runway", task_id)).json()
    if shape == "bare":
        assert default["status"] == "PENDING" and throttled["status"] == "THROTTLED"
    else:  # new-api's own word stays QUEUED; Runway's, inside, says THROTTLED
        assert throttled["data"]["status"] == "QUEUED"
        assert default["data"]["data"]["status"] == "PENDING" and throttled["data"]["data"]["status"] == "THROTTLED"


def test_runway_throttled_task_still_finishes(make_sandbox):
    srv = make_sandbox(shapes={"runway": "bare"}, runway_queue_status="THROTTLED", **DONE)
    with client(srv.base_url) as c:
        body = c.get(poll_path("runway", submit_runway(c).json()["id"])).json()
    assert body["status"] == "SUCCEEDED" and body["output"]
    bad = httpx.post(f"{srv.base_url}/_sandbox/config", json={"runway_queue_status": "WAITING"})
    assert bad.status_code == 400 and "PENDING, THROTTLED" in bad.json()["error"]


@pytest.mark.parametrize("family, submit, word", [
    ("sora", submit_video, "cancelled"),
    ("veo", lambda c: submit_video(c, "veo3.1-fast"), "cancelled"),
    ("runway", submit_runway, "CANCELLED"),
])
def test_cancelled_task_ends_cancelled_in_its_family_words(make_sandbox, family, submit, word):
    srv = make_sandbox(shapes={"runway": "bare"}, render_times={"*": (1e6, 1e6)})
    srv.faults.add(route="submit", kind="cancelled", count=1)
    with client(srv.base_url) as c:
        cancelled = submit(c).json()["id"]
        normal = submit(c).json()["id"]
        body = c.get(poll_path(family, cancelled)).json()
        other = c.get(poll_path(family, normal)).json()
        if family != "runway":
            content = c.get(f"/v1/videos/{cancelled}/content")
            assert content.status_code == 400  # nothing to download
    assert body["status"] == word and other["status"] != word
    assert result_url(family, body) is None


def test_cancelled_after_a_while_reports_where_it_stood_and_wrapped_runway_says_failure(make_sandbox):
    srv = make_sandbox(render_times={"*": (1e6, 1e6)})  # runway wrapped (the default)
    srv.faults.add(route="submit", kind="cancelled", count=1, after_s=20)  # 0.2 s real
    with client(srv.base_url) as c:
        task_id = submit_runway(c).json()["id"]
        before = c.get(poll_path("runway", task_id)).json()["data"]
        after = wait_until(lambda: (b := c.get(poll_path("runway", task_id)).json()["data"])["status"] != "QUEUED"
                           and b, 5)
    assert before["status"] == "SUBMITTED" and before["data"]["status"] == "PENDING"
    # new-api's TaskDto has no cancelled status; Runway's own object inside keeps the truth.
    assert after["status"] == "FAILURE" and after["data"]["status"] == "CANCELLED" and after["finish_time"]


def test_a_task_finished_before_its_cancellation_stays_finished(make_sandbox):
    # 2 s render, cancelled at 3 s; at this time scale both are past (0.3 ms) before the first poll arrives.
    srv = make_sandbox(time_scale=0.0001, render_times={"*": (2, 2)})
    srv.faults.add(route="submit", kind="cancelled", count=1, after_s=3)
    with client(srv.base_url) as c:
        body = c.get(poll_path("sora", submit_video(c).json()["id"])).json()
    assert body["status"] == "completed" and body["video_url"]


def test_a_family_less_cancelled_rule_is_not_used_up_by_kling(make_sandbox):
    srv = make_sandbox(render_times={"*": (1e6, 1e6)})
    srv.faults.add(route="submit", kind="cancelled", count=1)
    with client(srv.base_url) as c:
        kling = submit_kling(c).json()["data"]["task_id"]
        assert c.get(poll_path("kling", kling)).json()["data"]["task_status"] == "submitted"
        sora = submit_video(c).json()["id"]
        assert c.get(poll_path("sora", sora)).json()["status"] == "cancelled"


# -- D4 chunked, D6 error bodies under a 200, D7 a corrupt clip, D10 gzip ---------------------------------------------


def finished_sora_url(c: httpx.Client) -> str:
    return result_url("sora", c.get(poll_path("sora", submit_video(c).json()["id"])).json())


def fetch_raw(url: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its bytes exactly as they crossed the wire (nothing decoded)."""
    with httpx.stream("GET", url, headers={"Accept-Encoding": "identity", **headers}) as answer:
        return answer, b"".join(answer.iter_raw())


def box_walk_breaks(data: bytes) -> bool:
    """Following the top-level box sizes from byte 0 hits a garbage type or a size past the end of the data."""
    offset = 0
    while offset < len(data):
        if offset + 8 > len(data):
            return True
        size, kind = int.from_bytes(data[offset:offset + 4], "big"), data[offset + 4:offset + 8]
        if size == 1:
            size = int.from_bytes(data[offset + 8:offset + 16], "big")
        elif size == 0:
            size = len(data) - offset
        if any(b < 0x20 or b > 0x7E for b in kind) or size < 8 or offset + size > len(data):
            return True
        offset += size
    return False


def chunked_download(make_sandbox, count: int, fraction: float = 1.0, **headers: str):
    """A finished clip's URL, its whole bytes, then one raw fetch of it under a `chunked` fault."""
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        url = finished_sora_url(c)
    whole = httpx.get(url).content
    srv.faults.add(route="download", kind="chunked", count=count, fraction=fraction)
    answer, raw = fetch_raw(url, **headers)
    return url, whole, answer, raw


def test_chunked_sends_the_whole_clip_without_a_content_length(make_sandbox):
    url, whole, answer, raw = chunked_download(make_sandbox, count=2)
    head = httpx.head(url)
    assert answer.status_code == 200 and "content-length" not in answer.headers
    assert answer.headers["transfer-encoding"] == "chunked"
    assert raw == whole and not box_walk_breaks(raw)
    assert head.status_code == 200 and "content-length" not in head.headers and head.content == b""


def test_chunked_with_a_fraction_ends_cleanly_short_then_the_next_answer_is_whole(make_sandbox):
    # No RemoteProtocolError on the way: the chunked stream was properly terminated.
    url, whole, answer, raw = chunked_download(make_sandbox, count=1, fraction=0.5)
    again = httpx.get(url)
    assert answer.status_code == 200 and "content-length" not in answer.headers
    assert raw == whole[:len(whole) // 2]
    assert raw[4:8] == b"ftyp" and box_walk_breaks(raw)  # only the file's structure says it is short
    assert again.headers["content-length"] == str(len(whole)) and again.content == whole


def test_chunked_honours_a_range(make_sandbox):
    _, whole, answer, raw = chunked_download(make_sandbox, count=1, Range="bytes=100-")
    assert answer.status_code == 206 and "content-length" not in answer.headers
    assert answer.headers["content-range"] == f"bytes 100-{len(whole) - 1}/{len(whole)}"
    assert raw == whole[100:]


@pytest.mark.parametrize("keep_bytes", [0, 1024, 10**9])
def test_corrupt_clip_keeps_the_ftyp_and_the_length_and_breaks_a_box_header(make_sandbox, keep_bytes):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        url = finished_sora_url(c)
        whole = httpx.get(url).content
        srv.faults.add(route="download", kind="corrupt_clip", count=2, keep_bytes=keep_bytes)
        answer, raw = fetch_raw(url)
        _, tail = fetch_raw(url, Range="bytes=2000-")
    ftyp = int.from_bytes(whole[:4], "big")
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    assert answer.headers["content-length"] == str(len(whole)) == str(len(raw))
    assert raw[:max(ftyp, min(keep_bytes, 1024))] == whole[:max(ftyp, min(keep_bytes, 1024))]
    assert raw[4:8] == b"ftyp" and raw != whole
    assert box_walk_breaks(raw) and not box_walk_breaks(whole)
    assert tail == raw[2000:]  # one corrupt object: a resumed range continues the same bytes
    assert [r["fault"] for r in srv.requests() if r["route"] == "download"] == [None, "corrupt_clip", "corrupt_clip"]


def test_gzip_ignores_identity_and_declares_the_compressed_length(make_sandbox):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="content", kind="gzip", count=1)
    with client(srv.base_url) as c:
        task_id = submit_video(c, "veo3.1-fast").json()["id"]
        with c.stream("GET", f"/v1/videos/{task_id}/content", headers={"Accept-Encoding": "identity"}) as answer:
            raw = b"".join(answer.iter_raw())
        whole = c.get(f"/v1/videos/{task_id}/content").content
    assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip"
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.headers["content-length"] == str(len(raw)) != str(len(whole))
    assert gzip.decompress(raw) == whole and whole[4:8] == b"ftyp"


@pytest.mark.parametrize("spec, media_type, marker", [
    ({"kind": "error_json"}, "application/json", b'"invalid_request_error"'),
    ({"kind": "error_xml"}, "application/xml", b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"),
    ({"kind": "error_xml", "code": "NoSuchKey", "content_type": "binary/octet-stream"}, "binary/octet-stream",
     b"<Code>NoSuchKey</Code>"),
    ({"kind": "html_error_page", "status": 200}, "text/html", b"<html>"),
])
@pytest.mark.parametrize("route", ["download", "content"])
def test_an_error_body_under_a_200_where_the_clip_was_expected(make_sandbox, spec, media_type, marker, route):
    srv = make_sandbox(**DONE)
    srv.faults.add(route=route, count=1, **spec)
    with client(srv.base_url) as c:
        task_id = submit_video(c, "veo3.1-fast").json()["id"]
        url = result_url("veo", c.get(poll_path("veo", task_id)).json()) if route == "download" \
            else f"{srv.base_url}/v1/videos/{task_id}/content"
        error, clip = c.get(url), c.get(url)
    assert error.status_code == 200 and error.headers["content-type"].split(";")[0] == media_type
    assert marker in error.content and error.content[4:8] != b"ftyp"
    assert clip.status_code == 200 and clip.content[4:8] == b"ftyp"
    assert [r["fault"] for r in srv.requests() if r["route"] == route][-2:] == [spec["kind"], None]
