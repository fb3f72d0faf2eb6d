"""The poll schedule, driven by an injected clock and random source: no test here waits for real time."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings, strategies as st

from jobs.progress_shape import speeding_finish
from jobs.schedule import (
    PollPolicy,
    PollSchedule,
    RenderTime,
    learn_render_time,
    submit_retry_delay,
)


def make(family: str, p50: float = 120, p90: float = 300, *, scale: float = 1.0, seed: int = 1,
         deadline: float = 1200) -> PollSchedule:
    return PollSchedule(PollPolicy.for_family(family, deadline_s=deadline), RenderTime(p50, p90), time_scale=scale,
                        rng=random.Random(seed))


def simulate(schedule: PollSchedule, finish_s: float, *, progress: bool, queue_s: float = 0.0) -> tuple[int, float]:
    """Walk a job on a fake clock. Returns (status requests, seconds between finish and detection)."""
    t = schedule.first_delay() / schedule.time_scale
    polls = 0
    while True:
        polls += 1
        if t >= finish_s:
            return polls, t - finish_s
        running = t >= queue_s
        pct = int(100 * (t - queue_s) / (finish_s - queue_s)) if (progress and running) else None
        schedule.observe(t, pct, running=running if progress else None)
        t += schedule.next_delay(t) / schedule.time_scale
        assert polls < 500


@pytest.mark.parametrize("family, expected", [("kling", 5.0), ("runway", 5.0), ("veo", 10.0), ("sora", 10.0)])
def test_first_poll_comes_soon_to_catch_instant_rejections(family, expected):
    delays = [make(family, seed=s).first_delay() for s in range(50)]
    assert all(0.8 * expected <= d <= 1.2 * expected for d in delays)
    assert max(delays) - min(delays) > 0.1 * expected  # jittered, not lockstep


def test_sandbox_time_scale_shrinks_every_delay():
    live, fast = make("veo", seed=3), make("veo", scale=0.01, seed=3)
    assert fast.first_delay() == pytest.approx(live.first_delay() * 0.01)
    assert fast.next_delay(50) == pytest.approx(live.next_delay(50) * 0.01)


def test_without_progress_sparse_before_the_expected_window_dense_inside_it():
    s = make("kling", p50=300, p90=600)  # the window opens at ~100 s (the 2nd percentile)
    early = s.next_delay(10)
    assert early >= 0.8 * min(60, s.policy.far_cap_s)  # far from the window: one long sleep (capped), not a 5 s drip
    assert not s.urgent
    near = [s.next_delay(120 + 6 * i) for i in range(20)]
    dense = s.policy.dense_interval_s
    assert all(0.8 * dense - 1e-9 <= d <= 1.2 * dense + 1e-9 for d in near)  # a finish is seen within seconds
    assert s.urgent


def test_without_progress_past_the_90th_percentile_the_interval_grows_to_15_s():
    s = make("kling", p50=60, p90=90)
    delays = [s.next_delay(100 + 15 * i) for i in range(20)]
    assert delays[-1] > delays[0]
    assert max(delays) <= 15 * 1.2 + 1e-9


def test_while_queued_the_wait_grows_with_the_time_already_spent_waiting():
    s = make("veo")
    waits = []
    for t in (5, 10, 20):
        s.observe(t, 0, running=False)
        waits.append(s.next_delay(t))
    assert waits[0] < waits[1] < waits[2] <= s.policy.far_cap_s * 1.2
    assert not s.urgent


def test_one_running_sample_is_followed_soon_enough_to_catch_a_fast_render():
    s = make("runway")
    s.observe(5, 0, running=False)
    s.observe(10, 6)  # began somewhere after t=5; could be a 90 s render or a 20 s one
    assert s.next_delay(10) <= 5 * 1.2  # no longer than the span that produced those 6 %


def test_progress_slope_lands_the_poll_on_the_predicted_finish():
    s = make("veo", p50=120, p90=360)
    s.observe(20, 10)
    s.observe(60, 50)  # 1 %/s: done at t=110
    first = s.next_delay(60)
    assert first <= 0.5 * 50  # a straight line may be wrong (progress speeds up): no sleep jumps to its end
    t, polls = 60 + first, 1
    while t < 110:
        s.observe(t, t - 10)  # the line holds
        t += s.next_delay(t)
        polls += 1
    assert 110 <= t <= 110 * 1.02 and polls <= 4  # then the poll lands just after the finish, never before it
    assert s.urgent
    far = make("veo")
    far.observe(10, 1)
    far.observe(20, 2)  # done at t=1000: still checked every 45 s, failures show up
    assert far.next_delay(20) <= 45


def test_progress_that_speeds_up_is_seen_finishing_long_before_the_straight_line_says():
    s = make("veo", p50=120, p90=360)
    s.observe(20, 5)
    s.observe(60, 25)  # 0.5 %/s so far: the line says t=210, but ease-in progress ends at t=110
    assert 60 + s.next_delay(60) <= 60 + 0.5 * 150  # looks again well before the line's finish


def test_a_far_prediction_from_coarse_progress_is_firmed_up_before_landing():
    s = make("veo", p50=90, p90=360)
    s.observe(30, 2)
    s.observe(50, 20)  # 0.9 %/s from whole percents over 20 s: the finish (~139 s) could be off by seconds
    first = s.next_delay(50)
    assert 50 + first < 139 - 5  # a sample well before the finish, not a landing that may be late
    assert not s.urgent
    s.observe(125, 88)  # now 85 points of progress: the finish is known to about a second
    landing = s.next_delay(125)
    assert 125 + landing == pytest.approx(139.6, abs=1.5)
    assert s.urgent


def test_backwards_or_stuck_progress_is_not_taken_as_speed():
    s = make("veo")
    s.observe(20, 40)
    s.observe(30, 20)  # went backwards (P5)
    s.observe(40, 40)  # stuck
    assert s.expected_finish_s() is None


@pytest.mark.parametrize("hint", [30.0, 59.0, 600.0])
def test_server_hint_is_a_floor_on_the_wait(hint):
    s = make("veo", p50=60, p90=90)
    assert s.next_delay(70, hint_s=hint) >= hint


def test_huge_hint_pauses_but_is_bounded():
    s = make("veo")
    assert s.next_delay(70, hint_s=1e9) == pytest.approx(s.policy.hint_max_s)


@pytest.mark.parametrize("hint", [float("nan"), float("inf"), -5.0, 0.0])
def test_garbage_hints_are_ignored(hint):
    a, b = make("veo", seed=9), make("veo", seed=9)
    assert a.next_delay(70, hint_s=hint) == b.next_delay(70)


def test_runway_never_polled_faster_than_every_5_s():
    s = make("runway", p50=10, p90=20)
    s.observe(5, 10)
    s.observe(6, 90)  # predicts a finish in ~0.1 s
    assert all(s.next_delay(7 + i) >= 5.0 for i in range(10))
    assert make("runway").next_delay(50, hint_s=1.0) >= 5.0


def test_deadline_marks_the_job_stale():
    s = make("kling", deadline=1200)
    assert not s.past_deadline(1199)
    assert s.past_deadline(1200)


def test_learned_render_times_replace_the_prior_once_there_are_enough():
    prior = RenderTime(120, 360)
    assert learn_render_time([50, 60, 70], prior) is prior
    learned = learn_render_time([50, 60, 70, 80, 90, 100, 110, 120, 130, 140], prior)
    assert learned.source == "history" and learned.samples == 10
    assert learned.p50_s == pytest.approx(95) and learned.p90_s == 130
    assert learned.window == (50, 130)  # p10 to p90 of what was seen


def test_with_progress_a_3_min_job_costs_few_polls_and_is_seen_within_seconds():
    polls, lag = simulate(make("sora", p50=120, p90=360, seed=4), 180, progress=True, queue_s=30)
    fixed_polls = math.ceil(180 / 10)
    assert polls <= 0.5 * fixed_polls
    assert lag <= 4.0


def test_without_progress_a_3_min_job_is_seen_faster_than_a_fixed_10_s_loop_at_a_similar_cost():
    s = make("kling", p50=180, p90=600, seed=5)
    polls, lag = simulate(s, 180, progress=False)
    assert polls <= 1.5 * math.ceil(180 / 10)
    assert lag <= 1.2 * s.policy.dense_interval_s


@settings(max_examples=200, deadline=None)
@given(family=st.sampled_from(["veo", "sora", "kling", "runway"]), elapsed=st.floats(0, 5000),
       hint=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
       p50=st.floats(1, 1000), spread=st.floats(1, 5), seed=st.integers(0, 2**32),
       scale=st.sampled_from([1.0, 0.01]))
def test_every_delay_is_finite_positive_and_bounded(family, elapsed, hint, p50, spread, seed, scale):
    s = make(family, p50=p50, p90=p50 * spread, scale=scale, seed=seed)
    d = s.next_delay(elapsed, hint_s=hint)
    assert math.isfinite(d)
    assert d >= s.policy.min_interval_s * scale - 1e-9
    assert d <= max(s.policy.hint_max_s, s.policy.far_cap_s * 1.2) * scale + 1e-9


def test_refused_submit_waits_for_the_server_hint_or_backs_off():
    rng = random.Random(2)
    assert submit_retry_delay(0, 7.0) == 7.0
    assert submit_retry_delay(0, 7.0, time_scale=0.01) == pytest.approx(0.07)
    backoffs = [submit_retry_delay(n, None, rng=rng) for n in range(12)]
    assert all(1.0 <= b <= 60.0 for b in backoffs)
    assert backoffs[-1] > backoffs[0]


@pytest.mark.parametrize("seed", range(40))
def test_a_failure_is_seen_within_the_far_cap_whatever_the_jitter(seed):
    cap = PollPolicy.for_family("veo").far_cap_s
    queued = make("veo", seed=seed)
    queued.observe(300, 0, running=False)
    assert queued.next_delay(300) <= cap
    far = make("veo", seed=seed)
    far.observe(10, 1)
    far.observe(20, 2)  # done at ~1000 s
    assert far.next_delay(20) <= cap
    kling = make("kling", p50=900, p90=1800, seed=seed)  # its window starts far away
    assert kling.next_delay(5) <= cap


# --- progress that is not a straight line (issue 16 item 9) ---------------------------------------------------


def test_a_doubtful_prediction_is_resampled_within_a_fraction_of_the_remaining_time():
    """Coarse progress over a short stretch, extrapolated far: the next look must not jump to the finish."""
    s = make("veo", 90, 360)
    s.observe(8.7, None, running=False)
    s.observe(28.8, 4.0, running=True)
    s.observe(49.1, 10.0, running=True)  # slower than its start: not a curve that speeds up
    eta = s.expected_finish_s()
    assert eta is not None and eta > 150
    delay = s.next_delay(49.1)
    assert delay <= s.policy.refine_fraction * (eta - 49.1) + 1e-9


def test_progress_that_speeds_up_from_its_start_is_read_on_its_root():
    """Ease-in (p = f^2) from a start between the last queued answer and the first running one: a straight line
    through the samples predicts the finish ~60 s late (150 s+); the root of the progress rises in a line from the
    start, and that line ends where the render does (~99 s here). A jump after a plateau does not fit it."""
    s = make("veo", 90, 360)
    s.observe(8.7, None, running=False)
    s.observe(28.8, 1.0, running=True)
    s.observe(49.1, 13.0, running=True)
    assert s.expected_finish_s() == pytest.approx(99.0, abs=2.0)
    jump = make("veo", 90, 360)
    jump.observe(8.7, None, running=False)
    jump.observe(30.0, 10.0, running=True)
    jump.observe(50.0, 12.0, running=True)
    jump.observe(60.0, 40.0, running=True)  # a step after a near-plateau: no root line through all three
    assert speeding_finish(jump._samples, jump._not_started_s, jump.policy) is None  # noqa: SLF001 - its samples


def test_the_prediction_follows_progress_that_speeds_up():
    s = make("veo", 90, 360)
    s.observe(20.0, 10.0, running=True)
    s.observe(40.0, 20.0, running=True)
    s.observe(50.0, 40.0, running=True)  # twice as fast over the last step
    assert s.expected_finish_s() == pytest.approx(50.0 + 60.0 / 2.0)


def test_a_missed_finish_widens_the_waits_up_to_a_cap_without_a_loop_at_the_floor():
    s = make("veo", 90, 360)
    s.observe(20.0, 20.0, running=True)
    s.observe(40.0, 60.0, running=True)  # predicts a finish at 60 s
    waits = [s.next_delay(e) for e in (61.0, 64.0, 68.0, 73.0, 80.0, 90.0)]
    assert waits[0] < waits[1] < waits[2]  # widening, from the floor...
    assert all(w >= s.policy.miss_cap_s for w in waits[2:])  # ...to the cap, and held there
    assert all(s.policy.min_interval_s <= w <= s.policy.miss_cap_s * s.policy.jitter_hi for w in waits)


def test_a_progress_family_that_renders_without_progress_is_polled_from_the_render_times():
    """No progress field while running (curve `none`): not the queued back-off, which grows to two minutes."""
    s = make("veo", 90, 360)
    s.observe(10.0, None, running=False)
    s.observe(60.0, None, running=True)
    delays = [s.next_delay(e) for e in (60.0, 66.0, 72.0, 78.0)]
    assert all(d <= s.policy.silent_interval_s * (1 + s.policy.dense_jitter) + 1e-9 for d in delays)
