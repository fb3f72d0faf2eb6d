"""The synchronised player as one self-contained HTML page, so the app and an exported demo pack share it.

One control bar drives every clip: play, pause, seek, loop, speed, frame steps and sound; each tile can be
heard on its own or enlarged while the others keep playing in sync. The longest clip leads (in blind mode the
shortest, and no time or duration is shown); the others follow it, nudged by playback rate for small drift and
re-seeked for large drift (checked on every animation frame), so they stay within a frame or two of each other.
Icons are inline SVG, not font glyphs, so they draw the same offline and in every browser.
Pure Python (no Streamlit): the caller decides where the HTML goes; CSS and JS are inlined from player_assets/.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0)
HARD_SEEK_S = 0.15
"""Drift above this is corrected by seeking; below it, by a gentle change of playback rate."""
NUDGE_BELOW_S = 0.03
"""Drift below this is left alone (a seek would cost more than it fixes)."""


@dataclass(frozen=True)
class PlayerFlag:
    """A technical flag under a tile (jobs/checks): clicking it seeks every clip to `start_s`."""

    start_s: float
    end_s: float
    message: str


def job_flags(flags: Sequence[dict]) -> tuple[PlayerFlag, ...]:
    """A job's stored flags (Job.flags) as the player shows them."""
    return tuple(PlayerFlag(float(f.get("start_s") or 0.0), float(f.get("end_s") or 0.0), str(f.get("message", "")))
                 for f in flags)


@dataclass(frozen=True)
class PlayerClip:
    url: str
    """A URL the page can fetch: `/app/static/clips/x.mp4` inside the app, a file name in a demo pack."""
    label: str
    caption: str = ""
    fps: float = 24.0
    flags: tuple[PlayerFlag, ...] = ()
    """Shown under the tile except in blind mode (a warning could sway a blind vote)."""


_ASSETS = Path(__file__).resolve().parent / "player_assets"
_CSS = (_ASSETS / "player.css").read_text(encoding="utf-8")
_JS = (_ASSETS / "player.js").read_text(encoding="utf-8")

_PATHS = {  # Material Symbols outlines (Apache-2.0), 24-unit viewBox
    "play": "M8 5v14l11-7z",
    "pause": "M6 19h4V5H6v14zm8-14v14h4V5h-4z",
    "back": "M6 6h2v12H6zm3.5 6 8.5 6V6z",
    "fwd": "M6 18l8.5-6L6 6v12zM16 6v12h2V6h-2z",
    "loop": "M7 7h10v3l4-4-4-4v3H5v6h2V7zm10 10H7v-3l-4 4 4 4v-3h12v-6h-2v4z",
    "sound_on": "M3 9v6h4l5 5V4L7 9H3zm13.5 3c0-1.77-1.02-3.29-2.5-4.03v8.05c1.48-.73 2.5-2.25 2.5-4.02zM14 "
                "3.23v2.06c2.89.86 5 3.54 5 6.71s-2.11 5.85-5 6.71v2.06c4.01-.91 7-4.49 7-8.77s-2.99-7.86-7-8.77z",
    "sound_off": "M16.5 12c0-1.77-1.02-3.29-2.5-4.03v2.21l2.45 2.45c.03-.2.05-.41.05-.63zm2.5 0c0 .94-.2 1.82-.54 "
                 "2.64l1.51 1.51C20.63 14.91 21 13.5 21 12c0-4.28-2.99-7.86-7-8.77v2.06c2.89.86 5 3.54 5 6.71zM4.27 "
                 "3 3 4.27 7.73 9H3v6h4l5 5v-6.73l4.25 4.25c-.67.52-1.42.93-2.25 1.18v2.06c1.38-.31 2.63-.95 "
                 "3.69-1.81L19.73 21 21 19.73l-9-9L4.27 3zM12 4 9.91 6.09 12 8.18V4z",
    "chevron": "M7 10l5 5 5-5z",
    "flag": "M14.4 6 14 4H5v17h2v-7h5.6l.4 2h7V6z",
    "enlarge": "M21 11V3h-8l3.29 3.29-10 10L3 13v8h8l-3.29-3.29 10-10z",
    "shrink": "M22 3.41 16.71 8.7 20 12h-8V4l3.29 3.29L20.59 2 22 3.41zM3.41 22l5.29-5.29L12 20v-8H4l3.29 "
              "3.29L2 20.59 3.41 22z",
}


