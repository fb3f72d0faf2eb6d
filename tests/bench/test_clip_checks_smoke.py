"""The clip-checks benchmark runs end to end on a small clip and prints its table (numbers are not judged)."""

from __future__ import annotations

from bench.clip_checks import main


def test_smoke_run_prints_the_ratio_and_memory_rows() -> None:
    lines: list[str] = []
    assert main(["--smoke", "--repeats", "1"], out=lines.append) == 0
    text = "\n".join(lines)
    assert "| ratio checks / decode |" in text and "| RSS growth over the batch (MB) |" in text
    assert "| none / freeze / black / silence | none / freeze / black / silence |" in text  # value, target
