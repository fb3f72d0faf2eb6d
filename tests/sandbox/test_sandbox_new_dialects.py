"""The sandbox speaks Seedance, Grok Imagine, Kling Omni and Extend with the keys and JSON types of §8."""

from __future__ import annotations

import base64

import pytest
from sandbox_helpers import assert_conforms, client, fixture, png_bytes, submit_video

QUEUED = {"render_times": {"*": (1e6, 1e6)}}
RUNNING = {"render_times": {"*": (1e6, 1e6)}, "queue_fraction": 0.0}
DONE = {"render_times": {"*": (0, 0)}}


def test_seedance_submitted_in_progress_success(make_sandbox):
    srv = make_sandbox(**QUEUED)
    with client(srv.base_url) as c:
        created = submit_video(c, "doubao-seedance-2-0", seconds="6", size="9:16", resolution="480p")
        assert created.status_code == 200, created.text
        assert_conforms(fixture("seedance/create_reconstructed.json"), created.json())
        assert created.json()["status"] == "SUBMITTED"
        srv.update_config(**RUNNING)
        running = c.get(f"/v1/videos/{submit_video(c, 'doubao-seedance-1-0-pro', seconds='2').json()['id']}").json()
        assert_conforms(fixture("seedance/query_in_progress_reconstructed.json"), running)
        assert running["status"] == "IN_PROGRESS"
        srv.update_config(**DONE)
        done = c.get(f"/v1/videos/{submit_video(c, 'doubao-seedance-2-0-fast').json()['id']}").json()
    assert_conforms(fixture("seedance/query_success_reconstructed.json"), done)
    assert done["status"] == "SUCCESS" and done["video_url"].startswith("http")


@pytest.mark.parametrize("form, message", [
    ({"model": "doubao-seedance-1-5-pro", "seconds": "13"}, "seconds: '13' is not allowed"),
    ({"model": "doubao-seedance-2-0", "resolution": "1080p"}, "resolution: '1080p' is not allowed"),
    ({"model": "doubao-seedance-2-0", "size": "5:4"}, "size: '5:4' is not allowed"),
])
def test_seedance_refusals_are_invalid_parameter(sandbox, form, message):
    with client(sandbox.base_url) as c:
        answer = submit_video(c, **form)
    assert answer.status_code == 400
    assert_conforms(fixture("seedance/error_invalid_parameter_reconstructed.json"), answer.json())
    assert answer.json()["error"]["code"] == "InvalidParameter" and message in answer.json()["error"]["message"]


def test_seedance_image_only_on_the_2_0_models_and_webhook_size_spelling_accepted(sandbox):
    with client(sandbox.base_url) as c:
        refused = submit_video(c, "doubao-seedance-1-5-pro", files=[png_bytes()])
        accepted = submit_video(c, "doubao-seedance-2-0", files=[png_bytes()])
        webhook_guide = submit_video(c, "doubao-seedance-2-0", size="1280x720")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith(
        "the specified task_type i2v does not support model seedance-1-5-pro")
    assert accepted.status_code == 200 and webhook_guide.status_code == 200


@pytest.mark.parametrize("shape, sample", [("bare", "grok/poll_bare_done_reconstructed.json"),
                                           ("wrapped", "grok/poll_wrapped_done.json")])
def test_grok_request_id_then_not_ready_then_done(make_sandbox, shape, sample):
    srv = make_sandbox(shapes={"grok": shape}, **QUEUED)
    body = {"model": "grok-imagine-video", "prompt": "a comet", "duration": 1, "aspect_ratio": "16:9",
            "resolution": "480p"}
    with client(srv.base_url) as c:
        created = c.post("/grok/v1/videos/generations", json=body)
        assert created.status_code == 200, created.text
        assert set(created.json()) == {"request_id"}
        assert_conforms(fixture("grok/submit.json"), created.json())
        waiting = c.get(f"/grok/v1/videos/{created.json()['request_id']}").json()
        if shape == "bare":
            assert waiting == fixture("grok/poll_not_ready.json") | {"request_id": created.json()["request_id"]}
        srv.update_config(**DONE)
        done_id = c.post("/grok/v1/videos/generations", json=body).json()["request_id"]
        done = c.get(f"/grok/v1/videos/{done_id}").json()
    assert_conforms(fixture(sample), done)
    video = done["video"] if shape == "bare" else done["data"]["data"]["video"]
    assert video["url"].startswith("http")
    if shape == "wrapped":
        assert done["data"]["fail_reason"] == video["url"]  # as in the sample: the URL, not an error


