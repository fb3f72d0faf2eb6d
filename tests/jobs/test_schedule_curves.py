"""The poll schedule on progress that is not a straight line, and on families without progress (issue 16 item 9).

Renders are walked on the schedule model's simulated clock (bench/schedule_model.py: the sandbox's lifecycle,
queued for the first 20 %, then whole-percent progress on a sandbox/curves.py curve); no test here waits.
The yardstick is the tutorial's loop: a status GET every 10 s. "Never worse than the loop it replaces" means
no more GETs per task and a finish seen no later, at the 95th percentile.
"""

from __future__ import annotations

import math
import random
import statistics

import pytest

from bench.schedule_model import Take, runner_take, tutorial_take
from jobs.schedule import PollPolicy, PollSchedule, RenderTime, learn_render_time

ROUND_TRIP_S = 0.2
LOOP_S = 10.0  # the tutorial's interval for Veo, Sora and Kling


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * len(ordered))]


def walk(family: str, curve: str, prior: RenderTime, renders: list[float]) -> tuple[list[Take], list[Take]]:
    """(tutorial, runner) takes of the same renders; each runner take its own jitter and its own step curve."""
    policy = PollPolicy.for_family(family)
    runner = [runner_take(family, r, prior, policy, random.Random(i), ROUND_TRIP_S, curve=curve, seed=str(i))
              for i, r in enumerate(renders)]
    return [tutorial_take(family, r, ROUND_TRIP_S) for r in renders], runner


def uniform_renders(lo: float, hi: float, n: int = 300, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(lo, hi) for _ in range(n)]


VEO_PRIOR = RenderTime(p50_s=120, p90_s=360)  # veo3.1's catalog prior: wide, as a cold start has it


@pytest.mark.parametrize("curve", ["steps", "stall"])
def test_progress_that_jumps_or_stalls_is_seen_finishing_no_later_than_a_fixed_loop_would(curve):
    """A plateau (a step curve between its jumps; a stall at 40 % until 95 % of the render) says nothing about
    when the render ends: a straight line through it predicts minutes too late, and a schedule that sleeps
    towards that prediction (up to 45 s at a time) saw these finishes 30-45 s late."""
    tutorial, runner = walk("veo", curve, VEO_PRIOR, uniform_renders(30, 210))
    assert p95([t.detect_s for t in runner]) <= p95([t.detect_s for t in tutorial])
    assert statistics.mean(t.polls for t in runner) <= statistics.mean(t.polls for t in tutorial)


def test_progress_that_starts_slow_is_seen_finishing_sooner_than_a_fixed_loop_at_half_its_cost():
    tutorial, runner = walk("veo", "ease-in", VEO_PRIOR, uniform_renders(30, 210))
    assert p95([t.detect_s for t in runner]) <= p95([t.detect_s for t in tutorial])
    assert statistics.mean(t.polls for t in runner) <= 0.6 * statistics.mean(t.polls for t in tutorial)


def lognormal_renders(p50: float, p90: float, n: int = 300, seed: int = 3) -> list[float]:
    """As the sandbox draws `--renders lognormal`: through p50 and p90, clipped at the 1st and 99th percentile."""
    rng = random.Random(seed)
    sigma = math.log(p90 / p50) / 1.2816
    return [p50 * math.exp(sigma * min(2.326, max(-2.326, rng.gauss(0.0, 1.0)))) for _ in range(n)]


def test_progress_that_eases_out_is_not_polled_in_a_string_of_misses():
    """p = 1 - (1 - f)^2 slows towards 100 %: every pace predicts the finish early, and the waits after each miss
    (2-4 s) added up to ~0.94x the loop's GETs."""
    tutorial, runner = walk("veo", "ease-out", VEO_PRIOR, uniform_renders(30, 210))
    assert statistics.mean(t.polls for t in runner) <= 0.8 * statistics.mean(t.polls for t in tutorial)
    assert p95([t.detect_s for t in runner]) <= 0.6 * p95([t.detect_s for t in tutorial])


