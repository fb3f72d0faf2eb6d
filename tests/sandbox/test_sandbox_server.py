"""Starting, stopping and restarting the sandbox; validation; runtime config; the request log."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import RUNWAY_HEADERS, client, png_bytes, poll_path, submit_kling, submit_runway, submit_video

from sandbox import SandboxConfig, SandboxServer
from sandbox.pytest_plugin import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_restart_on_the_same_data_dir_resumes_known_tasks(tmp_path):
    config = dict(time_scale=0.01, data_dir=tmp_path / "data", render_times={"*": (50, 50)})
    first = SandboxServer(SandboxConfig(**config), port=0).start()
    with client(first.base_url) as c:
        task_id = submit_kling(c).json()["data"]["task_id"]
        before = c.get(poll_path("kling", task_id)).json()["data"]
    first.stop()
    second = SandboxServer(SandboxConfig(**config), port=0).start()
    try:
        with client(second.base_url) as c:
            def succeeded() -> dict | None:
                data = c.get(poll_path("kling", task_id)).json()["data"]
                return data if data["task_status"] == "succeed" else None

            after = wait_until(succeeded, timeout=5)
    finally:
        second.stop()
    assert after["created_at"] == before["created_at"]  # the same task, timed from its original submit


def test_stop_releases_the_port_and_start_waits_until_it_accepts(tmp_path):
    srv = SandboxServer(SandboxConfig(data_dir=tmp_path), port=0).start()
    port = srv.port
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    srv.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_request_log_counts_polls_per_task_and_single_submits(sandbox):
    with client(sandbox.base_url) as c:
        ids = [submit_video(c).json()["id"] for _ in range(2)]
        for _ in range(3):
            c.get(poll_path("sora", ids[0]))
        c.get(poll_path("sora", ids[1]))
    log = sandbox.requests()
    submits = [r["task_id"] for r in log if r["route"] == "submit"]
    assert sorted(submits) == sorted(ids)
    polls = [r["task_id"] for r in log if r["route"] == "poll"]
    assert polls.count(ids[0]) == 3 and polls.count(ids[1]) == 1
    assert {r["family"] for r in log} == {"sora"}
    sandbox.reset_log()
    assert sandbox.requests() == []


@pytest.mark.parametrize("form, field", [
    ({"model": "sora-2", "prompt": "x", "seconds": "10"}, "seconds"),
    ({"model": "sora-2", "prompt": "x", "size": "1920x1080"}, "size"),
    ({"model": "veo3.1", "prompt": "x", "seconds": "5"}, "seconds"),
    ({"model": "veo9", "prompt": "x"}, "model"),
    ({"model": "veo3.1"}, "prompt"),
])
def test_videos_validation_names_the_field(sandbox, form, field):
    with client(sandbox.base_url) as c:
        answer = c.post("/v1/videos", data=form)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(field)


def test_legacy_veo_alias_takes_the_gen_a_form_whatever_the_response_shape(sandbox):
    with client(sandbox.base_url) as c:
        legacy = submit_video(c, "veo3-fast", size="16x9")
        current_size_on_legacy = submit_video(c, "veo3-fast", size="1280x720")
        gen_b = submit_video(c, "veo3.1-fast", size="1280x720", seconds="8")
    assert legacy.status_code == 200 and legacy.json()["size"] == "16x9"
    assert current_size_on_legacy.status_code == 400
    assert current_size_on_legacy.json()["error"]["message"].startswith("size")
    assert gen_b.status_code == 200 and gen_b.json()["size"] == "1280x720"


def test_veo_takes_two_reference_images_and_sora_one(sandbox):
    with client(sandbox.base_url) as c:
        assert submit_video(c, "veo3.1", files=[png_bytes(), png_bytes()]).status_code == 200
        too_many = submit_video(c, "sora-2", files=[png_bytes(), png_bytes()])
        not_image = submit_video(c, "sora-2", files=[b"not an image"])
    assert too_many.status_code == 400 and "input_reference" in too_many.json()["error"]["message"]
    assert not_image.status_code == 400 and "input_reference" in not_image.json()["error"]["message"]


@pytest.mark.parametrize("body, field", [
    ({"prompt": "x" * 501}, "prompt"),
    ({"negative_prompt": "x" * 201}, "negative_prompt"),
    ({"duration": 5}, "duration"),
    ({"aspect_ratio": "21:9"}, "aspect_ratio"),
    ({"model_name": "kling-v2-master", "cfg_scale": 0.5}, "cfg_scale"),
    ({"camera_control": {"type": "simple", "config": {"pan": 5, "zoom": 2}}}, "camera_control.config"),
    ({"camera_control": {"type": "simple", "config": {"zoom": 11}}}, "camera_control.config.zoom"),
    ({"camera_control": {"type": "simple", "config": {}}}, "camera_control.config"),
    ({"camera_control": {"type": "down_back", "config": {"pan": 1}}}, "camera_control.config"),
])
def test_kling_validation_names_the_field(sandbox, body, field):
    with client(sandbox.base_url) as c:
        answer = submit_kling(c, **body)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(field)


def test_kling_accepts_one_camera_axis_and_rejects_data_uri_images(sandbox):
    with client(sandbox.base_url) as c:
        ok = submit_kling(c, camera_control={"type": "simple", "config": {"horizontal": -10, "zoom": 0}})
        prefixed = submit_kling(c, "image2video", image="data:image/png;base64,AAAA")
        small = submit_kling(c, "image2video", image=base64.b64encode(png_bytes(200, 200)).decode())
    assert ok.status_code == 200
    assert prefixed.status_code == 400 and prefixed.json()["error"]["message"].startswith("image")
    assert small.status_code == 400 and "300 px" in small.json()["error"]["message"]


@pytest.mark.parametrize("headers, body, field", [
    ({"Authorization": "Bearer sk-sandbox"}, {}, "X-Runway-Version"),
    (RUNWAY_HEADERS, {"ratio": "1280:768"}, "ratio"),  # a gen3a_turbo ratio on gen4_turbo
    (RUNWAY_HEADERS, {"duration": 7}, "duration"),
    (RUNWAY_HEADERS, {"promptText": "x" * 513}, "promptText"),
    (RUNWAY_HEADERS, {"seed": 1_000_000_000}, "seed"),
    (RUNWAY_HEADERS, {"promptImage": "http://insecure.example/a.png"}, "promptImage"),
])
def test_runway_validation_names_the_field(sandbox, headers, body, field):
    with client(sandbox.base_url) as c:
        answer = submit_runway(c, headers=headers, **body)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(field)


def test_shape_changes_at_runtime_over_http(make_sandbox):
    srv = make_sandbox(render_times={"*": (0, 0)})
    control = httpx.Client(base_url=srv.base_url)
    with client(srv.base_url) as c:
        task_id = submit_runway(c).json()["id"]
        assert c.get(poll_path("runway", task_id)).json()["code"] == "success"
        changed = control.post("/_sandbox/config", json={"shapes": {"runway": "bare"}})
        assert changed.status_code == 200 and changed.json()["shapes"]["runway"] == "bare"
        assert c.get(poll_path("runway", task_id)).json()["status"] == "SUCCEEDED"
    refused = control.post("/_sandbox/config", json={"shapes": {"runway": "square"}})
    assert refused.status_code == 400 and "wrapped" in refused.json()["error"]
    assert control.get("/_sandbox/config").json()["shapes"]["runway"] == "bare"


def test_wrong_path_answers_html_not_json(sandbox):
    answer = httpx.get(f"{sandbox.base_url}/v2/videos", headers={"Authorization": "Bearer sk-sandbox"})
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")


def test_standalone_module_serves_and_stops_on_sigint(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--time-scale", "0.01", "--data-dir", str(tmp_path),
         "--shape", "runway=bare"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=15)
        config = httpx.get(f"http://127.0.0.1:{port}/_sandbox/config").json()
        assert config["shapes"]["runway"] == "bare" and config["time_scale"] == 0.01
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert (tmp_path / "sandbox.sqlite3").exists()


def test_long_tailed_render_times_follow_the_configured_quantiles(tmp_path):
    import random

    config = SandboxConfig(data_dir=tmp_path, render_lognormal={"kling": (180, 600)}, render_times={"*": (1, 2)})
    rng = random.Random(7)
    kling = sorted(config.draw_render_time("kling-v1-6", "kling", rng) for _ in range(4000))
    assert abs(kling[2000] - 180) < 15  # median
    assert abs(kling[3600] - 600) < 60  # 90th percentile
    assert kling[-1] <= 180 * (600 / 180) ** (2.3264 / 1.2816) + 1  # capped at the 99th percentile
    assert 1 <= config.draw_render_time("veo3.1", "veo", rng) <= 2  # other models keep their uniform range
    with pytest.raises(ValueError, match="render_lognormal"):
        SandboxConfig(data_dir=tmp_path, render_lognormal={"kling": (600, 180)})


def test_with_a_seed_each_model_draws_the_same_render_times_again_after_a_reseed(make_sandbox):
    """A benchmark's two clients submit the same workload in a different interleaving: they must get the same
    render times, model by model, or the comparison measures the draws instead of the clients."""
    server = make_sandbox(seed=11, render_times={"*": (10, 500)})
    store = server.sandbox.store

    def task_id(response: httpx.Response) -> str:
        body = response.json()
        return body.get("id") or body["data"]["task_id"]

    def render_times(order: list[str]) -> dict[str, list[float]]:
        got: dict[str, list[float]] = {}
        with client(server.base_url) as c:
            for model in order:
                r = submit_kling(c, model_name=model) if model.startswith("kling") else submit_video(c, model=model)
                got.setdefault(model, []).append(store.get(task_id(r)).render_s)
        return got

    first = render_times(["sora-2", "kling-v1-6", "sora-2", "kling-v1-6", "sora-2"])
    server.update_config(seed=11)
    second = render_times(["kling-v1-6", "kling-v1-6", "sora-2", "sora-2", "sora-2"])
    assert first == second
    assert len(set(first["sora-2"])) == 3  # a stream of draws, not one value repeated


def test_kling_tasks_can_be_queried_by_the_clients_external_task_id(sandbox):
    """CometAPI's Kling doc: external_task_id "can be used to query" (how an unclear submit is reconciled)."""
    with client(sandbox.base_url) as c:
        task_id = submit_kling(c, external_task_id="dailies-job-42").json()["data"]["task_id"]
        found = c.get("/kling/v1/videos/text2video/dailies-job-42")
        missing = c.get("/kling/v1/videos/text2video/dailies-job-43")
    assert found.status_code == 200
    data = found.json()["data"]
    assert data["task_id"] == task_id and data["task_info"] == {"external_task_id": "dailies-job-42"}
    assert missing.status_code == 400 and "task_not_exist" in missing.text
    assert [r["task_id"] for r in sandbox.requests() if r["route"] == "poll"] == [task_id, "dailies-job-43"]
