"""The poll-efficiency benchmark runs end to end on a tiny workload and prints both rows (numbers are not judged)."""

from __future__ import annotations

from bench.poll_efficiency import main


def test_smoke_run_prints_a_table_with_both_approaches() -> None:
    lines: list[str] = []
    code = main(["--smoke", "--tasks", "8"], out=lines.append)
    text = "\n".join(lines)
    assert code == 0, text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert {"approach", "tutorial", "runner", "runner/tutorial"} <= set(rows), text
    cells = {name: [c.strip() for c in rows[name].strip("|").split("|")] for name in ("tutorial", "runner")}
    for row in cells.values():
        assert int(row[1].split("/")[0]) > 0, text  # clips were downloaded
        assert float(row[2]) > 0, text  # the sandbox saw this approach's status requests
        assert int(row[5]) > 0, text  # threads were sampled
    # Same workload, same sandbox: both approaches end with the same number of clips.
    assert cells["tutorial"][1] == cells["runner"][1], text
    assert "unscaled seconds" in text and "time scale 0.002" in text


def test_smoke_run_on_another_curve_and_long_tailed_renders_names_them() -> None:
    lines: list[str] = []
    code = main(["--smoke", "--tasks", "8", "--progress", "steps", "--renders", "lognormal"], out=lines.append)
    text = "\n".join(lines)
    assert code == 0, text
    assert "progress steps, renders lognormal" in text
    assert "veo" in text and "seedance" not in text  # the four families of today only


def test_smoke_run_with_callbacks_adds_the_callback_row() -> None:
    lines: list[str] = []
    code = main(["--smoke", "--tasks", "8", "--callbacks"], out=lines.append)
    text = "\n".join(lines)
    assert code == 0, text
    assert "| runner+callbacks |" in text and "callbacks req/task" in text
    assert "callbacks, kling:" in text
