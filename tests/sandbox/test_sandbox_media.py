"""Result clips are real, browser-playable MP4s matching the request; URLs expire and re-polling refreshes them."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from sandbox_helpers import client, png_bytes, poll_path, result_url, submit_kling, submit_runway, submit_video

from sandbox.pytest_plugin import wait_until
from sandbox.render import ClipSpec, render_clip

DONE = {"render_times": {"*": (0, 0)}}


def top_level_boxes(data: bytes) -> list[str]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        boxes.append(kind.decode("latin-1"))
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        offset += size
    return boxes


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return {
            "codec": video.codec_context.name, "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.codec_context.width, video.codec_context.height), "fps": float(video.average_rate),
            "duration": container.duration / 1e6, "audio": [s.codec_context.name for s in container.streams.audio],
            "first_frame": next(container.decode(video=0)).to_ndarray(format="rgb24"),
        }


def download(url: str, dest: Path) -> Path:
    answer = httpx.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "video/mp4"
    assert int(answer.headers["content-length"]) == len(answer.content)
    dest.write_bytes(answer.content)
    return dest


def test_sora_clip_matches_the_request_and_plays_in_a_browser(make_sandbox, tmp_path):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        body = c.get(poll_path("sora", submit_video(c, "sora-2", seconds="4", size="720x1280").json()["id"])).json()
    path = download(result_url("sora", body), tmp_path / "sora.mp4")
    info = probe(path)
    assert (info["codec"], info["pix_fmt"]) == ("h264", "yuv420p")
    assert info["size"] == (720, 1280) and info["fps"] == 24
    assert info["duration"] == pytest.approx(4, abs=0.05)
    assert info["audio"] == ["aac"]  # Sora 2 generates sound
    boxes = top_level_boxes(path.read_bytes())
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")  # faststart


def test_kling_image_to_video_starts_on_the_uploaded_image(make_sandbox, tmp_path):
    srv = make_sandbox(**DONE)
    image = base64.b64encode(png_bytes(960, 540, (20, 200, 60))).decode()
    with client(srv.base_url) as c:
        task_id = submit_kling(c, "image2video", image=image, model_name="kling-v2-1-master").json()["data"]["task_id"]
        body = c.get(poll_path("kling", task_id, "image2video")).json()
    info = probe(download(result_url("kling", body), tmp_path / "kling.mp4"))
    assert info["size"] == (1280, 720) and info["duration"] == pytest.approx(5, abs=0.05)
    assert info["audio"] == []  # this Kling route makes silent clips
    mean = info["first_frame"].reshape(-1, 3).mean(axis=0)
    assert np.allclose(mean, (20, 200, 60), atol=12)


def test_pictures_differ_by_model_and_prompt(tmp_path):
    def first_frame(model: str, prompt: str) -> np.ndarray:
        path = render_clip(ClipSpec(model, prompt, 320, 180, 1.0), tmp_path / f"{model}-{len(prompt)}.mp4")
        with av.open(str(path)) as container:
            return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)

    base = first_frame("veo3.1", "a lighthouse at dawn")
    assert np.abs(base - first_frame("sora-2", "a lighthouse at dawn")).mean() > 5
    assert np.abs(base - first_frame("veo3.1", "a submarine in a storm, long")).mean() > 5


def test_range_requests_get_206_partial_content(make_sandbox):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        url = result_url("runway", c.get(poll_path("runway", submit_runway(c).json()["id"])).json())
    whole = httpx.get(url)
    assert whole.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    tail = httpx.get(url, headers={"Range": f"bytes={len(whole.content) - 10}-"})
    assert tail.content == whole.content[-10:]
    assert httpx.get(url, headers={"Range": f"bytes={len(whole.content)}-"}).status_code == 416
    # If-Range: the same file (by ETag or date) gives the piece, a changed one the whole file.
    for validator in (whole.headers["etag"], whole.headers["last-modified"]):
        assert httpx.get(url, headers={"Range": "bytes=100-", "If-Range": validator}).status_code == 206
    changed = httpx.get(url, headers={"Range": "bytes=100-", "If-Range": '"another-file"'})
    assert changed.status_code == 200 and changed.content == whole.content


def test_expired_url_is_403_and_a_fresh_poll_gives_a_working_url(make_sandbox, tmp_path):
    srv = make_sandbox(url_ttl_s=1, **DONE)
    with client(srv.base_url) as c:
        task_id = submit_video(c, "veo3.1-fast", seconds="4").json()["id"]
        first = result_url("veo", c.get(poll_path("veo", task_id)).json())
        assert httpx.get(first).status_code == 200
        expired = wait_until(lambda: (r := httpx.get(first)).status_code == 403 and r, timeout=5)
        assert b"expired" in expired.content
        fresh = result_url("veo", c.get(poll_path("veo", task_id)).json())
    assert fresh != first
    download(fresh, tmp_path / "fresh.mp4")


def test_tampered_signature_is_403(make_sandbox):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        url = result_url("sora", c.get(poll_path("sora", submit_video(c).json()["id"])).json())
    assert httpx.get(url[:-4] + "0000").status_code == 403
    assert httpx.get(url.split("?")[0]).status_code == 403


def test_content_route_errors_before_completion_and_serves_the_clip_after(make_sandbox):
    srv = make_sandbox(render_times={"*": (1e6, 1e6)})
    with client(srv.base_url) as c:
        task_id = submit_video(c, "sora-2").json()["id"]
        early = c.get(f"/v1/videos/{task_id}/content")
        assert early.status_code == 400 and early.json()["error"]["type"] == "invalid_request_error"
        srv.update_config(render_times={"*": (0, 0)})
        done_id = submit_video(c, "sora-2").json()["id"]
        late = c.get(f"/v1/videos/{done_id}/content")
    assert late.status_code == 200 and late.headers["content-type"] == "video/mp4"
    assert late.content[4:8] == b"ftyp"


def test_prerendered_clip_is_served_for_every_task(make_sandbox, tmp_path):
    clip = render_clip(ClipSpec("bench", "fixed", 320, 180, 1.0), tmp_path / "fixed.mp4")
    srv = make_sandbox(prerendered_clip=clip, **DONE)
    with client(srv.base_url) as c:
        url = result_url("kling", c.get(poll_path("kling", submit_kling(c).json()["data"]["task_id"])).json())
    assert httpx.get(url).content == clip.read_bytes()


def test_render_rejects_odd_dimensions(tmp_path):
    with pytest.raises(ValueError, match="even"):
        render_clip(ClipSpec("m", "p", 321, 180, 1.0), tmp_path / "odd.mp4")
