"""A model's progress curve learned from the progress its finished renders showed (jobs/curve.py), and the poll
schedule that uses it (issue 16 item 9: "it learns each model's ... curve, stored as samples in the events").

Renders are walked on the schedule model's simulated clock (bench/schedule_model.py: queued for the first 20 %,
then whole-percent progress on a sandbox/curves.py curve). The past renders are polled by the schedule without a
curve, and their samples are what the engine logs: each progress value when first seen. No test here waits.
"""

from __future__ import annotations

import random
import statistics

import pytest

from bench.schedule_model import QUEUE_FRACTION, history_curves, runner_take
from jobs.curve import (
    ProgressCurve,
    Sighting,
    learn_curve,
    parse_progress_detail,
    progress_detail,
    render_curve,
)
from jobs.schedule import PollPolicy, PollSchedule, RenderTime, learn_render_time
from sandbox.curves import progress as curve_progress

ROUND_TRIP_S = 0.2
VEO = PollPolicy.for_family("veo")
VEO_PRIOR = RenderTime(p50_s=120, p90_s=360)


def renders(n: int, seed: int, lo: float = 30, hi: float = 210) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(lo, hi) for _ in range(n)]


def learned(curve: str, n: int = 50) -> ProgressCurve:
    found = learn_curve(history_curves("veo", renders(n, 11), VEO_PRIOR, VEO, ROUND_TRIP_S, curve, "past"))
    assert found is not None
    return found


def shown(curve: str, render_s: float, at_s: float, seed: str = "") -> float:
    """Whole-percent progress a running render shows at `at_s` (the sandbox's lifecycle)."""
    start = QUEUE_FRACTION * render_s
    return float(int(100 * (curve_progress(curve, (at_s - start) / (render_s - start), seed) or 0.0)))


def test_progress_samples_are_written_and_read_back_as_event_details():
    assert parse_progress_detail(progress_detail(42)) == 42
    assert parse_progress_detail("task id 42") is None
    assert parse_progress_detail("progress lots") is None
    assert parse_progress_detail("progress 140") is None
    assert parse_progress_detail(None) is None


def test_a_render_curve_keeps_each_value_first_seen_and_ends_at_the_finish():
    curve = render_curve(100.0, [(30.0, 10), (40.0, 10), (20.0, 5), (50.0, 40), (45.0, 60), (150.0, 90)])
    assert curve is not None
    # 10 first seen at 30 s (not 40), 60 "before" 40 dropped (out of order), 90 after the render ended dropped.
    assert curve.points == ((5.0, 0.2), (10.0, 0.3), (40.0, 0.5), (100.0, 1.0))
    assert render_curve(100.0, []) is None  # a render that showed no progress says nothing about the curve
    assert render_curve(0.0, [(1.0, 5)]) is None


def test_fewer_than_five_past_renders_teach_no_curve():
    history = history_curves("veo", renders(4, 3), VEO_PRIOR, VEO, ROUND_TRIP_S, "linear", "few")
    assert learn_curve(history) is None
    assert learn_curve(history + history[:1]) is not None


@pytest.mark.parametrize("curve", ["linear", "ease-in", "ease-out"])
def test_one_sample_of_a_learned_curve_puts_the_finish_within_seconds(curve):
    """A straight line through one sample of ease-in progress predicts the finish minutes late; past renders that
    eased in the same way put it within a few seconds (the landing poll's margin past the window's end included)."""
    model = learned(curve)
    margin = VEO.landing_margin_s
    for render_s in (45.0, 120.0, 200.0):
        at = 0.63 * render_s  # a poll some way into a value, as most are
        window = model.finish_window(at, shown(curve, render_s, at))
        assert window is not None
        lo, hi = window
        assert lo - margin <= render_s <= hi + margin
        assert hi - lo <= 0.1 * render_s + 1.0


def test_a_value_held_for_a_while_bounds_the_finish_only_by_what_past_renders_prove():
    """A stall holds 40 % from 52 % to 96 % of the render: when a poll first saw 40 % says little about the finish.
    First seen late in that plateau (later than any past render happened to be), the window still holds the finish,
    and the value seen before the plateau narrows it again."""
    model = learned("stall")
    render_s = 100.0
    late = 0.95 * render_s
    window = model.finish_window(late, 40.0)
    assert window is not None and window[0] <= render_s <= window[1]
    before = Sighting(shown("stall", render_s, 35.0), 35.0, 35.0)
    both = model.window([before, Sighting(40.0, late, late)])
    assert both is not None and both[0] <= render_s <= both[1] and both[1] - both[0] < window[1] - window[0]