def test_the_finish_of_progress_that_eases_out_is_extrapolated_on_the_root_of_what_is_left():
    s = make()
    s.observe(5.0, None, running=False)
    for t, pct in ((30.0, 36.0), (50.0, 64.0), (70.0, 84.0), (90.0, 96.0)):  # began at 10 s, ends at 110 s
        s.observe(t, pct, running=True)
    assert s.expected_finish_s() == pytest.approx(110.0, abs=1.0)  # a pace would say ~93 s


def test_a_family_without_progress_on_the_catalogs_guess_polls_no_more_than_a_fixed_loop_and_sees_finishes_as_soon():
    """Kling reports no progress. Cold (an empty ledger), the prior is as wide as the renders: the dense phase
    (9.7 s) costs what the loop costs, and only the sleep to the 2nd percentile saves. (A 5.8 s dense phase from
    the 18th percentile cost ~1.15-1.35x the loop's GETs, and renders ending before it were seen up to 45 s late.)"""
    prior = RenderTime(p50_s=180, p90_s=600)  # kling-v1-6's catalog prior
    tutorial, runner = walk("kling", "none", prior, lognormal_renders(180, 600))
    assert statistics.mean(t.polls for t in runner) <= 1.01 * statistics.mean(t.polls for t in tutorial)
    assert p95([t.detect_s for t in runner]) <= LOOP_S + ROUND_TRIP_S


def test_a_family_without_progress_with_learned_render_times_polls_where_they_end_and_sees_most_within_5_s():
    """Warm (50 renders in the ledger, spread evenly over 45-315 s as the bench draws them), the gaps follow the
    hazard of the learned times (`late_weight`): down to 5 s where renders end at the highest rate. Four in five
    finishes are seen within 5 s, for about a fifth more GETs than the loop: the price of seeing Kling sooner,
    paid for in a mixed batch by the progress families' savings (bench/README.md, the schedule model's matrix)."""
    renders = uniform_renders(45, 315)
    history = random.Random(11)
    prior = learn_render_time([history.uniform(45, 315) for _ in range(50)], RenderTime(p50_s=180, p90_s=600))
    tutorial, runner = walk("kling", "none", prior, renders)
    assert statistics.mean(t.polls for t in runner) <= 1.3 * statistics.mean(t.polls for t in tutorial)
    detect = sorted(t.detect_s for t in runner)
    assert detect[int(0.8 * len(detect))] <= 5.0 + ROUND_TRIP_S
    assert p95(detect) <= 0.8 * p95([t.detect_s for t in tutorial])


def test_learned_render_times_give_their_own_quantiles_not_a_log_normal_guess():
    """50 renders spread evenly over 45-315 s: 2 % of them end by ~50 s. A log-normal through their p50 and p90
    put the early renders' quantile at ~130 s, and a no-progress schedule slept past a third of them."""
    learned = learn_render_time([45 + 270 * i / 49 for i in range(50)], RenderTime(180, 600))
    assert learned.quantile(0.02) == pytest.approx(45 + 270 * 0.02, abs=3)
    assert learned.quantile(0.5) == pytest.approx(180, abs=3)
    prior = RenderTime(180, 600)
    assert prior.quantile(0.5) == pytest.approx(180)
    assert prior.quantile(0.9) == pytest.approx(600, rel=1e-3)
    assert prior.quantile(0.03) < prior.quantile(0.1) < 180


