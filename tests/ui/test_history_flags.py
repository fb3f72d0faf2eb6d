"""History: a clip's technical flags on its tile and in its detail, and the "Has flags" filter."""

from __future__ import annotations

import json

from ui_helpers import open_page, rerun

from jobs.ledger import Ledger

FREEZE = {"kind": "freeze", "start_s": 1.5, "end_s": 2.75, "message": "The picture freezes 1.5–2.8 s.",
          "threshold": "change in every cell ≤ 3% of the picture's contrast for ≥ 0.5 s"}


def _flag(seeded, job_id: str, flags: list[dict]) -> None:
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    ledger.update(job_id, flags_json=json.dumps(flags))
    ledger.close()


def _count(at) -> str:
    return next(m.value for m in at.markdown if " job" in m.value and "page" in m.value)


def _grid(at) -> str:
    return next(h.proto.body for h in at.get("html") if "hgrid" in h.proto.body)


def test_has_flags_keeps_only_flagged_clips_and_the_tile_says_which(seeded) -> None:
    flagged = seeded.board_jobs["veo3.1-fast"]
    _flag(seeded, flagged, [FREEZE])
    _flag(seeded, seeded.board_jobs["kling-v1-6"], [])  # checked, nothing found: not "flagged"
    at = open_page("app_pages/history.py")
    assert _count(at).startswith("**9 jobs**")
    assert "⚑ 1 flag: freeze" in _grid(at)
    at.toggle(key="h_flagged").set_value(True)
    rerun(at)
    assert _count(at).startswith("**1 job**")
    assert f'id="job-{flagged}"' in _grid(at)


def test_the_detail_lists_each_flag_with_its_time_range(seeded) -> None:
    job_id = seeded.board_jobs["veo3.1-fast"]
    _flag(seeded, job_id, [FREEZE])
    at = open_page("app_pages/history.py", query={"job": job_id})
    lines = [m.value for m in at.markdown if "freezes" in m.value]
    assert lines == [":orange[:material/flag:] The picture freezes 1.5–2.8 s."]
