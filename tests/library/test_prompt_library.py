"""Save a recipe with per-model variants, load it back, start a run from it against the sandbox, see its ranking."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.clipstore import ClipStore
from jobs.ledger import JobState, Ledger
from jobs.runner import Runner
from library.prompts import LibraryError, ModelVariant, PromptLibrary
from library.results import recipe_ranking
from providers.catalog import load_catalog
from providers.client import Backend
from providers.recipe import Recipe
from review.store import ReviewStore


def test_save_load_start_run_and_rank(tmp_path: Path, sandbox) -> None:
    catalog = load_catalog()
    library = PromptLibrary.in_data_dir(tmp_path)
    base = Recipe(prompt="A paper airplane glides across a sunlit desk", duration_s=5, aspect_ratio="16:9")
    saved = library.save("Paper plane", base, tags=["Product", " desk "], catalog=catalog, variants=[
        ModelVariant("veo3.1-fast"),
        ModelVariant("kling-v1-6", prompt="A paper airplane glides, slow dolly in",
                     negative_prompt="blur, extra wings", options={"mode": "pro"}),
    ])
    library.close()

    again = PromptLibrary.in_data_dir(tmp_path)  # a restart: everything comes back from disk
    loaded = again.get(saved.id)
    assert loaded == saved
    assert loaded.tags == ("desk", "product") and loaded.model_ids == ("veo3.1-fast", "kling-v1-6")
    assert again.list(tag="product") == [loaded] and again.list(text="airplane") == [loaded]
    assert again.list(tag="people") == []

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    runner = Runner(ledger, ClipStore(tmp_path / "clips"), catalog, concurrency_cap=8).start()
    try:
        backend = Backend(base_url=sandbox.base_url, api_key="sk-sandbox", sandbox=True,
                          time_scale=sandbox.config.time_scale)
        started = again.start_run(loaded, runner, backend, request_id="click-1", owner="ana@example.com")
        assert len(started.job_ids) == 2
        assert {j.owner for j in ledger.get_many(started.job_ids)} == {"ana@example.com"}
        assert runner.wait_for(lambda: all(j.state == JobState.DOWNLOADED for j in ledger.get_many(started.job_ids)),
                               timeout=30), [j.state for j in ledger.get_many(started.job_ids)]
        jobs = {j.model_id: j for j in ledger.get_many(started.job_ids)}
        # One run (one board), each model with its own variant of the recipe.
        assert {j.run_id for j in jobs.values()} == {started.run_id}
        assert jobs["veo3.1-fast"].recipe["prompt"] == base.prompt
        assert jobs["kling-v1-6"].recipe["prompt"] == "A paper airplane glides, slow dolly in"
        assert jobs["kling-v1-6"].recipe["negative_prompt"] == "blur, extra wings"
        assert jobs["kling-v1-6"].options == {"mode": "pro"}
        assert again.runs(saved.id) == [started.run_id]
        assert again.recipe_for_run(started.run_id) == loaded
        assert again.tags_for_runs([started.run_id]) == ("desk", "product")

        store = ReviewStore.in_data_dir(tmp_path)
        assert recipe_ranking(again, ledger, store, saved.id) == []
        review = store.create_review("r", [(jobs["veo3.1-fast"].id, jobs["kling-v1-6"].id)],
                                     {j.id: j.clip_sha256 for j in jobs.values()})
        store.add_vote(review.id, jobs["veo3.1-fast"].id, jobs["kling-v1-6"].id, "veo3.1-fast", "kling-v1-6", "b")
        ranking = recipe_ranking(again, ledger, store, saved.id)
        assert [(r.model_id, r.wins, r.votes) for r in ranking] == [("kling-v1-6", 1, 1), ("veo3.1-fast", 0, 1)]
        store.close()
    finally:
        runner.stop()
        ledger.close()
        again.close()


def test_library_refuses_bad_recipes_with_the_field_named(tmp_path: Path) -> None:
    catalog = load_catalog()
    library = PromptLibrary.in_data_dir(tmp_path)
    recipe = Recipe(prompt="x")
    veo = [ModelVariant("veo3.1-fast")]
    with pytest.raises(LibraryError, match="name: give the recipe a name"):
        library.save("  ", recipe, variants=veo)
    with pytest.raises(LibraryError, match="prompt: a saved recipe needs a prompt"):
        library.save("n", Recipe(prompt=" "), variants=veo)
    with pytest.raises(LibraryError, match="models: pick at least one model"):
        library.save("n", recipe)
    with pytest.raises(LibraryError, match="variants: unknown model 'veo9'; allowed: veo3-fast"):
        library.save("n", recipe, variants=[ModelVariant("veo9")], catalog=catalog)
    library.save("n", recipe, variants=veo)
    with pytest.raises(LibraryError, match="name: 'n' is already used"):
        library.save("n", recipe, variants=veo)
    library.close()
