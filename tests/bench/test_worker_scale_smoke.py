"""The worker-scale benchmark runs end to end on a tiny workload (1 then 3 worker processes on PostgreSQL) and
prints both rows and the ratio row; its numbers are not judged."""

from __future__ import annotations

from bench.worker_scale import main


def test_smoke_run_prints_one_and_three_workers_with_every_take_downloaded() -> None:
    lines: list[str] = []
    code = main(["--smoke"], out=lines.append)
    text = "\n".join(lines)
    assert code == 0, text
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")}
    assert {"workers", "1", "3", "3/1"} <= set(rows), text
    for name in ("1", "3"):
        row = rows[name]
        assert row[1] == "8/8", text  # every take downloaded
        assert sum(int(n) for n in row[2].split("/")) == 8, text  # each take submitted by exactly one worker
        assert float(row[3]) > 0 and float(row[6]) > 0, text  # the sandbox saw polls; /proc gave CPU time
    assert len(rows["3"][2].split("/")) == 3, text
    assert "time scale 0.01" in text and "unscaled seconds" in text
    # The baseline is judged either way: "BASELINE STARVED", "BASELINE SATURATED" or "baseline not starved".
    assert "baseline" in text.lower() and "target p95" in text
