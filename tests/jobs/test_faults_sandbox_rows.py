"""reliability.md §4 rows the sandbox could not inject before: D3 (slow drip), P8 (`openai-poll-after-ms`) and P4
(Runway THROTTLED, a cancelled task), each through the real sandbox and the real client."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from jobs_helpers import (
    SANDBOX_KEY,
    backend_for,
    downloads,
    polls,
    run_one,
    submits,
    wait_state,
)

from jobs.clipstore import ClipStore
from jobs.ledger import JobState
from providers.client import CometClient
from providers.errors import ErrorKind, TransientError

ENDED = {JobState.DOWNLOADED, JobState.FAILED, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED, JobState.STALE,
         JobState.CANCELED}
FAST = {"render_times": {"*": (5, 10)}}

# A watchdog that judges throughput over half a second, so a drip is caught in test time.
SHORT_WINDOW = {"min_throughput_bps": 32 * 1024, "throughput_window_s": 0.5}


def leftovers(store: ClipStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir())


# -- D3: slow drip ------------------------------------------------------------------------------------------------


def finished_kling_url(server: Any) -> str:
    """The signed result URL of one finished Kling task, fetched the way any client would."""
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {SANDBOX_KEY}"}) as c:
        task_id = c.post("/kling/v1/videos/text2video",
                         json={"model_name": "kling-v1-6", "prompt": "a fox"}).json()["data"]["task_id"]
        done = c.get(f"/kling/v1/videos/text2video/{task_id}").json()
    return done["data"]["task_result"]["videos"][0]["url"]


def test_d3_a_sandbox_drip_is_aborted_as_a_timeout_and_leaves_nothing(make_sandbox, tmp_path: Path) -> None:
    server = make_sandbox(render_times={"*": (0, 0)})
    served = Path(server.config.prerendered_clip).read_bytes()
    # At 4 KiB/s the whole clip must take several windows, or the watchdog never gets to judge it.
    assert len(served) / 4096 > 4 * SHORT_WINDOW["throughput_window_s"], "the served clip is too small to drip"
    url = finished_kling_url(server)
    store = ClipStore(tmp_path / "clips", min_free_bytes=0, **SHORT_WINDOW)
    server.faults.add(route="download", kind="drip", count=1, bytes_per_s=4096, slice_bytes=1024)
    with CometClient(backend_for(server)) as client:
        with pytest.raises(TransientError) as info:
            store.download(lambda headers: client.open_download(url, headers=headers), "drip")
        assert info.value.kind == ErrorKind.TIMEOUT and "slower than" in info.value.message
        assert leftovers(store) == []  # no clip, no .part, no thumbnail
        assert [(r["status"], r["fault"]) for r in downloads(server)] == [(200, "drip")]

        clip = store.download(lambda headers: client.open_download(url, headers=headers), "whole")
    assert clip.path.read_bytes() == served and clip.sha256 == hashlib.sha256(served).hexdigest()
    assert store.verify(clip.path, clip.sha256, clip.size_bytes)
    assert leftovers(store) == sorted([clip.path.name, clip.thumbnail_path.name])


def test_d3_the_runner_retries_a_dripped_download_and_keeps_the_clip(make_sandbox, make_runner,
                                                                     tmp_path: Path) -> None:
    server = make_sandbox(**FAST)
    server.faults.add(route="download", kind="drip", count=1, bytes_per_s=4096)
    store = ClipStore(tmp_path / "drip-clips", min_free_bytes=0, **SHORT_WINDOW)
    runner = make_runner(clips=store)
    job = wait_state(runner, run_one(runner, server, "kling-v1-6"), ENDED, timeout=20)
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert [r["fault"] for r in downloads(server)] == ["drip", None]
    assert store.path_of(job.clip_path).is_file() and not list(store.root.glob("*.part"))
    assert len(submits(server)) == 1


# -- P8: openai-poll-after-ms ---------------------------------------------------------------------------------------


def poll_gaps(server: Any) -> list[float]:
    times = [r["time"] for r in polls(server)]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_p8_a_long_poll_after_spaces_the_polls_at_least_that_far_apart(make_sandbox, make_runner) -> None:
    # 45 s is longer than most of the runner's own waits on a 100-120 s render (20 s while queued, short landings).
    server = make_sandbox(poll_after_ms="45000", render_times={"*": (100, 120)})
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server), ENDED, timeout=20)
    assert job.state == JobState.DOWNLOADED, job.error_message
    gaps = poll_gaps(server)
    assert gaps, "the job was polled only once: nothing to measure"
    floor = 45.0 * server.config.time_scale
    assert min(gaps) >= floor * 0.95, f"polls {min(gaps):.3f} s apart, the server asked for {floor:.3f} s"


def test_p8_a_zero_poll_after_does_not_make_the_runner_busy_loop(make_sandbox, make_runner) -> None:
    # time_scale 0.02: the 1 s floor is 20 ms of real time, well above a busy loop's back-to-back polls.
    server = make_sandbox(poll_after_ms="0", time_scale=0.02, render_times={"*": (40, 60)})
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server), ENDED, timeout=20)
    assert job.state == JobState.DOWNLOADED, job.error_message
    gaps = poll_gaps(server)
    assert gaps, "the job was polled only once: nothing to measure"
    floor = 1.0 * server.config.time_scale  # "0" is clamped to 1 s provider time
    assert min(gaps) >= floor * 0.95
    span = polls(server)[-1]["time"] - polls(server)[0]["time"]
    assert len(gaps) <= span / floor + 1


@pytest.mark.parametrize("value", ["banana", "-5", "inf", "nan", ""])
def test_p8_a_garbage_poll_after_is_ignored_and_the_job_ends_downloaded(make_sandbox, make_runner, value) -> None:
    server = make_sandbox(poll_after_ms=value, **FAST)
    runner = make_runner()
    job = wait_state(runner, run_one(runner, server), ENDED, timeout=20)
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert [r["status"] for r in polls(server)][-1] == 200
    assert len(submits(server)) == 1


# -- P4: statuses the sandbox did not send before ----------------------------------------------------------------------


def runway_word(body: dict[str, Any]) -> str | None:
    """Runway's own status word: the bare task's, or the one inside new-api's wrapper."""
    inner = body.get("data")
    if isinstance(inner, dict) and isinstance(inner.get("data"), dict):
        return inner["data"].get("status")
    return body.get("status")


