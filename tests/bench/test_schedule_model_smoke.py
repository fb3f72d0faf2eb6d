"""The schedule model runs the real PollSchedule over every family and takes policy overrides by name."""

from __future__ import annotations

import pytest

from bench.schedule_model import main


def _runner_requests(lines: list[str], family: str) -> float:
    row = next(line for line in lines if line.startswith(f"| {family} |"))
    return float(row.strip("|").split("|")[2])


def test_model_reports_every_family_and_an_override_changes_only_its_family() -> None:
    base: list[str] = []
    assert main(["--tasks", "36", "--reps", "2"], out=base.append) == 0
    assert {"| tutorial |", "| runner |", "| runner/tutorial |"} <= {line[: line.index("|", 2) + 1] for line in base
                                                                    if line.startswith("| ")}
    sparse: list[str] = []
    main(["--tasks", "36", "--reps", "2", "--set", "kling.dense_interval_s=11"], out=sparse.append)
    # A sparser dense phase polls Kling less; the families with progress do not use it.
    assert _runner_requests(sparse, "kling") < _runner_requests(base, "kling")
    assert _runner_requests(sparse, "veo") == _runner_requests(base, "veo")


def test_an_unknown_policy_field_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match="dense_interval_s"):
        main(["--set", "kling.dense_intervals=6"], out=lambda _: None)
