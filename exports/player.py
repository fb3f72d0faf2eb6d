"""The synchronised player as one self-contained HTML page, so the app and an exported demo pack share it.

One control bar drives every clip: play, pause, seek, loop, speed, frame steps, and which clip is heard.
The longest clip leads; the others follow it, nudged by playback rate for small drift and re-seeked for
large drift (checked on every animation frame), so they stay within a frame or two of each other.
Pure Python (no Streamlit): the caller decides where the HTML goes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0)
HARD_SEEK_S = 0.15
"""Drift above this is corrected by seeking; below it, by a gentle change of playback rate."""
NUDGE_BELOW_S = 0.03
"""Drift below this is left alone (a seek would cost more than it fixes)."""


@dataclass(frozen=True)
class PlayerClip:
    url: str
    """A URL the page can fetch: `/app/static/clips/x.mp4` inside the app, a file name in a demo pack."""
    label: str
    caption: str = ""
    fps: float = 24.0


def player_height(count: int, columns: int = 3, *, tile_px: int = 240) -> int:
    """Pixels of iframe height that show every tile row plus the control bar."""
    rows = max(1, -(-max(count, 1) // max(1, columns)))
    return rows * (tile_px + 56) + 96


def player_html(clips: Sequence[PlayerClip], *, columns: int = 3, title: str = "", standalone: bool = False) -> str:
    """The whole player: a grid of <video class="sync"> tiles and one control bar (ids sync-*)."""
    columns = max(1, min(columns, max(1, len(clips))))
    tiles = "\n".join(
        f'<figure class="tile"><video class="sync" data-index="{i}" data-fps="{c.fps:g}" '
        f'src="{html.escape(c.url, quote=True)}" preload="auto" playsinline muted></video>'
        f'<figcaption><b>{html.escape(c.label)}</b>'
        f'{"<br><span>" + html.escape(c.caption) + "</span>" if c.caption else ""}</figcaption></figure>'
        for i, c in enumerate(clips))
    sound = "".join(f'<option value="{i}">{html.escape(c.label)}</option>' for i, c in enumerate(clips))
    speeds = "".join(f'<option value="{s:g}"{" selected" if s == 1.0 else ""}>{s:g}×</option>' for s in SPEEDS)
    heading = f"<h1>{html.escape(title)}</h1>" if title and standalone else ""
    config = json.dumps({"hardSeek": HARD_SEEK_S, "nudgeBelow": NUDGE_BELOW_S})
    doc_open = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(title or 'Dailies')}</title>") if standalone else "<html><head>"
    return (f"{doc_open}<style>{_CSS.replace('__COLUMNS__', str(columns))}</style></head><body>{heading}"
            f'<div class="grid">{tiles}</div>'
            '<div class="bar" role="toolbar" aria-label="Synchronised playback">'
            '<button id="sync-back" title="One frame back (←)">⏮</button>'
            '<button id="sync-play" title="Play / pause all (space)" aria-label="Play all">▶</button>'
            '<button id="sync-fwd" title="One frame forward (→)">⏭</button>'
            '<input id="sync-seek" type="range" min="0" max="1000" value="0" step="1" aria-label="Seek all">'
            '<span id="sync-time">0.00 / 0.00 s</span>'
            f'<label>Speed <select id="sync-speed">{speeds}</select></label>'
            '<label><input id="sync-loop" type="checkbox" checked> Loop</label>'
            f'<label>Sound <select id="sync-sound"><option value="-1">none</option>{sound}</select></label>'
            f"</div><script>const SYNC = {config};\n{_JS}</script></body></html>")


_CSS = """
body { margin: 0; font-family: system-ui, sans-serif; background: #0e1117; color: #e6e6e6; }
h1 { font-size: 1.2rem; margin: .6rem; }
.grid { display: grid; grid-template-columns: repeat(__COLUMNS__, minmax(0, 1fr)); gap: 8px; padding: 4px; }
.tile { margin: 0; background: #000; border-radius: 6px; overflow: hidden; }
.tile video { width: 100%; height: 240px; object-fit: contain; background: #000; display: block; }
.tile figcaption { font-size: 12px; padding: 4px 6px; color: #ccc; }
.tile figcaption span { color: #999; }
.bar { position: sticky; bottom: 0; display: flex; gap: 10px; align-items: center; flex-wrap: wrap;
       padding: 8px; background: #1b1f2a; font-size: 13px; }
.bar button { font-size: 16px; min-width: 36px; cursor: pointer; }
#sync-seek { flex: 1; min-width: 160px; }
#sync-time { font-variant-numeric: tabular-nums; min-width: 110px; }
"""

_JS = r"""
(() => {
  const videos = [...document.querySelectorAll('video.sync')];
  const $ = (id) => document.getElementById(id);
  const play = $('sync-play'), seek = $('sync-seek'), time = $('sync-time');
  const speed = $('sync-speed'), loop = $('sync-loop'), sound = $('sync-sound');
  let playing = false, rate = 1.0, dragging = false;
  const dur = (v) => (isFinite(v.duration) && v.duration > 0 ? v.duration : 0);
  const leader = () => videos.reduce((a, b) => (dur(b) > dur(a) ? b : a), videos[0]);
  const fps = () => Number(leader().dataset.fps) || 24;

  function setAll(t) {
    for (const v of videos) {
      const d = dur(v);
      v.currentTime = d ? Math.min(t, Math.max(0, d - 0.001)) : t;
    }
    show();
  }
  function show() {
    const l = leader(), d = dur(l);
    time.textContent = `${l.currentTime.toFixed(2)} / ${d.toFixed(2)} s`;
    if (!dragging && d) seek.value = String(Math.round((l.currentTime / d) * 1000));
  }
  async function start() {
    playing = true;
    play.textContent = '⏸'; play.setAttribute('aria-label', 'Pause all');
    const t = leader().currentTime;
    setAll(t >= dur(leader()) - 0.01 ? 0 : t);
    await Promise.all(videos.map((v) => { v.playbackRate = rate; return v.play().catch(() => {}); }));
  }
  function stop() {
    playing = false;
    play.textContent = '▶'; play.setAttribute('aria-label', 'Play all');
    for (const v of videos) v.pause();
    setAll(leader().currentTime);
  }
  function step(frames) {
    if (playing) stop();
    setAll(Math.max(0, leader().currentTime + frames / fps()));
  }
  function tick() {
    const l = leader();
    if (playing) {
      const t = l.currentTime;
      for (const v of videos) {
        if (v === l) { if (v.playbackRate !== rate) v.playbackRate = rate; continue; }
        const d = dur(v);
        if (d && t >= d - 0.05) { if (!v.paused) v.pause(); continue; }   // a shorter clip holds its last frame
        if (v.paused && !l.paused) v.play().catch(() => {});
        const drift = v.currentTime - t;
        if (Math.abs(drift) > SYNC.hardSeek) { v.currentTime = t; v.playbackRate = rate; }
        else if (Math.abs(drift) > SYNC.nudgeBelow) v.playbackRate = rate * (1 - Math.max(-0.1, Math.min(0.1, drift)));
        else if (v.playbackRate !== rate) v.playbackRate = rate;
      }
      show();
    }
    requestAnimationFrame(tick);
  }
  videos.forEach((v) => {
    v.loop = false;
    v.addEventListener('loadedmetadata', show);
    v.addEventListener('ended', () => {
      if (v !== leader() || !playing) return;
      if (loop.checked) { setAll(0); start(); } else { stop(); }
    });
  });
  play.addEventListener('click', () => (playing ? stop() : start()));
  $('sync-back').addEventListener('click', () => step(-1));
  $('sync-fwd').addEventListener('click', () => step(1));
  seek.addEventListener('pointerdown', () => { dragging = true; });
  seek.addEventListener('pointerup', () => { dragging = false; });
  seek.addEventListener('input', () => { setAll((Number(seek.value) / 1000) * dur(leader())); });
  seek.addEventListener('change', () => { dragging = false; });
  speed.addEventListener('change', () => {
    rate = Number(speed.value) || 1;
    videos.forEach((v) => { v.playbackRate = rate; });
  });
  sound.addEventListener('change', () => {
    const pick = Number(sound.value);
    videos.forEach((v, i) => { v.muted = i !== pick; });
  });
  document.addEventListener('keydown', (e) => {
    if (e.target && e.target.tagName === 'SELECT') return;
    if (e.code === 'Space') { e.preventDefault(); playing ? stop() : start(); }
    else if (e.code === 'ArrowLeft') step(-1);
    else if (e.code === 'ArrowRight') step(1);
  });
  window.dailiesSync = { videos, leader, start, stop, setAll, step };
  requestAnimationFrame(tick);
})();
"""
