"""Real MP4s for the clip checks: the sandbox's renders (with a defect or near-miss look baked in), FFmpeg's
testsrc2 through PyAV, and small numpy-drawn clips for the motion extremes."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sandbox.defects import Defect
from sandbox.render import ClipSpec, render_clip

W, H, SECONDS, FPS = 640, 360, 4.0, 24


def sandbox_clip(dest: Path, defect: Defect | None = None, *, audio: bool = True, seconds: float = SECONDS,
                 width: int = W, height: int = H) -> Path:
    spec = ClipSpec(model="veo3", prompt="a lighthouse at dusk, waves on the rocks", width=width, height=height,
                    seconds=seconds, audio=audio, defect=defect)
    return render_clip(spec, dest)


def _pull(graph: av.filter.Graph) -> Iterator[av.VideoFrame | av.AudioFrame]:
    while True:
        try:
            yield graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return


def make_testsrc2(dest: Path, seconds: float = SECONDS) -> Path:
    """Another generator's clip: FFmpeg's testsrc2 pattern with a 440 Hz sine, both from lavfi sources."""
    with av.open(str(dest), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = out.add_stream("aac", rate=48_000)
        audio.layout = "mono"
        graph = av.filter.Graph()
        graph.add("testsrc2", f"size={W}x{H}:rate={FPS}:duration={seconds}").link_to(graph.add("buffersink"))
        graph.configure()
        for i, frame in enumerate(_pull(graph)):
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
        sound = av.filter.Graph()
        sound.add("sine", f"frequency=440:sample_rate=48000:duration={seconds}").link_to(sound.add("abuffersink"))
        sound.configure()
        for frame in _pull(sound):
            frame.pts = None
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return dest


def luma_clip(dest: Path, frames: Iterator[np.ndarray]) -> Path:
    """A silent clip from grey-level frames (H x W uint8 luma, neutral chroma)."""
    with av.open(str(dest), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        video.time_base = Fraction(1, FPS)
        video.options = {"preset": "ultrafast", "crf": "23"}
        chroma = np.full((H // 2, W), 128, dtype=np.uint8)
        for i, luma in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.vstack([luma, chroma]), format="yuv420p")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
    return dest


def texture(seed: int = 3) -> np.ndarray:
    """Smooth grey blotches twice the frame's width."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(50, 200, size=(H // 8, (2 * W) // 8))
    return np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1).astype(np.uint8)


def creeping_clip(dest: Path) -> Path:
    """A still texture where only a small square crawls, 2 px a frame: not frozen, but it barely moves."""
    still = texture()[:, :W]

    def frame(i: int) -> np.ndarray:
        out = still.copy()
        out[160:200, 100 + 2 * i:140 + 2 * i] = 230
        return out

    return luma_clip(dest, (frame(i) for i in range(int(SECONDS * FPS))))


def noise_clip(dest: Path) -> Path:
    """Fresh random noise every frame: chaotic."""
    rng = np.random.default_rng(5)
    n = int(SECONDS * FPS)
    return luma_clip(dest, (rng.integers(16, 236, size=(H, W), dtype=np.uint8) for _ in range(n)))
