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


def test_the_matrix_has_every_curve_and_distribution_cold_and_warm() -> None:
    lines: list[str] = []
    main(["--matrix", "--tasks", "16", "--reps", "1"], out=lines.append)
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines
            if line.startswith("| ") and not line.startswith("| curve")]
    assert {(r[0], r[1], r[2]) for r in rows} == {
        (curve, renders, start) for curve in ("linear", "ease-in", "ease-out", "steps", "stall", "none")
        for renders in ("uniform", "lognormal") for start in ("cold", "warm")}


def test_a_curve_changes_what_the_runner_sees_and_warm_starts_learn_render_times() -> None:
    def ratio(*extra: str) -> str:
        lines: list[str] = []
        main(["--tasks", "16", "--reps", "2", *extra], out=lines.append)
        return next(line for line in lines if line.startswith("| runner/tutorial |"))

    assert ratio("--progress", "steps") != ratio()
    assert ratio("--warm") != ratio()
