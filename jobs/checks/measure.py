"""One pass over a clip: per-frame numbers from a strided luma plane, and the soundtrack through FFmpeg filters.

Measured on an 8 s 1280x720 clip (bench/clip_checks.py): FFmpeg's own `signalstats`, `siti` and `blurdetect`
cost 15-85x one decode; numpy on every 4th row and column of the decoded luma, plus `silencedetect` and
`ebur128` on the audio, stays within 2x. So the picture numbers are ours, the sound numbers are FFmpeg's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

STRIDE = 4  # every 4th row and column: 320x180 samples of a 720p frame
DARK_PIXEL = 32
"""A luma sample at or below this (16 is black in limited range) counts as black for black frames and bars."""
GRID = 8
SILENCE_DB = -50
SILENCE_MIN_S = 0.5


@dataclass
class VideoMeasures:
    fps: float
    width: int
    height: int
    times: np.ndarray  # start time of each frame, seconds
    mean_luma: np.ndarray
    contrast: np.ndarray  # standard deviation of the luma samples: how much there is to see move
    dark_share: np.ndarray  # share of samples at or below DARK_PIXEL
    diff: np.ndarray  # mean absolute luma difference to the previous frame (0 for the first)
    block_diff: np.ndarray  # the same in the busiest cell of an 8x8 grid: a small thing moving keeps it up
    bar_top: np.ndarray  # rows of black at the top, in pixels (strided, so a multiple of STRIDE)
    bar_bottom: np.ndarray
    bar_left: np.ndarray
    bar_right: np.ndarray


@dataclass
class AudioMeasures:
    present: bool
    duration_s: float = 0.0
    silences: list[tuple[float, float]] = field(default_factory=list)  # (start, end) seconds
    integrated_lufs: float | None = None  # EBU R128; None when there is no gated loudness (all silent)


@dataclass
class ClipMeasures:
    video: VideoMeasures
    audio: AudioMeasures


def _edge_run(dark: np.ndarray) -> int:
    """How many leading entries are True."""
    if dark.all():
        return len(dark)
    return int(np.argmin(dark))


def _busiest_cell(change: np.ndarray) -> float:
    h, w = change.shape
    ch, cw = h // GRID, w // GRID
    if ch == 0 or cw == 0:
        return float(change.mean())
    cells = change[:ch * GRID, :cw * GRID].reshape(GRID, ch, GRID, cw).sum(axis=3).sum(axis=1)
    return float(cells.max()) / (ch * cw)


def measure_video(container: av.container.InputContainer) -> VideoMeasures:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = float(stream.average_rate or stream.guessed_rate or 24)
    rows: list[tuple[float, ...]] = []
    prev: np.ndarray | None = None
    width = height = 0
    for frame in container.decode(stream):
        plane = frame.planes[0]
        width, height = frame.width, frame.height
        full = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        luma = full[:height:STRIDE, :width:STRIDE].astype(np.float32)
        diff = block = 0.0
        if prev is not None:
            change = np.subtract(luma, prev, out=prev)  # the previous frame is done with: reuse its buffer
            np.abs(change, out=change)
            diff = float(change.mean())
            block = _busiest_cell(change)
        prev = luma  # kept without a copy: the next frame writes its difference over it, once this one is read
        dark = luma <= DARK_PIXEL
        row_dark = dark.all(axis=1)
        col_dark = dark.all(axis=0)
        t = float(frame.time) if frame.time is not None else len(rows) / rate
        rows.append((t, float(luma.mean()), float(luma[::2, ::2].std()),
                     np.count_nonzero(dark) / dark.size, diff, block,
                     _edge_run(row_dark) * STRIDE, _edge_run(row_dark[::-1]) * STRIDE,
                     _edge_run(col_dark) * STRIDE, _edge_run(col_dark[::-1]) * STRIDE))
    cols = np.array(rows, dtype=np.float64).reshape(-1, 10).T
    return VideoMeasures(rate, width, height, cols[0] - (cols[0][0] if len(rows) else 0.0), *cols[1:])


def measure_audio(container: av.container.InputContainer) -> AudioMeasures:
    if not container.streams.audio:
        return AudioMeasures(present=False)
    stream = container.streams.audio[0]
    graph = av.filter.Graph()
    source = graph.add_abuffer(template=stream)
    silence = graph.add("silencedetect", f"noise={SILENCE_DB}dB:d={SILENCE_MIN_S}")
    loudness = graph.add("ebur128", "metadata=1")
    sink = graph.add("abuffersink")
    # ebur128 re-cuts the audio into frames of its own, dropping metadata set before it: so it goes first.
    source.link_to(loudness)
    loudness.link_to(silence)
    silence.link_to(sink)
    graph.configure()
    out = AudioMeasures(present=True)
    state: dict[str, float | None] = {"open": None, "lufs": None, "end": 0.0}

    def drain() -> None:
        while True:
            try:
                frame = graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            _read(frame, out, state)

    for frame in container.decode(stream):
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    out.duration_s = float(state["end"] or 0.0)
    if state["open"] is not None:  # silent up to the end: silencedetect only closes a stretch on sound
        out.silences.append((float(state["open"]), out.duration_s))
    out.integrated_lufs = state["lufs"]
    return out


def _read(frame: av.AudioFrame, out: AudioMeasures, state: dict[str, float | None]) -> None:
    meta = frame.metadata
    if frame.time is not None:
        state["end"] = float(frame.time) + frame.samples / frame.sample_rate
    if "lavfi.silence_start" in meta:
        state["open"] = max(0.0, float(meta["lavfi.silence_start"]))
    if "lavfi.silence_end" in meta:
        start = state["open"] if state["open"] is not None else 0.0
        out.silences.append((float(start), float(meta["lavfi.silence_end"])))
        state["open"] = None
    lufs = meta.get("lavfi.r128.I")
    if lufs is not None:
        value = float(lufs)
        state["lufs"] = value if value > -70 else None  # -70 LUFS is the absolute gate: nothing was loud enough


def measure(path: Path) -> ClipMeasures:
    """Decode the clip once for pictures and once for sound (the audio decode is cheap)."""
    with av.open(str(path)) as container:
        video = measure_video(container)
    with av.open(str(path)) as container:
        audio = measure_audio(container)
    return ClipMeasures(video, audio)
