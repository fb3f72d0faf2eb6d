"""The Rankings page pools every reviewer's votes, filters by category and offers the CSV."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from providers.catalog import load_catalog
from review.store import ReviewStore
from tests.review.review_helpers import ROOT

PAGE = str(ROOT / "app_pages" / "rankings.py")


def test_rankings_pool_votes_and_break_down_by_category(app_env) -> None:
    store = ReviewStore.in_data_dir(app_env.data_dir)
    ads = store.create_review("ads", [("j1", "j2")], {"j1": "a" * 64, "j2": "b" * 64}, tags=["ads"])
    people = store.create_review("people", [("j1", "j2")], {"j1": "a" * 64, "j2": "b" * 64}, tags=["people"])
    for reviewer in ("ana", "bo", "cy"):  # three people, one pool: Veo wins on ads
        store.add_vote(ads.id, "j1", "j2", "veo3.1-fast", "kling-v1-6", "a", reviewer=reviewer)
    for reviewer in ("ana", "bo", "cy", "di"):  # and Kling wins on people, by more
        store.add_vote(people.id, "j1", "j2", "veo3.1-fast", "kling-v1-6", "b", reviewer=reviewer)
    store.close()
    names = {m: load_catalog().get(m).display_name for m in ("veo3.1-fast", "kling-v1-6")}

    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    overall = at.dataframe[0].value
    assert list(overall["model"]) == [names["kling-v1-6"], names["veo3.1-fast"]]
    assert list(overall["votes"]) == [7, 7] and list(overall["won"]) == [4, 3]
    assert at.metric[0].value == "7"

    at.selectbox(key="rank_category").set_value("ads")
    at.run()
    by_ads = at.dataframe[0].value
    assert list(by_ads["model"]) == [names["veo3.1-fast"], names["kling-v1-6"]]
    assert list(by_ads["votes"]) == [3, 3]
    assert at.metric[0].value == "3"
    assert at.get("download_button"), "the ranking can be exported as CSV"


def test_rankings_without_votes_point_to_review(app_env) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    assert "Start a blind review" in at.info[0].value
