"""The engine records what a render's progress showed and learns the model's curve from it (issue 16 item 9):
each new progress value is an event (`progress N`) written with the poll that saw it, and the finished renders'
events are the curve the next takes of the model are polled with. Real HTTP against the sandbox on loopback."""

from __future__ import annotations

import time

import pytest
from jobs_helpers import backend_for, no_options, recipe_for, wait_state

from jobs.curve import CURVE_MIN_RENDERS, parse_progress_detail
from jobs.engine.poll import start_polling
from jobs.engine.track import Track
from jobs.ledger import JobState

MODEL = "sora-2"


def test_each_new_progress_value_is_stored_and_finished_renders_teach_the_next_take_the_curve(
        make_sandbox, make_runner, small_clip):
    # 48-72 provider s running, 2.4-3.6 real s at this scale: polls see progress even on a loaded machine (at the
    # suite's 0.01 it was under a real second, and a stalled scheduler saw only the queue and the finish).
    server = make_sandbox(render_times={"*": (60, 90)}, prerendered_clip=small_clip, progress_curves={"*": "ease-in"},
                          time_scale=0.05)
    runner = make_runner()
    backend = backend_for(server)
    started = time.monotonic()
    ids = [job_id for _ in range(CURVE_MIN_RENDERS)
           for job_id in runner.submit_run(recipe_for(MODEL), [(MODEL, no_options())], backend)]
    for job_id in ids:
        job = wait_state(runner, job_id, {JobState.DOWNLOADED, JobState.FAILED}, timeout=20)
        assert job.state == JobState.DOWNLOADED, (job.error_kind, job.error_message)
        shown = [p for e in runner.ledger.events(job_id) if (p := parse_progress_detail(e["detail"])) is not None]
        assert shown and shown == sorted(set(shown)), shown  # each value once, when first seen, rising

    # Provider seconds, the sandbox's time scale undone (in real seconds these renders last a few): at most the
    # wall time the test waited, scaled, and well over a real second. Not tighter either way: the render's clock
    # here starts when the POST's answer arrives and stops when a poll sees the finish, so on a loaded machine it
    # reads shorter (a slow answer: CI saw 56 s of a 60 s render) or longer (a late poll: 104 s of 90) than drawn.
    waited_provider_s = (time.monotonic() - started) / server.config.time_scale
    renders = runner.ledger.progress_samples(MODEL)
    assert len(renders) == CURVE_MIN_RENDERS
    for render_s, samples in renders:
        assert 60 * 0.25 <= render_s <= waited_provider_s
        assert all(0 < at <= render_s for at, _ in samples)

    runner._ctx.learned_ttl_s = 0.0  # noqa: SLF001 - the engine's own seam: read the ledger now, not in 30 s
    curve = runner._ctx.progress_curve(MODEL)  # noqa: SLF001
    assert curve is not None and len(curve.renders) == CURVE_MIN_RENDERS
    # The next take of the model is polled with it (a take's poll plan is built when its first poll is due).
    job = runner.ledger.get(ids[-1])
    track = Track(job.id, time_scale=job.time_scale or 1.0)
    start_polling(runner._ctx, job, track)  # noqa: SLF001
    assert track.schedule is not None and track.schedule.curve == curve
    # A Kling take reports no progress: no curve for it.
    assert runner._ctx.progress_curve("kling-v1-6") is None  # noqa: SLF001


@pytest.mark.parametrize("curve", ["none"])
def test_a_render_without_progress_writes_no_samples(make_sandbox, make_runner, small_clip, curve):
    server = make_sandbox(render_times={"*": (30, 40)}, prerendered_clip=small_clip, progress_curves={"*": curve})
    runner = make_runner()
    (job_id,) = runner.submit_run(recipe_for(MODEL), [(MODEL, no_options())], backend_for(server))
    assert wait_state(runner, job_id, {JobState.DOWNLOADED, JobState.FAILED}, timeout=20).state == JobState.DOWNLOADED
    assert not [e for e in runner.ledger.events(job_id) if parse_progress_detail(e["detail"]) is not None]
    assert runner.ledger.progress_samples(MODEL) == []
