"""Library recipe insight: per model, how a saved recipe's takes ranked (A/B and best–worst votes on its own
clips only) and which technical flags they raised."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from library.prompts import ModelVariant, PromptLibrary
from library.results import recipe_insight
from providers.catalog import load_catalog
from providers.recipe import Recipe
from review.bestworst import BestWorstStore
from review.store import ReviewStore
from tests.review.review_helpers import ROOT, finished_job

PAGE = str(ROOT / "app_pages" / "prompt_library.py")
MODELS = ("veo3.1-fast", "kling-v1-6", "sora-2")


def _flags(*kinds: str) -> str:
    return json.dumps([{"kind": k, "start_s": 0.0, "end_s": 1.0, "message": f"{k} here", "threshold": "t"}
                       for k in kinds])


def _seed(env):
    library = PromptLibrary.in_data_dir(env.data_dir)
    saved = library.save("Kite", Recipe(prompt="a kite"), catalog=load_catalog(),
                         variants=[ModelVariant(m) for m in MODELS])
    library.link_run(saved.id, "r1")
    jobs = {(m, t): finished_job(env.ledger, env.clips, m, "a kite", run_id="r1", take=t, work_dir=env.work_dir)
            for m in MODELS[:2] for t in range(2)}
    jobs[("sora-2", 0)] = finished_job(env.ledger, env.clips, "sora-2", "a kite", run_id="r1", work_dir=env.work_dir)
    other = finished_job(env.ledger, env.clips, "sora-2", "a kite", run_id="elsewhere", work_dir=env.work_dir)
    env.ledger.update(jobs[("veo3.1-fast", 0)].id, flags_json=_flags("freeze"))
    env.ledger.update(jobs[("veo3.1-fast", 1)].id, flags_json="[]")
    env.ledger.update(jobs[("kling-v1-6", 0)].id, flags_json=_flags("black", "silence"))  # take 1: not checked yet
    store = ReviewStore.in_data_dir(env.data_dir)
    veo, kling = jobs[("veo3.1-fast", 0)].id, jobs[("kling-v1-6", 0)].id
    review = store.create_review("r", [(veo, kling)], {j.id: "a" * 64 for j in [*jobs.values(), other]})
    for n in range(3):
        store.add_vote(review.id, veo, kling, "veo3.1-fast", "kling-v1-6", "b", reviewer=f"r{n}")
    store.add_vote(review.id, veo, other.id, "veo3.1-fast", "sora-2", "a")  # a clip from another run: not counted
    store.close()
    bw = BestWorstStore.in_data_dir(env.data_dir)
    bw.add([veo, kling, jobs[("sora-2", 0)].id], list(MODELS), best=1, worst=0)  # Kling best, Veo worst
    bw.add([veo, kling, other.id], list(MODELS), best=2, worst=1)  # another run's clip: not counted
    ballots = bw.ballots()
    bw.close()
    return library, saved, ballots


def test_per_model_ranks_and_flags_of_one_recipe(app_env) -> None:
    library, saved, ballots = _seed(app_env)
    store = ReviewStore.in_data_dir(app_env.data_dir)
    try:
        insight = recipe_insight(library, app_env.ledger, store, saved.id, samples=0, best_worst=ballots)
    finally:
        store.close()
        library.close()
    by_model = {m.model_id: m for m in insight}
    assert [m.model_id for m in insight][0] == "kling-v1-6"
    kling, veo, sora = by_model["kling-v1-6"], by_model["veo3.1-fast"], by_model["sora-2"]
    assert (kling.takes, kling.downloaded, kling.checked, kling.flagged) == (2, 2, 1, 1)
    assert kling.flags == {"black": 1, "silence": 1} and kling.flag_summary == "black ×1, silence ×1"
    assert (veo.checked, veo.flagged, veo.flag_summary) == (2, 1, "freeze ×1")
    assert sora.flag_summary == "not checked yet"
    assert kling.ranking.votes == 4 and veo.ranking.votes == 4 and sora.ranking.votes == 1  # 3 A/B + 1 best–worst
    assert kling.ranking.wins == 5 and veo.ranking.losses == 5


def test_the_library_page_shows_the_insight_table(app_env) -> None:
    library, _, _ = _seed(app_env)
    library.close()
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    rows = {m.split(" ")[0]: (flags, flagged) for m, flags, flagged in
            zip(table["model"], table["flags"], table["flagged clips"], strict=True)}
    assert rows["Kling"] == ("black ×1, silence ×1", "1/1")
    assert rows["Veo"] == ("freeze ×1", "1/2")
    assert rows["Sora"] == ("not checked yet", "0/0")
    assert list(table["status"])[:2] == ["preliminary", "preliminary"]
