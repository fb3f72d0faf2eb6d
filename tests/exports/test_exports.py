"""Exports: the player page, a board as JSON, and code that rebuilds each take's exact request."""

from __future__ import annotations

import ast
import io
import json
import re
import zipfile

from exports.board import board_json
from exports.code import code_bundle, submission_for, take_scripts
from exports.player import PlayerClip, player_html
from jobs.ledger import Job, JobState
from jobs.runner import submission_mapping_json
from providers.catalog import load_catalog
from providers.mapping import prepare
from providers.recipe import ImageInput, ModelOptions, Recipe

CATALOG = load_catalog()


def _job(model: str, recipe: Recipe, options: ModelOptions, task: str) -> Job:
    sub = prepare(recipe, model, options, CATALOG)
    return Job(id=f"job-{task}", run_id="run", take=0, model_id=model, family=sub.family, backend="sandbox",
               base_url="http://127.0.0.1:8765", key_fingerprint="fp", recipe_json=recipe.to_json(),
               options_json=json.dumps(options.to_dict()), mapping_json=submission_mapping_json(sub), task_id=task,
               state=JobState.DOWNLOADED, est_low_usd=sub.cost.low_usd, est_high_usd=sub.cost.high_usd,
               submitted_at=100.0, detected_at=160.0, provider_finished_at=150.0,
               clip_meta_json=json.dumps({"probe": {"duration_s": 5.1, "width": 1280, "height": 720}}))


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1280, 768), (1, 2, 3)).save(buf, format="PNG")
    return buf.getvalue()


KITE = Recipe(prompt="a red kite", duration_s=5, seed=7)
JOBS = [_job("kling-v1-6", KITE, ModelOptions.of(mode="pro"), "k-1"),
        _job("gen3a_turbo", Recipe(prompt="a red kite", duration_s=5, first_frame=ImageInput(_png(), "image/png")),
             ModelOptions(), "r-1")]


def test_player_is_one_page_with_one_control_bar_and_escaped_labels() -> None:
    page = player_html([PlayerClip("/app/static/clips/a.mp4", "<b>Veo</b>"), PlayerClip("b.mp4", "Kling")],
                       standalone=True, title="Board")
    assert page.startswith("<!doctype html>") and page.count('<video class="sync"') == 2
    assert page.count('id="sync-play"') == 1 and "&lt;b&gt;Veo&lt;/b&gt;" in page and "<b>Veo</b>" not in page
    assert re.search(r"const SYNC = \{\"hardSeek\": 0\.15", page)


def test_board_json_has_recipes_parameters_seeds_task_ids_costs_and_timings() -> None:
    doc = json.loads(board_json("Kites", JOBS, CATALOG, board_id="b1", run_id="run"))
    kling, runway = doc["takes"]
    assert doc["schema"] == "dailies.board/1" and doc["board"]["name"] == "Kites"
    assert kling["task_id"] == "k-1" and kling["options"] == {"mode": "pro"} and kling["seed"]["requested"] == 7
    assert kling["cost"]["estimated_high_usd"] == 2.64 and kling["cost"]["recorded_usd"] == 2.64
    assert kling["timings"]["render_s"] == 50.0
    image = runway["recipe"]["first_frame"]
    assert "data_b64" not in image and len(image["sha256"]) == 64 and image["bytes"] > 0


def test_code_scripts_rebuild_the_exact_request_of_each_take() -> None:
    scripts = take_scripts(JOBS, CATALOG, "python")
    assert [s.filename for s in scripts] == ["take-01-kling-v1-6.py", "take-02-gen3a-turbo.py"]
    ast.parse(scripts[0].text)
    assert "'mode': 'pro'" in scripts[0].text and "'seed': 7" not in scripts[1].text
    rebuilt = submission_for(JOBS[0], CATALOG)
    assert rebuilt.request.json["mode"] == "pro"
    bundle = zipfile.ZipFile(io.BytesIO(code_bundle(JOBS, CATALOG, "node", title="Kites")))
    assert sorted(bundle.namelist()) == ["README.md", "take-01-kling-v1-6.mjs", "take-02-gen3a-turbo.mjs"]
    assert "k-1" in bundle.read("README.md").decode()
    assert "COMETAPI_KEY" in bundle.read("take-01-kling-v1-6.mjs").decode()


def test_a_model_switched_off_since_is_still_exported() -> None:
    # The take was made while Sora was switched on; the catalog has it off now.
    on = load_catalog(overrides={"sora-2": {"available": True}})
    sub = prepare(Recipe(prompt="a red kite"), "sora-2", ModelOptions(), on)
    sora = Job(id="s", run_id="r", take=0, model_id="sora-2", family="sora", backend="live", base_url="x",
               key_fingerprint=None, recipe_json=Recipe(prompt="a red kite").to_json(),
               mapping_json=submission_mapping_json(sub))
    (script,) = take_scripts([sora], CATALOG, "python")
    assert "SUBMIT_PATH = '/v1/videos'" in script.text
