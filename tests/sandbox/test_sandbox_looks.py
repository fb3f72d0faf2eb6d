"""Sandbox takes differ: by model (each has its own look), by seed, and by take when no seed is sent; and the
picture never names the model (blind review), which stays in the file's metadata."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import av
import httpx
import numpy as np
from sandbox_helpers import client, poll_path, result_url, submit_kling, submit_runway

from sandbox.render import ClipSpec, _text_mask, overlay_lines

DONE = {"render_times": {"*": (0, 0)}}
# An https promptImage is accepted and not fetched, so the clip is drawn on the model's own backdrop.
REMOTE_IMAGE = "https://images.example/first-frame.png"
# H.264 at crf 28 on these flat synthetic pictures moves a decoded pixel by ~1 level on average; "visibly
# different" is asked to be ten times that.
VISIBLE = 10.0


def decoded(url: str, dest: Path) -> tuple[np.ndarray, dict[str, str]]:
    """Frame 24 (one second in) as RGB scaled to 320x180 (the models' sizes differ), and the container's metadata."""
    dest.write_bytes(httpx.get(url).content)
    with av.open(str(dest)) as container:
        frame = next(itertools.islice(container.decode(video=0), 24, None))
        small = frame.reformat(width=320, height=180, format="rgb24")
        return small.to_ndarray().astype(int), dict(container.metadata)


def test_two_models_by_two_seeds_are_four_visibly_different_clips(make_sandbox, tmp_path):
    srv = make_sandbox(**DONE)
    frames, comments = {}, {}
    with client(srv.base_url) as c:
        for model, seed in itertools.product(("gen4_turbo", "gen3a_turbo"), (7, 8)):
            ratio = "1280:720" if model == "gen4_turbo" else "1280:768"  # what each model allows
            task_id = submit_runway(c, model=model, seed=seed, ratio=ratio, promptImage=REMOTE_IMAGE).json()["id"]
            url = result_url("runway", c.get(poll_path("runway", task_id)).json())
            frames[model, seed], meta = decoded(url, tmp_path / f"{model}-{seed}.mp4")
            comments[model, seed] = meta.get("comment", "")
    for a, b in itertools.combinations(frames, 2):
        difference = np.abs(frames[a] - frames[b]).mean()
        assert difference > VISIBLE, f"{a} and {b} look alike (mean pixel difference {difference:.1f})"
    # The model is in the file's metadata, for whoever needs to tell after the vote.
    assert all(f"model={model}" in comments[model, seed] for model, seed in comments)


def test_two_unseeded_takes_of_one_model_differ(make_sandbox, tmp_path):
    srv = make_sandbox(**DONE)
    with client(srv.base_url) as c:
        ids = [submit_kling(c, prompt="A red fox runs through snow").json()["data"]["task_id"] for _ in range(2)]
        urls = [result_url("kling", c.get(poll_path("kling", task_id)).json()) for task_id in ids]
    first, second = (decoded(url, tmp_path / f"take{i}.mp4")[0] for i, url in enumerate(urls))
    assert np.abs(first - second).mean() > VISIBLE


def test_the_overlay_names_the_take_and_prompt_never_the_model():
    spec = ClipSpec("gen4_turbo", "A paper airplane glides across a desk", 640, 360, 2.0, variant=1)
    lines = overlay_lines(spec)
    assert "A paper airplane glides across a desk" in " ".join(lines) and "take B" in lines[0]
    text = " ".join(lines).lower()
    for name in ("gen4_turbo", "gen4", "runway", "turbo"):
        assert name not in text
    # The drawn text is the same pixels whatever the model: no model id can be hidden in it.
    for other in ("veo3.1", "sora-2", "kling-v2-1-master"):
        assert np.array_equal(_text_mask(spec), _text_mask(dataclasses.replace(spec, model=other)))
