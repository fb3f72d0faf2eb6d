"""The no-progress lower bound (bench/poll_bound.py) is a bound: no plan that meets its late share spends less,
the fixed loop included, and the plan it finds meets the share it claims."""

from __future__ import annotations

import random

import numpy as np

from bench.poll_bound import ROUND_TRIP_S, bounds, outcome, plan, tutorial_requests


def test_the_bound_is_below_every_plan_that_meets_the_share_and_the_plan_found_meets_it() -> None:
    rng = random.Random(3)
    renders = np.array([rng.uniform(45, 315) for _ in range(400)])
    loop = np.arange(1, 60) * (10.0 + ROUND_TRIP_S)  # the tutorial's 10 s loop as a plan (answer times)
    loop_requests, loop_late = outcome(loop, renders, 5.7)
    assert loop_requests == tutorial_requests(renders)
    lower, found = bounds(renders, 5.7, loop_late)
    assert lower <= found <= loop_requests + 1e-9  # the loop meets its own late share: nothing optimal costs more
    requests, late = outcome(plan(renders, 5.7, 40.0), renders, 5.7)
    assert requests >= lower or late > loop_late