class _SeenStatuses:
    """Our seam (client_factory): the real client, noting Runway's status word in every poll answer it parsed."""

    def __init__(self, real: CometClient, seen: list[str | None]) -> None:
        self.real, self.seen = real, seen

    def poll(self, family: str, path: str) -> Any:
        status = self.real.poll(family, path)
        self.seen.append(runway_word(status.raw))
        return status

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize("shape", ["bare", "wrapped"])
def test_p4_a_throttled_runway_task_keeps_being_polled_and_ends_downloaded(make_sandbox, make_runner, shape) -> None:
    # Most of the render queued (THROTTLED), so several polls see it: 80-88 provider s, 2.4-2.6 real s at this scale
    # (32-40 provider s at the suite's 0.01 were 0.4 real s: on a loaded machine one late poll found the render done).
    server = make_sandbox(runway_queue_status="THROTTLED", shapes={"runway": shape}, queue_fraction=0.8,
                          render_times={"*": (100, 110)}, time_scale=0.03)
    seen: list[str | None] = []
    runner = make_runner(client_factory=lambda backend: _SeenStatuses(CometClient(backend), seen))
    job = wait_state(runner, run_one(runner, server, "gen4_turbo"), ENDED, timeout=20)
    assert job.state == JobState.DOWNLOADED, job.error_message
    assert seen.count("THROTTLED") >= 2, f"Runway's answers: {seen}"
    assert seen[-1] == "SUCCEEDED"
    assert len(submits(server)) == 1


@pytest.mark.parametrize("model, shapes", [("gen4_turbo", {"runway": "bare"}), ("gen4_turbo", {"runway": "wrapped"}),
                                           ("sora-2", {}), ("veo3.1-fast", {})])
def test_p4_a_cancelled_task_ends_canceled_keeps_its_id_and_is_never_resubmitted(make_sandbox, make_runner,
                                                                                  model, shapes) -> None:
    server = make_sandbox(shapes=shapes, render_times={"*": (30, 40)})
    server.faults.add(route="submit", kind="cancelled", count=1, after_s=12)
    runner = make_runner(rescan_interval_s=0.05)
    job_id = run_one(runner, server, model)
    job = wait_state(runner, job_id, ENDED, timeout=20)
    assert job.state == JobState.CANCELED, f"{job.state}: {job.error_message}"
    (submit,) = submits(server)
    assert job.task_id and job.task_id == submit["task_id"]
    # A second job through the same runner, past several rescans: the canceled one is left alone meanwhile.
    other = wait_state(runner, run_one(runner, server, model), ENDED, timeout=20)
    assert other.state == JobState.DOWNLOADED, other.error_message
    assert len(submits(server)) == 2
    assert runner.ledger.get(job_id).state == JobState.CANCELED
    assert not [r for r in downloads(server) if r["task_id"] == job.task_id]
