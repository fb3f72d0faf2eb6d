"""The Review page in AppTest: before a vote nothing on the page names a model; after it, the names appear."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from jobs.boards import Boards
from providers.catalog import load_catalog
from review.store import ReviewStore
from tests.review.review_helpers import ROOT, display_names, finished_job, page_text, video_urls

PAGE = str(ROOT / "app_pages" / "blind_review.py")
MODELS = ("veo3.1-fast", "kling-v1-6", "gen4_turbo")


def _board_of_three(env) -> list:
    return [finished_job(env.ledger, env.clips, m, "A paper airplane glides across a desk", run_id="run-1",
                         work_dir=env.work_dir, task_id=f"{m.split('-')[0]}-task-{i}")
            for i, m in enumerate(MODELS)]


def _forbidden(jobs) -> list[str]:
    catalog = load_catalog()
    words = {w for j in jobs for w in display_names(catalog, j.model_id)}
    words |= {j.task_id for j in jobs} | {j.id for j in jobs}
    words |= {j.clip_path.rsplit("/", 1)[-1] for j in jobs} | {j.clip_url for j in jobs}
    return sorted(words)


def test_blind_pairs_hide_the_model_until_the_vote(app_env) -> None:
    jobs = _board_of_three(app_env)
    forbidden = _forbidden(jobs)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    board = Boards(app_env.data_dir / "ledger.sqlite3").for_run("run-1")
    assert board is not None
    at.text_input(key="reviewer_name").set_value("ana")
    at.multiselect(key="review_boards").set_value([board.id])
    at.run()
    at.text_input(key=f"review_tags:{board.id}").set_value("Product, desk")
    at.button(key="review_start").click()
    at.run()
    assert not at.exception

    store = ReviewStore.in_data_dir(app_env.data_dir)
    (review,) = store.list_reviews()
    assert len(review.pairs) == 3, "three models give three cross-model pairs"
    assert review.tags == ("desk", "product")
    for n, _ in enumerate(review.pairs):
        text = page_text(at)
        urls = video_urls(at)
        assert len(urls) == 2
        for url in urls:
            assert re.fullmatch(r"/app/static/clips/test-[0-9a-f]{12}/review/[0-9a-f]{64}\.mp4", url), url
        leaks = [w for w in forbidden if w.lower() in text.lower()]
        assert not leaks, f"the page names a model before the vote: {leaks}"
        assert "Prompt:" in text and "A is better" in text
        # The blind player shows no clock and plays both over the shorter length; one sound toggle.
        (player,) = at.get("iframe")
        doc = player.proto.srcdoc
        assert 'id="sync-time"' not in doc and '"shortest": true' in doc
        assert 'class="icon tile-sound"' not in doc and doc.count('id="sync-sound"') == 1
        # The categories typed at the start are the ones offered; the first verdict is tagged "product" only.
        (tags,) = [p for p in at.button_group if p.key and p.key.startswith("tags:")]
        assert list(tags.options) == ["desk", "product"]
        if n == 0:
            tags.set_value(["product"])

        at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("vote_a:"))).click()
        at.run()
        assert not at.exception
        text = page_text(at)
        left, right = store.votes()[-1].job_a, store.votes()[-1].job_b
        by_id = {j.id: j for j in jobs}
        for job_id, label in ((left, "A"), (right, "B")):
            name = load_catalog().get(by_id[job_id].model_id).display_name
            assert f"{label} was {name}" in text
        at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("next:"))).click()
        at.run()

    votes = store.votes(review_id=review.id)
    assert len(votes) == 3 and all(v.winner == "a" and v.reviewer == "ana" for v in votes)
    assert [v.tags for v in votes] == [("product",), (), ()]
    assert len(store.votes(tag="product")) == 1 and store.votes(tag="desk") == []
    assert {frozenset((v.model_a, v.model_b)) for v in votes} == {frozenset(p) for p in
                                                                  [MODELS[:2], MODELS[1:], (MODELS[0], MODELS[2])]}
    assert "Every pair in this review has your verdict" in page_text(at)
    # The blind files are byte-identical copies of the takes.
    for job in jobs:
        assert (app_env.clips_dir / "review" / f"{review.clips[job.id]}.mp4").read_bytes() == \
            app_env.clips.path_of(job.clip_path).read_bytes()
    store.close()


def test_a_board_exports_as_a_demo_pack_from_the_review_page(app_env) -> None:
    _board_of_three(app_env)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    at.button(key="demopack:go").click()
    at.run()
    assert not at.exception
    assert "Exported" in at.success[0].value
    (folder,) = [p for p in (app_env.data_dir / "exports").iterdir() if p.is_dir()]
    assert sorted(p.name for p in (folder / "clips").iterdir()) == ["01.mp4", "02.mp4", "03.mp4"]
    assert folder.with_suffix(".zip").is_file()
    assert at.get("download_button"), "the zip is offered for download"


def test_a_lone_board_is_picked_for_you_and_an_empty_pick_says_why_start_is_greyed(app_env) -> None:
    _board_of_three(app_env)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    board = Boards(app_env.data_dir / "ledger.sqlite3").for_run("run-1")
    assert at.multiselect(key="review_boards").value == [board.id]  # the only board: already picked
    assert not at.button(key="review_start").disabled
    at.multiselect(key="review_boards").set_value([])
    at.run()
    assert at.button(key="review_start").disabled
    assert "Pick at least one board above to start a review." in [c.value for c in at.caption]