def walk(curve: str, model: ProgressCurve | None, render_times: list[float]) -> tuple[float, float]:
    takes = [runner_take("veo", r, VEO_PRIOR, VEO, random.Random(i), ROUND_TRIP_S, curve=curve, seed=f"new{i}",
                         learned=model) for i, r in enumerate(render_times)]
    detect = sorted(t.detect_s for t in takes)
    return statistics.mean(t.polls for t in takes), detect[int(0.95 * len(detect))]


@pytest.mark.parametrize("curve", ["stall", "ease-out"])
def test_a_learned_curve_sees_finishes_sooner_with_fewer_polls_than_the_rules_alone(curve):
    new = renders(200, 5)
    polls_cold, p95_cold = walk(curve, None, new)
    polls_warm, p95_warm = walk(curve, learned(curve), new)
    assert polls_warm < polls_cold
    assert p95_warm <= p95_cold


def test_on_ease_in_a_learned_curve_saves_polls_and_stays_within_its_window_bound():
    """The rules alone now read ease-in progress on its root (p95 ~2 s for ~6.6 polls); the learned curve lands on
    its windows instead: ~1.5 fewer polls per render for a p95 under the 5 s a window allows, 3.6 s because a
    narrow window is first looked at where the render's own prediction says (4.1 s landing at its end)."""
    new = renders(200, 5)
    polls_cold, _ = walk("ease-in", None, new)
    polls_warm, p95_warm = walk("ease-in", learned("ease-in"), new)
    assert polls_warm <= polls_cold - 1.0
    assert p95_warm < 4.0 < VEO.window_dense_s


@pytest.mark.parametrize("curve", ["linear", "ease-in", "ease-out"])
def test_inside_a_learned_window_of_moving_progress_no_finish_is_seen_more_than_5_s_late(curve):
    """Where the curve puts the finish in a window too wide to land on, a render whose progress keeps moving is
    polled every `window_dense_s` inside it: the finish can come at any of those polls. (Without that, an ease-in
    render that ended early in its window was seen 9 s late: the rules' wait ran past it.)"""
    takes = [runner_take("veo", r, VEO_PRIOR, VEO, random.Random(i), ROUND_TRIP_S, curve=curve, seed=f"new{i}",
                         learned=learned(curve)) for i, r in enumerate(renders(200, 5))]
    assert max(t.detect_s for t in takes) <= VEO.window_dense_s + ROUND_TRIP_S


def test_a_render_unlike_its_past_ones_is_seen_late_by_at_most_twice_the_loop_and_without_a_loop_at_the_floor():
    """Past renders eased out (fast first, slow last); this one is linear, so it ends well before the windows they
    predict. Until two of its values agree with the curve, its own pace bounds every wait; values that disagree
    drop the curve for it. What is left: two values that happen to agree, and a finish seen up to ~20 s late
    (without those guards: 27 s at the 95th percentile)."""
    model = learned("ease-out")
    polls, p95 = walk("linear", model, renders(100, 8))
    polls_cold, _ = walk("linear", None, renders(100, 8))
    assert p95 <= 20.0
    assert polls <= 1.5 * polls_cold


def test_without_progress_learned_render_times_put_dense_polls_where_renders_end():
    """With the render times learned, a family without progress polls densest where renders end at the highest
    rate (the hazard), from `window_dense_s` up to its dense interval in the tail."""
    policy = PollPolicy.for_family("kling")
    shaped = PollPolicy(**{**policy.__dict__, "late_weight": 10.0})
    history = learn_render_time(renders(50, 4, lo=60, hi=420), RenderTime(p50_s=240, p90_s=720))
    prior_only = PollSchedule(shaped, RenderTime(p50_s=240, p90_s=720), rng=random.Random(1))
    schedule = PollSchedule(shaped, history, rng=random.Random(1))
    for s in (prior_only, schedule):
        s.observe(5.0, None, running=False)
    gaps = {t: schedule.next_delay(t) for t in (100.0, 250.0, 380.0)}
    assert gaps[380.0] < gaps[250.0] < gaps[100.0] <= policy.dense_interval_s * 1.05
    assert min(gaps.values()) >= shaped.window_dense_s * 0.95
    # On the catalog's guess alone (no history) the dense interval stays the fixed loop's.
    assert prior_only.next_delay(250.0) == pytest.approx(policy.dense_interval_s, rel=0.06)
