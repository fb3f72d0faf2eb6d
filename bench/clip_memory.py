"""Server memory with 50 clips on screen: static serving (ours) vs bytes through st.video (baseline).

Both pages run as real Streamlit servers in one temporary app folder and are opened in headless
Chromium until 50 <video> elements are attached. We read the server's RSS from /proc before and after.
Run: .venv/bin/python -m bench.clip_memory [--clips 50] [--mb 2]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import httpx
import numpy as np

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
STATIC_PAGE = '''
import pathlib, streamlit as st
st.set_page_config(layout="wide")
names = sorted(p.name for p in pathlib.Path("static/clips").glob("*.mp4"))
cols = st.columns(5)
for i, name in enumerate(names):
    with cols[i % 5]:
        st.video(f"/app/static/clips/{name}")
'''
BYTES_PAGE = '''
import pathlib, streamlit as st
st.set_page_config(layout="wide")
paths = sorted(pathlib.Path("static/clips").glob("*.mp4"))
cols = st.columns(5)
for i, path in enumerate(paths):
    with cols[i % 5]:
        st.video(path.read_bytes())
'''


def render_noise_clip(path: Path, min_bytes: int) -> None:
    """Noise does not compress: a short clip is already megabytes."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=24, options={"preset": "ultrafast", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.time_base = Fraction(1, 24)
        for frames in range(48):
            img = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = frames
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert path.stat().st_size >= min_bytes, path.stat().st_size


def make_clips(folder: Path, count: int, min_bytes: int) -> None:
    """One rendered clip and byte-distinct copies (a marker in a free box), so no two hash alike."""
    folder.mkdir(parents=True, exist_ok=True)
    master = folder / "master.tmp"
    render_noise_clip(master, min_bytes)
    data = master.read_bytes()
    master.unlink()
    for i in range(count):
        marker = f"clip {i:04d}".encode()
        free_box = (8 + len(marker)).to_bytes(4, "big") + b"free" + marker
        (folder / f"clip{i:03d}.mp4").write_bytes(data + free_box)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(app_dir: Path, script: str, count: int, browser) -> dict[str, float | int | str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.headless", "true",
         "--server.enableStaticServing", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=app_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        before = rss_mb(proc.pid)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.goto(base)
        page.wait_for_function(f"() => document.querySelectorAll('video').length === {count}", timeout=120_000)
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
        srcs = page.eval_on_selector_all("video", "vs => vs.map(v => v.getAttribute('src') || '')")
        after = rss_mb(proc.pid)
        page.close()
        kind = "media" if all("/media/" in s for s in srcs) else "static" if all("/app/static/" in s for s in srcs) \
            else "mixed"
        return {"videos": len(srcs), "urls": kind, "rss_before_mb": before, "rss_after_mb": after,
                "growth_mb": after - before}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=50)
    ap.add_argument("--mb", type=float, default=2.0)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    app_dir = Path(tempfile.mkdtemp(prefix="dailies-membench-"))
    try:
        make_clips(app_dir / "static" / "clips", args.clips, int(args.mb * 2**20))
        (app_dir / "static_page.py").write_text(STATIC_PAGE)
        (app_dir / "bytes_page.py").write_text(BYTES_PAGE)
        total_mb = sum(p.stat().st_size for p in (app_dir / "static" / "clips").glob("*.mp4")) / 2**20
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            static = measure(app_dir, "static_page.py", args.clips, browser)
            baseline = measure(app_dir, "bytes_page.py", args.clips, browser)
            browser.close()
    finally:
        shutil.rmtree(app_dir, ignore_errors=True)
    print(f"{args.clips} clips, {total_mb:.0f} MB on disk (each >= {args.mb} MB)\n")
    print("| page | video elements | URLs | RSS before MB | RSS after MB | growth MB |")
    print("|---|---|---|---|---|---|")
    for name, r in (("static URLs (Dailies)", static), ("bytes to st.video (baseline)", baseline)):
        print(f"| {name} | {r['videos']} | {r['urls']} | {r['rss_before_mb']:.0f} | {r['rss_after_mb']:.0f} "
              f"| {r['growth_mb']:.0f} |")
    ratio = static["growth_mb"] / baseline["growth_mb"] if baseline["growth_mb"] > 0 else float("nan")
    print(f"\ngrowth ratio static/baseline: {ratio:.3f}")
    ok = static["urls"] == "static" and baseline["urls"] == "media" and static["videos"] == baseline["videos"]
    if not ok:
        sys.exit("the two pages did not show the same clips the way they should")


if __name__ == "__main__":
    main()