def test_a_few_learned_renders_do_not_narrow_the_window_past_what_they_can_show():
    """Five renders are learned (the ledger's minimum): below the fastest of them lies ~1/6 of all renders.
    Sleeping to the fastest one seen put Kling's p95 at 37 s on one such history; the prior's wider tail holds
    until there are enough renders to see the 2nd percentile."""
    prior = RenderTime(p50_s=180, p90_s=600)
    few = learn_render_time([167, 200, 240, 280, 300], prior)
    assert few.quantile(0.02) == pytest.approx(prior.quantile(0.02))
    assert few.quantile(0.97) == pytest.approx(prior.quantile(0.97))
    assert few.quantile(0.5) == pytest.approx(240)
    tutorial, runner = walk("kling", "none", few, uniform_renders(45, 315))
    assert p95([t.detect_s for t in runner]) <= LOOP_S + ROUND_TRIP_S
    assert statistics.mean(t.polls for t in runner) <= 1.01 * statistics.mean(t.polls for t in tutorial)


def make(family: str = "veo") -> PollSchedule:
    return PollSchedule(PollPolicy.for_family(family), VEO_PRIOR, rng=random.Random(5))


def test_progress_at_100_while_still_running_is_polled_densely_until_the_finish():
    s = make()
    s.observe(10.0, None, running=False)
    s.observe(30.0, 30.0, running=True)
    s.observe(50.0, 40.0, running=True)  # a line through these ends at ~125 s
    s.observe(70.0, 100.0, running=True)  # the last jump: the render is finishing now
    waits = [s.next_delay(e) for e in (70.0, 73.0, 77.0, 82.0, 88.0, 94.0)]
    cap = s.policy.finishing_cap_s * s.policy.jitter_hi
    assert all(s.policy.min_interval_s <= w <= cap for w in waits)
    assert waits[0] <= s.policy.finishing_s * s.policy.jitter_hi
    assert s.urgent


def test_progress_that_stops_moving_caps_the_wait_until_it_moves_again():
    s = make()
    s.observe(10.0, None, running=False)
    s.observe(20.0, 10.0, running=True)
    s.observe(30.0, 20.0, running=True)  # 1 %/s: done at ~110 s, a long sleep away
    free = s.next_delay(30.0)
    assert free > s.policy.stuck_cap_s * s.policy.jitter_hi
    s.observe(60.0, 20.0, running=True)  # no move in 30 s
    assert s.next_delay(60.0) <= s.policy.stuck_cap_s
    s.observe(68.0, 58.0, running=True)  # moving again, at its old pace since the start
    assert s.next_delay(68.0) > s.policy.stuck_cap_s


def test_a_step_far_slower_than_the_pace_before_it_counts_as_a_plateau():
    s = make()
    s.observe(10.0, None, running=False)
    s.observe(20.0, 30.0, running=True)  # 3 %/s since the start
    s.observe(40.0, 32.0, running=True)  # 0.1 %/s: a plateau began, whatever a line through both says
    assert s.next_delay(40.0) <= s.policy.stuck_cap_s


def test_running_at_0_percent_is_not_taken_for_the_queue():
    """Still queued, the wait may grow with the time waited (the render has not begun); running at 0 % it
    may be a step curve before its first jump, a short render that could end within the next 45 s."""
    s = make()
    s.observe(10.0, None, running=False)
    s.observe(30.0, 0.0, running=True)
    assert s.next_delay(30.0) <= s.policy.stuck_cap_s


def test_progress_that_sat_at_0_and_then_jumped_is_not_slept_on_towards_a_line_through_the_jump():
    """A step curve: 0 % for two answers, then 29 %. One sample says the render could take minutes; the next
    look must still come within `plateau_cap_s` (it came 38 s later, 20 s after the finish, on the bench)."""
    s = make("sora")
    s.observe(10.3, None, running=False)
    s.observe(33.3, 0.0, running=True)
    s.observe(40.3, 0.0, running=True)
    s.observe(48.2, 29.0, running=True)
    assert s.next_delay(48.2) <= s.policy.plateau_cap_s
    linear = make("sora")  # the same answers without the plateau: a line may be slept on further
    linear.observe(10.3, None, running=False)
    linear.observe(48.2, 29.0, running=True)
    assert linear.next_delay(48.2) > s.policy.plateau_cap_s

