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


def test_the_player_lists_flags_under_their_tile_as_seek_buttons_except_when_blind() -> None:
    from exports.player import PlayerClip, job_flags, player_html

    flagged = PlayerClip("a.mp4", "Veo", flags=job_flags([FREEZE, {**FREEZE, "message": "<b>x</b>", "start_s": 3}]))
    page = player_html([flagged, PlayerClip("b.mp4", "Kling")])
    assert page.count('class="tile-flags"') == 1
    assert 'data-start="1.50"' in page and 'data-start="3.00"' in page
    assert "The picture freezes 1.5–2.8 s." in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert 'class="flag"' not in player_html([flagged, PlayerClip("b.mp4", "Kling")], blind=True)