def test_grok_expired_and_validation(make_sandbox):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="submit", kind="content_policy", family="grok", code="expired", when="end")
    with client(srv.base_url) as c:
        rid = c.post("/grok/v1/videos/generations", json={"prompt": "x", "duration": 2}).json()["request_id"]
        assert c.get(f"/grok/v1/videos/{rid}").json()["status"] == "expired"
        too_long = c.post("/grok/v1/videos/generations", json={"prompt": "x", "duration": 16})
        hd_on_old = c.post("/grok/v1/videos/generations", json={"prompt": "x", "resolution": "1080p"})
        image = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
        with_image = c.post("/grok/v1/videos/generations", json={"prompt": "x", "image": {"url": image},
                                                                 "model": "grok-imagine-video-1.5",
                                                                 "resolution": "1080p"})
    assert too_long.status_code == 400 and "duration" in too_long.json()["error"]["message"]
    assert hd_on_old.status_code == 400 and "resolution" in hd_on_old.json()["error"]["message"]
    assert with_image.status_code == 200


@pytest.mark.parametrize("shape, sample", [("native", "kling/success_reconstructed.json"),
                                           ("wrapped", "kling_omni/query_wrapped_success_reconstructed.json")])
def test_kling_omni_query_shapes_and_extend(make_sandbox, shape, sample):
    srv = make_sandbox(shapes={"kling_omni": shape}, **QUEUED)
    body = {"model_name": "kling-video-o1", "prompt": "a lantern", "mode": "std", "duration": "5",
            "aspect_ratio": "16:9"}
    with client(srv.base_url) as c:
        created = c.post("/kling/v1/videos/omni-video", json=body)
        assert created.status_code == 200, created.text
        assert_conforms(fixture("kling/submit_cdoc.json"), created.json())
        waiting = c.get(f"/kling/v1/videos/omni-video/{created.json()['data']['task_id']}").json()
        if shape == "native":
            assert_conforms(fixture("kling_omni/query_native_processing.json") | {"data": {}}, waiting)
        srv.update_config(**DONE)
        done_id = c.post("/kling/v1/videos/omni-video", json=body).json()["data"]["task_id"]
        done = c.get(f"/kling/v1/videos/omni-video/{done_id}").json()
        assert_conforms(fixture(sample), done)
        task = done["data"] if shape == "native" else done["data"]["data"]
        video_id = task["task_result"]["videos"][0]["id"]
        extended = c.post("/kling/v1/videos/video-extend", json={"video_id": video_id, "prompt": "and on"})
        assert extended.status_code == 200, extended.text
        assert_conforms(fixture("kling_extend/submit_reconstructed.json"), extended.json())
        assert extended.json()["data"]["task_info"]["parent_video"]["id"] == video_id
        child = c.get(f"/kling/v1/videos/video-extend/{extended.json()['data']['task_id']}").json()
        assert child["data"]["task_status"] == "succeed"
        unknown = c.post("/kling/v1/videos/video-extend", json={"video_id": "123v01", "prompt": "x"})
        end_alone = c.post("/kling/v1/videos/omni-video", json={**body, "image_list": [
            {"image_url": "https://images.example.com/b.png", "type": "end_frame"}]})
    assert unknown.status_code == 400 and "video_id" in unknown.json()["error"]["message"]
    assert end_alone.status_code == 400 and "end frame alone" in end_alone.json()["error"]["message"]


def test_the_extend_poll_route_can_be_absent(make_sandbox):
    srv = make_sandbox(shapes={"kling_extend": "no_poll_route"}, **DONE)
    with client(srv.base_url) as c:
        parent = c.post("/kling/v1/videos/text2video",
                        json={"model_name": "kling-v1-6", "prompt": "x", "duration": "5"}).json()["data"]["task_id"]
        video_id = c.get(f"/kling/v1/videos/text2video/{parent}").json()["data"]["task_result"]["videos"][0]["id"]
        child = c.post("/kling/v1/videos/video-extend", json={"video_id": video_id, "prompt": "on"}).json()
        answer = c.get(f"/kling/v1/videos/video-extend/{child['data']['task_id']}")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