def icon(name: str, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<svg{klass} viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="{_PATHS[name]}"/></svg>'


def _button(id_or_class: str, label: str, off: str, on: str | None = None, *, primary: bool = False,
            index: int | None = None, title: str = "") -> str:
    """An icon button; a two-state one holds both icons and the JS toggles the class `on`."""
    is_id = index is None
    attrs = f'id="{id_or_class}" class="icon{" primary" if primary else ""}"' if is_id else \
        f'class="icon {id_or_class}" data-index="{index}"'
    pressed = ' aria-pressed="false"' if on and not primary else ""
    icons = icon(off, "when-off") + icon(on, "when-on") if on else icon(off)
    return (f'<button type="button" {attrs}{pressed} aria-label="{html.escape(label, quote=True)}" '
            f'title="{html.escape(title or label, quote=True)}">{icons}</button>')


def player_height(count: int, columns: int = 3, *, tile_px: int = 240) -> int:
    """Pixels that show every tile row plus the control bar (for a caller that cannot size to content)."""
    rows = max(1, -(-max(count, 1) // max(1, columns)))
    return rows * (tile_px + 46) + 64


def player_html(clips: Sequence[PlayerClip], *, columns: int = 3, title: str = "", standalone: bool = False,
                blind: bool = False) -> str:
    """The whole player: a grid of <video class="sync"> tiles and one control bar (ids sync-*).

    `blind`: the review screen before the vote. No time label, duration or per-clip sound control; both clips
    play over the shorter one's length and one sound toggle treats them alike."""
    columns = max(1, min(columns, max(1, len(clips))))
    tiles = "\n".join(_tile(i, c, blind) for i, c in enumerate(clips))
    speeds = "".join(f'<option value="{s:g}"{" selected" if s == 1.0 else ""}>{s:g}×</option>' for s in SPEEDS)
    heading = f"<h1>{html.escape(title)}</h1>" if title and standalone else ""
    config = json.dumps({"hardSeek": HARD_SEEK_S, "nudgeBelow": NUDGE_BELOW_S, "blind": blind, "shortest": blind})
    doc_open = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(title or 'Dailies')}</title>") if standalone else "<html><head>"
    clock = "" if blind else '<span id="sync-time">0.00 / 0.00 s</span>'
    sound_label = "Sound on (both clips)" if blind else "Sound on"
    bar = ('<div class="bar" role="toolbar" aria-label="Synchronised playback">'
           + _button("sync-back", "One frame back", "back", title="One frame back (←)")
           + _button("sync-play", "Play all", "play", "pause", primary=True, title="Play / pause all (space)")
           + _button("sync-fwd", "One frame forward", "fwd", title="One frame forward (→)")
           + '<input id="sync-seek" type="range" min="0" max="1000" value="0" step="1" aria-label="Seek all">'
           + clock + '<span class="sep"></span>'
           + '<label class="speed">Speed <span class="select">'
           + f'<select id="sync-speed" aria-label="Speed">{speeds}</select>{icon("chevron")}</span></label>'
           + _button("sync-loop", "Loop", "loop", "loop", title="Loop").replace(
               'aria-pressed="false"', 'aria-pressed="true"').replace('class="icon"', 'class="icon on"', 1)
           + _button("sync-sound", sound_label, "sound_off", "sound_on", title="Sound on / off")
           + "</div>")
    return (f"{doc_open}<style>{_CSS.replace('__COLUMNS__', str(columns))}</style></head><body>{heading}"
            f'<div class="player{" blind" if blind else ""}"><div class="grid">{tiles}</div>{bar}</div>'
            f"<script>const SYNC = {config};\n{_JS}</script></body></html>")


def _tile(i: int, clip: PlayerClip, blind: bool) -> str:
    caption = f"<span>{html.escape(clip.caption)}</span>" if clip.caption else ""
    tools = "" if blind else _button("tile-sound", f"Hear {clip.label}", "sound_off", "sound_on", index=i)
    tools += _button("tile-focus", "Enlarge this clip", "enlarge", "shrink", index=i)
    return (f'<figure class="tile"><video class="sync" data-index="{i}" data-fps="{clip.fps:g}" '
            f'src="{html.escape(clip.url, quote=True)}" preload="auto" playsinline muted></video>'
            f'<figcaption><div class="names"><b>{html.escape(clip.label)}</b>{caption}</div>{tools}</figcaption>'
            f"{'' if blind else _flags(clip.flags)}</figure>")


def _flags(flags: Sequence[PlayerFlag]) -> str:
    if not flags:
        return ""
    items = "".join(
        f'<li><button type="button" class="flag" data-start="{f.start_s:.2f}" '
        f'title="Seek every clip to {f.start_s:.2f} s">{icon("flag")}<span>{html.escape(f.message)}</span>'
        "</button></li>" for f in flags)
    return f'<ul class="tile-flags" aria-label="Technical flags">{items}</ul>'

