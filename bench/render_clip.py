"""Times rendering one 8 s 1280x720 sandbox clip (CPU seconds) against slower baselines in the same run."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

from sandbox.render import ClipSpec, render_clip

SPEC = ClipSpec(model="veo3.1", prompt="A paper airplane glides across a sunlit desk, shallow depth of field",
                width=1280, height=720, seconds=8, fps=24, audio=False)


def pillow_per_frame(spec: ClipSpec, dest: Path) -> None:
    """The naive way: draw every frame with Pillow in RGB and let PyAV convert it to yuv420p."""
    font = ImageFont.load_default(size=spec.height // 14)
    frames = round(spec.seconds * spec.fps)
    with av.open(str(dest), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.time_base = Fraction(1, spec.fps)
        stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "28"}
        for i in range(frames):
            img = Image.new("RGB", (spec.width, spec.height), (40, 60, 90))
            draw = ImageDraw.Draw(img)
            for k in range(4):
                x = (i * (5 + k * 3)) % (spec.width - 120)
                draw.rectangle((x, 100 + k * 120, x + 120, 220 + k * 120), fill=(200, 80 + k * 40, 60))
            draw.text((16, spec.height - 120), spec.model, fill=(255, 255, 255), font=font)
            draw.text((16, spec.height - 60), spec.prompt, fill=(255, 255, 255), font=font)
            frame = av.VideoFrame.from_image(img)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def measure(fn: Callable[[Path], None], reps: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(reps):
            dest = Path(tmp) / f"clip{rep}.mp4"
            start = time.process_time()
            fn(dest)
            times.append(time.process_time() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    variants: list[tuple[str, Callable[[Path], None]]] = [
        ("sandbox: numpy YUV, text once, ultrafast", lambda p: render_clip(SPEC, p, "ultrafast")),
        ("same frames, preset veryfast", lambda p: render_clip(SPEC, p, "veryfast")),
        ("baseline: Pillow per frame, ultrafast", lambda p: pillow_per_frame(SPEC, p)),
    ]
    print(f"8 s 1280x720 @ {SPEC.fps} fps, H.264 yuv420p, CPU seconds (time.process_time, all threads), "
          f"{args.reps} reps, PyAV {av.__version__}")
    print(f"{'variant':44} {'min':>7} {'median':>7} {'ratio':>7}")
    reference = None
    for name, fn in variants:
        times = measure(fn, args.reps)
        median = statistics.median(times)
        reference = reference or median
        print(f"{name:44} {min(times):7.3f} {median:7.3f} {median / reference:6.2f}x")


if __name__ == "__main__":
    main()
