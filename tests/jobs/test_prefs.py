"""Settings' numbers obey the same rules as the CLI's flags (jobs/limits.py)."""

from __future__ import annotations

import math

import pytest

from jobs.prefs import Prefs


@pytest.mark.parametrize(("field", "value"), [
    ("budget_usd", math.nan), ("budget_usd", math.inf), ("budget_usd", -1.0),
    ("sandbox_time_scale", 0.0), ("sandbox_time_scale", math.nan), ("sandbox_time_scale", -0.5),
    ("concurrency_cap", 0), ("concurrency_cap", 33), ("concurrency_cap", 2.5),
])
def test_a_meaningless_number_in_settings_is_refused_naming_the_field(field, value):
    problems = Prefs(**{field: value}).validate()
    assert len(problems) == 1 and problems[0].startswith(f"{field}: must be")


def test_the_defaults_and_a_zero_budget_are_valid():
    assert Prefs().validate() == []
    assert Prefs(budget_usd=0.0).validate() == []
