"""Every sandbox answer has the keys and JSON types of the documented samples, per family and shape."""

from __future__ import annotations

import base64
import re

import pytest
from sandbox_helpers import (
    assert_conforms,
    client,
    fixture,
    png_bytes,
    poll_path,
    submit_kling,
    submit_runway,
    submit_video,
)

from sandbox.pytest_plugin import wait_until

QUEUED = {"render_times": {"*": (1e6, 1e6)}}  # never leaves the queue during a test
RUNNING = {"render_times": {"*": (1e6, 1e6)}, "queue_fraction": 0.0}
DONE = {"render_times": {"*": (0, 0)}}


def test_helper_rejects_a_missing_key_and_a_wrong_type():
    with pytest.raises(AssertionError, match="missing keys"):
        assert_conforms({"a": 1, "b": "x"}, {"a": 2})
    with pytest.raises(AssertionError, match="expected number"):
        assert_conforms({"a": {"b": 1}}, {"a": {"b": "1"}})
    assert_conforms({"a": [{"b": 1}]}, {"a": [{"b": 2, "c": 3}], "d": None})


@pytest.mark.parametrize("shape", ["current", "no_url", "content_only"])
def test_veo_current_shapes_submit_poll_complete(make_sandbox, shape):
    srv = make_sandbox(shapes={"veo": shape}, **QUEUED)
    with client(srv.base_url) as c:
        created = submit_video(c, "veo3.1-fast", seconds="8", size="1280x720")
        assert created.status_code == 200, created.text
        assert_conforms(fixture("videos/generic_submit.json"), created.json())
        assert re.fullmatch(r"task_[A-Za-z0-9]{32}", created.json()["id"])
        queued = c.get(poll_path("veo", created.json()["id"])).json()
        assert_conforms(fixture("veo/poll_gen_a_queued.json"), queued)
        assert queued["status"] == "queued"
        srv.update_config(**DONE)
        done_task = submit_video(c, "veo3.1", seconds="4").json()
        done = c.get(poll_path("veo", done_task["id"])).json()
    assert done["status"] == "completed"
    if shape == "current":
        assert_conforms(fixture("veo/completed_cdoc.json"), done)
        assert_conforms(fixture("videos/generic_completed.json"), done)
    else:
        assert "video_url" not in done
        assert ("url" in done.get("metadata", {})) == (shape == "no_url")


def test_veo_gen_a_shape_echoes_resolved_model_and_succeeds_with_output(make_sandbox):
    srv = make_sandbox(shapes={"veo": "gen_a"}, **QUEUED)
    with client(srv.base_url) as c:
        created = submit_video(c, "veo3.1", size="16x9")
        assert created.status_code == 200, created.text
        assert_conforms(fixture("veo/submit_gen_a.json"), created.json())
        assert created.json()["model"] == "veo_3_1-4K"
        assert created.json()["seconds"] == ""
        assert_conforms(fixture("veo/poll_gen_a_queued.json"), c.get(poll_path("veo", created.json()["id"])).json())
        assert submit_video(c, "veo3.1", size="1280x720").status_code == 400  # Gen-A sizes are 16x9 / 9x16
        srv.update_config(**DONE)
        done = c.get(poll_path("veo", submit_video(c, "veo3-fast", size="9x16").json()["id"])).json()
    assert done["status"] == "succeeded"
    assert isinstance(done["output"][0], str) and "video_url" not in done


@pytest.mark.parametrize("id_style, pattern", [("video", r"video_[0-9a-f]{32}"), ("task", r"task_[A-Za-z0-9]{32}")])
def test_sora_create_retrieve_complete(make_sandbox, id_style, pattern):
    srv = make_sandbox(sora_id_style=id_style, **RUNNING)
    with client(srv.base_url) as c:
        created = submit_video(c, "sora-2", seconds="4", size="1280x720")
        assert created.status_code == 200, created.text
        assert_conforms(fixture("sora/create.json"), created.json())
        assert re.fullmatch(pattern, created.json()["id"])
        running = c.get(poll_path("sora", created.json()["id"])).json()
        assert running["status"] == "in_progress"
        assert_conforms(fixture("sora/retrieve_in_progress.json"), running)
        srv.update_config(**DONE)
        done = c.get(poll_path("sora", submit_video(c, "sora-2-pro", seconds="8").json()["id"])).json()
    assert_conforms(fixture("videos/generic_completed.json"), done)
    assert isinstance(done["expires_at"], int) and isinstance(done["completed_at"], int)


def test_sora_content_only_shape_has_no_url(make_sandbox):
    srv = make_sandbox(shapes={"sora": "content_only"}, **DONE)
    with client(srv.base_url) as c:
        done = c.get(poll_path("sora", submit_video(c).json()["id"])).json()
    assert done["status"] == "completed" and "video_url" not in done


