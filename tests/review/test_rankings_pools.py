"""The Rankings page keeps pools apart (text-to-video / image-to-video, with / without sound as measured on the
clips), counts best–worst votes in the same fit, and states the minimum-vote and preliminary rules."""

from __future__ import annotations

import base64
import json

from streamlit.testing.v1 import AppTest

from review.bestworst import BestWorstStore
from review.store import ReviewStore
from tests.review.review_helpers import ROOT, finished_job

PAGE = str(ROOT / "app_pages" / "rankings.py")
IMAGE = {"data_b64": base64.b64encode(b"png").decode(), "mime": "image/png", "name": "first.png"}


def _as_image_to_video(env, job):
    recipe = {**job.recipe, "first_frame": IMAGE}
    return env.ledger.update(job.id, recipe_json=json.dumps(recipe))


def test_pools_rank_apart_and_best_worst_votes_count(app_env) -> None:
    env = app_env
    run = "r1"
    t2v = {m: finished_job(env.ledger, env.clips, m, "a kite", run_id=run, work_dir=env.work_dir)
           for m in ("veo3.1-fast", "kling-v1-6", "sora-2")}
    i2v = {m: _as_image_to_video(env, finished_job(env.ledger, env.clips, m, "a kite", run_id=run,
                                                   work_dir=env.work_dir)) for m in ("veo3.1-fast", "kling-v1-6")}
    store = ReviewStore.in_data_dir(env.data_dir)
    review = store.create_review("r", [(t2v["veo3.1-fast"].id, t2v["kling-v1-6"].id)],
                                 {j.id: "a" * 64 for j in [*t2v.values(), *i2v.values()]})
    for n in range(3):  # text to video: Veo beats Kling
        store.add_vote(review.id, t2v["veo3.1-fast"].id, t2v["kling-v1-6"].id, "veo3.1-fast", "kling-v1-6", "a",
                       reviewer=f"r{n}")
    for n in range(4):  # image to video: Kling beats Veo
        store.add_vote(review.id, i2v["veo3.1-fast"].id, i2v["kling-v1-6"].id, "veo3.1-fast", "kling-v1-6", "b",
                       reviewer=f"r{n}")
    store.add_vote(review.id, t2v["veo3.1-fast"].id, i2v["kling-v1-6"].id, "veo3.1-fast", "kling-v1-6", "a")
    store.close()
    bw = BestWorstStore.in_data_dir(env.data_dir)
    order = ["sora-2", "veo3.1-fast", "kling-v1-6"]
    bw.add([t2v[m].id for m in order], order, best=0, worst=2, prompt="a kite")  # Sora best, Kling worst
    bw.close()

    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="rank_pool").value.label == "Image to video · no audio"  # the pool with most votes
    table = at.dataframe[0].value
    assert list(table["model"])[0].startswith("Kling")
    assert any("1 vote compared clips from different pools" in c.value for c in at.caption)
    assert any("needs 3 votes for a rank" in c.value and "preliminary below 10" in c.value for c in at.caption)

    at.selectbox(key="rank_pool").set_value(next(o for o in at.selectbox(key="rank_pool").options
                                                 if o.startswith("Text to video")))
    at.run()
    table = at.dataframe[0].value
    assert at.metric[0].value == "4"  # three A/B votes and one best–worst vote
    rows = {m.split(" ")[0]: (rank, votes, status) for m, rank, votes, status in
            zip(table["model"], table["rank"], table["votes"], table["status"], strict=True)}
    assert rows["Sora"] == ("—", 1, "too few votes")  # one vote: listed, not ranked
    assert rows["Veo"][1:] == (4, "preliminary") and rows["Kling"][1:] == (4, "preliminary")
    assert list(table["model"])[-1].startswith("Sora")
