"""The sandbox bakes a requested defect into a task's clip: every download of that task is the same defective
file, other tasks stay clean, and a defect it could not render is refused naming the field."""

from __future__ import annotations

import httpx
import pytest
from sandbox_helpers import client, poll_path, result_url, submit_video

from jobs.checks import check_clip

DONE = {"render_times": {"*": (0, 0)}}


def fetch(c: httpx.Client, task_id: str, dest) -> object:
    body = c.get(poll_path("sora", task_id)).json()
    dest.write_bytes(httpx.get(result_url("sora", body)).content)
    return dest


def test_a_defect_fault_reaches_the_downloaded_file_and_only_that_task(make_sandbox, tmp_path):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="submit", kind="defect", count=1, defect="freeze", start_s=1.0, duration_s=1.5)
    with client(srv.base_url) as c:
        frozen = submit_video(c, "sora-2", seconds="4").json()["id"]
        clean = submit_video(c, "sora-2", seconds="4").json()["id"]
        first = check_clip(fetch(c, frozen, tmp_path / "a.mp4"), expects_audio=True)
        again = check_clip(fetch(c, frozen, tmp_path / "b.mp4"), expects_audio=True)
        other = check_clip(fetch(c, clean, tmp_path / "c.mp4"), expects_audio=True)
    assert [(f.kind, f.start_s, f.end_s) for f in first] == [("freeze", 1.0, 2.5)]
    assert again == first
    assert other == []


def test_a_silence_defect_mutes_the_soundtrack(make_sandbox, tmp_path):
    srv = make_sandbox(**DONE)
    srv.faults.add(route="submit", kind="defect", count=1, defect="silence", start_s=0.5, duration_s=1.0)
    with client(srv.base_url) as c:
        flags = check_clip(fetch(c, submit_video(c, "sora-2", seconds="4").json()["id"], tmp_path / "a.mp4"), True)
    assert [f.kind for f in flags] == ["silence"]
    assert flags[0].start_s == pytest.approx(0.5, abs=0.2) and flags[0].end_s == pytest.approx(1.5, abs=0.2)


@pytest.mark.parametrize("params, field", [
    ({"defect": "smear"}, "defect"),
    ({"defect": "black", "duration_s": -1}, "duration_s"),
    ({"defect": "bars", "fraction": 1.5}, "fraction"),
    ({"defect": "bars", "orientation": "diagonal"}, "orientation"),
])
def test_a_defect_it_cannot_render_is_refused_by_field(sandbox, params, field):
    answer = httpx.post(f"{sandbox.base_url}/_sandbox/faults", json={"route": "submit", "kind": "defect",
                                                                      "params": params})
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(field)
