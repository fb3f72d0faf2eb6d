"""The real bench's long-tailed renders stay under each model's deadline (issue 16 item 9: "capped below the model's
deadline so the bench loses no task to `stale`"): drawn by the sandbox's own config, as the bench passes it."""

from __future__ import annotations

import random

from bench.poll_workload import bench_catalog, plan_workload, render_caps, render_priors
from sandbox.config import SandboxConfig


def test_lognormal_renders_never_reach_the_deadline_and_the_cap_is_what_holds_them():
    catalog = bench_catalog()
    config = SandboxConfig(render_lognormal=render_priors(catalog), render_cap_s=render_caps(catalog))
    rng = random.Random(3)
    capped = 0
    for spec in {s.id: s for s in plan_workload(catalog, 200)}.values():
        draws = [config.draw_render_time(spec.id, spec.family, rng) for _ in range(3000)]
        assert max(draws) < spec.render.deadline_s, spec.id
        capped += sum(d == render_caps(catalog)[spec.id] for d in draws)
    assert capped > 0  # the priors' tails do reach past the deadline: without the cap some task would go stale
