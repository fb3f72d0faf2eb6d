"""CPU cost of the clip checks against decoding the same clip once, and memory over a batch of 50 clips.

The clip: 8 s, 1280x720, 24 fps, AAC audio, rendered by the sandbox. Baseline: one PyAV decode of every video
and audio frame, nothing else. Checks: `jobs.checks.check_clip` (strided-luma numpy per frame, silencedetect
and ebur128 on the sound). CPU time is the process's user+system time (getrusage), best of --repeats, both
in the same run. Memory: resident set size of this process (standing in for the app's server) before and
after the engine's ClipChecker (its background thread, writing each clip's flags to a real ledger) works
through --batch downloaded clips (four different clips in turn, defects included), after one warm-up check.
Run: .venv/bin/python -m bench.clip_checks [--repeats 5] [--batch 50] [--smoke]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import av

from jobs.checks import check_clip
from jobs.checks.checker import ClipChecker
from jobs.ledger import Ledger
from sandbox.defects import Defect
from sandbox.render import ClipSpec, render_clip

TARGET_RATIO = 2.0
TARGET_RSS_MB = 50.0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def decode_once(path: Path) -> None:
    with av.open(str(path)) as container:
        container.streams.video[0].thread_type = "AUTO"  # as the checks decode
        for _ in container.decode(*container.streams):
            pass


def best_cpu(run: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = cpu_s()
        run()
        best = min(best, cpu_s() - start)
    return best


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="a 3 s 320x180 clip and a batch of 4: harness only")
    args = parser.parse_args(argv)
    width, height, seconds = (320, 180, 3.0) if args.smoke else (1280, 720, 8.0)
    batch = 4 if args.smoke else args.batch
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = []
        for i, defect in enumerate([None, Defect("freeze", seconds / 4, seconds / 3), Defect("black", 0.0, 1.0),
                                    Defect("silence", seconds / 4, seconds / 3)]):
            spec = ClipSpec(model="veo3", prompt=f"bench clip {i}: a harbour at dawn", width=width, height=height,
                            seconds=seconds, audio=True, defect=defect)
            clips.append(render_clip(spec, folder / f"clip{i}.mp4"))
        main_clip = clips[0]
        decode_once(main_clip)  # warm caches and codec init before anything is timed
        decode_s = best_cpu(lambda: decode_once(main_clip), args.repeats)
        checks_s = best_cpu(lambda: check_clip(main_clip, expects_audio=True), args.repeats)
        kinds = [",".join(f.kind for f in check_clip(c, expects_audio=True)) or "none" for c in clips]
        ledger = Ledger(folder / "ledger.sqlite3")
        ids = [ledger.create_job(run_id="bench", model_id="veo3", family="veo", backend="sandbox",
                                 base_url="http://127.0.0.1:1", recipe_json="{}", mapping_json='{"has_audio": true}',
                                 state="downloaded", clip_path=str(clips[i % len(clips)])).id for i in range(batch)]
        gc.collect()
        before = rss_mb()
        checker = ClipChecker(ledger).start()  # as the app's runner does: unchecked clips are queued at start
        try:
            if not checker.wait_idle(600):
                raise RuntimeError("the checker did not finish the batch within 10 minutes")
        finally:
            checker.stop()
        gc.collect()
        after = rss_mb()
        found = sum(len(job.flags) for job in ledger.get_many(ids))
        ledger.close()
    ratio = checks_s / decode_s
    growth = after - before
    out(f"clip: {seconds:g} s {width}x{height} 24 fps with AAC audio; best of {args.repeats}; batch of {batch}")
    out("| measure | value | target |")
    out("|---|---|---|")
    out(f"| one PyAV decode (CPU s) | {decode_s:.3f} | baseline |")
    out(f"| all checks (CPU s) | {checks_s:.3f} | |")
    out(f"| ratio checks / decode | {ratio:.2f}x | ≤ {TARGET_RATIO:g}x |")
    out(f"| RSS before / after {batch} clips (MB) | {before:.1f} / {after:.1f} | |")
    out(f"| RSS growth over the batch (MB) | {growth:+.1f} | ≤ {TARGET_RSS_MB:g} MB |")
    out(f"| flags on the 4 clips (clean, freeze, black, silence) | {' / '.join(kinds)} | none / freeze / black / "
        f"silence |")
    out(f"| flags raised over the batch | {found} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
