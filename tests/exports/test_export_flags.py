"""Exports carry a clip's technical flags: the board JSON lists them (None before the checks ran), the demo
pack's caption counts them."""

from __future__ import annotations

import dataclasses
import json

from test_exports import CATALOG, JOBS

from exports.board import board_json
from exports.demopack import _facts

FREEZE = {"kind": "freeze", "start_s": 1.5, "end_s": 2.75, "message": "The picture freezes 1.5–2.8 s.",
          "threshold": "change in every cell ≤ 3% of the picture's contrast for ≥ 0.5 s"}


def test_board_json_lists_flags_and_tells_unchecked_from_clean() -> None:
    flagged = dataclasses.replace(JOBS[0], flags_json=json.dumps([FREEZE]))
    clean = dataclasses.replace(JOBS[1], flags_json="[]")
    doc = json.loads(board_json("Kites", [flagged, clean, JOBS[1]], CATALOG))
    assert [t["flags"] for t in doc["takes"]] == [[FREEZE], [], None]


def test_demo_pack_caption_counts_flags() -> None:
    flagged = dataclasses.replace(JOBS[0], flags_json=json.dumps([FREEZE, FREEZE]))
    assert _facts(flagged, "Kling", False).endswith("⚑ 2 technical flags")
    assert "flag" not in _facts(JOBS[0], "Kling", False)