def test_sora_remix_points_back_to_its_source(make_sandbox):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        source = submit_video(c, "sora-2").json()["id"]
        remix = c.post(f"/v1/videos/{source}/remix", json={"prompt": "Same, but at night"})
        assert remix.status_code == 200, remix.text
        assert_conforms(fixture("sora/create.json"), remix.json())
        polled = c.get(poll_path("sora", remix.json()["id"])).json()
    assert polled["remixed_from_video_id"] == source
    assert polled["prompt"] == "Same, but at night"


def test_kling_submit_processing_succeed(make_sandbox):
    srv = make_sandbox(**RUNNING)
    with client(srv.base_url) as c:
        created = submit_kling(c, external_task_id="job-1")
        assert created.status_code == 200, created.text
        assert_conforms(fixture("kling/submit_cdoc.json"), created.json())
        task_id = created.json()["data"]["task_id"]
        assert re.fullmatch(r"[1-9][0-9]{18}", task_id)
        assert created.json()["data"]["task_info"] == {"external_task_id": "job-1"}
        processing = c.get(poll_path("kling", task_id)).json()
        assert processing["data"]["task_status"] == "processing"
        assert_conforms(fixture("kling/poll_processing.json"), processing)
        assert c.get(poll_path("kling", task_id, "image2video")).json()["code"] == "task_not_exist"
        srv.update_config(**DONE)
        image = base64.b64encode(png_bytes(640, 360)).decode()
        done_id = submit_kling(c, "image2video", image=image).json()["data"]["task_id"]
        done = c.get(poll_path("kling", done_id, "image2video")).json()
    assert_conforms(fixture("kling/success_reconstructed.json"), done)
    assert done["data"]["task_result"]["videos"][0]["duration"] == "5.1"
    assert done["data"]["created_at"] > 10**12  # milliseconds


@pytest.mark.parametrize("shape", ["wrapped", "bare"])
def test_runway_submit_and_poll_shapes(make_sandbox, shape):
    srv = make_sandbox(shapes={"runway": shape}, **QUEUED)
    with client(srv.base_url) as c:
        created = submit_runway(c)
        assert created.status_code == 200, created.text
        assert_conforms(fixture("runway/submit.json"), created.json())
        task_id = created.json()["id"]
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", task_id)
        queued = c.get(poll_path("runway", task_id)).json()
        srv.update_config(render_times={"*": (0, 0)})
        done = c.get(poll_path("runway", submit_runway(c).json()["id"])).json()
    if shape == "wrapped":
        assert_conforms(fixture("runway/poll_wrapped_queued.json"), queued)
        assert queued["data"]["status"] in ("NOT_START", "SUBMITTED", "QUEUED")
        assert done["data"]["status"] == "SUCCESS" and done["data"]["progress"] == "100%"
        assert done["data"]["data"]["status"] == "SUCCEEDED"
        assert done["data"]["result_url"] == done["data"]["data"]["output"][0]
    else:
        assert queued["status"] == "PENDING" and "code" not in queued
        assert_conforms(fixture("runway/poll_bare_succeeded.json"), done)


def test_runway_bare_progress_is_a_fraction_while_running(make_sandbox):
    srv = make_sandbox(shapes={"runway": "bare"}, render_times={"*": (100, 100)}, queue_fraction=0.0)
    with client(srv.base_url) as c:
        task_id = submit_runway(c).json()["id"]
        running = wait_until(lambda: (b := c.get(poll_path("runway", task_id)).json())["progress"] > 0 and b, 5)
    assert running["status"] == "RUNNING" and 0 < running["progress"] < 1


def test_error_bodies_match_documented_envelopes(sandbox):
    with client(sandbox.base_url) as c:
        missing_model = c.post("/v1/videos", data={"prompt": "x"})
        unknown = c.get("/v1/videos/task_doesnotexist")
    assert missing_model.status_code == 400
    assert_conforms(fixture("common/error_envelope_400.json"), missing_model.json())
    assert missing_model.json()["error"]["message"].startswith("model name is required (request id: ")
    assert unknown.status_code == 400
    assert unknown.json() == fixture("common/task_error_task_not_exist.json")


def test_legacy_generations_route_uses_the_tutorial_shape(make_sandbox):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        task_id = submit_video(c, "veo3.1-fast").json()["id"]
        legacy = c.get(f"/v1/video/generations/{task_id}").json()
    assert_conforms(fixture("videos/legacy_succeeded_output.json"), legacy)
    assert legacy["data"]["status"] == "succeeded"
