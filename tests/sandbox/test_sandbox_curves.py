"""Progress curves and render-time draws the sandbox can simulate (issue 16 item 9)."""

from __future__ import annotations

import random
import threading

import httpx
import pytest

from sandbox import curves
from sandbox.config import SandboxConfig

FRACTIONS = [i / 100 for i in range(101)]


@pytest.mark.parametrize("curve", ["linear", "ease-in", "ease-out", "steps", "stall"])
def test_every_curve_starts_at_zero_ends_at_one_and_never_goes_down(curve):
    shown = [curves.progress(curve, f, "task-1") for f in FRACTIONS]
    assert shown[0] == 0.0 and shown[-1] == 1.0
    assert all(a <= b for a, b in zip(shown, shown[1:], strict=False))


def test_the_curves_have_their_shapes():
    assert curves.progress("ease-in", 0.5) == 0.25
    assert curves.progress("ease-out", 0.5) == 0.75
    assert curves.progress("stall", 0.3) == 0.3 and curves.progress("stall", 0.9) == 0.4
    assert curves.progress("stall", 0.96) == 1.0
    assert curves.progress("none", 0.5) is None


def test_steps_jump_by_10_to_30_points_and_stay_flat_between():
    shown = [curves.progress("steps", f, "task-7") for f in FRACTIONS]
    jumps = [b - a for a, b in zip(shown, shown[1:], strict=False) if b != a]
    assert len(jumps) >= 3
    assert all(0.0999 <= j <= 0.3001 for j in jumps[:-1])  # the last one may be cut short at 100 %
    assert len(set(shown)) <= len(jumps) + 1  # flat between the jumps
    assert shown == [curves.progress("steps", f, "task-7") for f in FRACTIONS]  # the same task, the same steps
    assert shown != [curves.progress("steps", f, "task-8") for f in FRACTIONS]


def test_lognormal_draws_pass_through_p50_and_p90_and_stay_below_the_cap():
    config = SandboxConfig(render_lognormal={"*": (60.0, 240.0)}, render_cap_s={"*": 1000.0})
    rng = random.Random(3)
    draws = sorted(config.draw_render_time("m", "veo", rng) for _ in range(4000))
    assert 55 < draws[2000] < 65 and 215 < draws[3600] < 265
    assert max(draws) <= 1000.0


def test_an_unknown_curve_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed: linear, ease-in"):
        SandboxConfig(progress_curves={"veo": "zigzag"})


@pytest.mark.parametrize(("family_curve", "expect_progress"), [("ease-in", True), ("none", False)])
def test_a_family_curve_reaches_the_wire(make_sandbox, family_curve, expect_progress):
    server = make_sandbox(progress_curves={"sora": family_curve}, render_times={"*": (100, 100)},
                          time_scale=0.02, queue_fraction=0.0)
    headers = {"Authorization": "Bearer sk-sandbox"}
    with httpx.Client(base_url=server.base_url, headers=headers) as client:
        created = client.post("/v1/videos", data={"model": "sora-2", "prompt": "x", "seconds": "4",
                                                  "size": "1280x720"}).json()
        seen = []
        for _ in range(40):
            body = client.get(f"/v1/videos/{created['id']}").json()
            if body["status"] == "in_progress":
                seen.append(body.get("progress"))
            if body["status"] == "completed":
                break
            threading.Event().wait(0.05)  # sampling the curve over the render, not waiting for a condition
    assert seen, "never saw the task running"
    if expect_progress:
        # ease-in: the progress shown trails the linear fraction
        assert all(isinstance(p, int) for p in seen) and seen[len(seen) // 2] < 50
    else:
        assert all(p is None for p in seen)
