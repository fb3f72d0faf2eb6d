"""A best–worst round on the Review page: three unnamed clips of one prompt, best and worst picked, the verdict
stored as a best–worst vote (its implied pairs reach Rankings), names only after the vote."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from jobs.boards import Boards
from review.bestworst import BestWorstStore
from tests.review.review_helpers import ROOT, page_text, video_urls
from tests.review.test_review_page import _board_of_three, _forbidden

PAGE = str(ROOT / "app_pages" / "blind_review.py")


def test_a_best_worst_round_is_blind_until_the_vote_and_stores_the_verdict(app_env) -> None:
    jobs = _board_of_three(app_env)
    forbidden = _forbidden(jobs)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    board = Boards(app_env.data_dir / "ledger.sqlite3").for_run("run-1")
    at.multiselect(key="review_boards").set_value([board.id])
    at.run()
    at.button(key="bw_start").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    urls = video_urls(at)
    assert len(urls) == 3 and all(re.fullmatch(r"/app/static/clips/test-[0-9a-f]{12}/review/[0-9a-f]{64}\.mp4", u)
                                  for u in urls), urls
    text = page_text(at)
    leaks = [w for w in forbidden if w.lower() in text.lower()]
    assert not leaks, f"the page names a model before the vote: {leaks}"
    assert "Record vote" in text and "Prompt:" in text

    (best,) = [s for s in at.get("button_group") if "bw_best" in s.key]
    (worst,) = [s for s in at.get("button_group") if "bw_worst" in s.key]
    best.set_value("B")
    worst.set_value("B")
    at.run()
    assert any("pick two different clips" in w.value for w in at.warning)
    assert at.button(key="bw_vote:0").disabled
    [s for s in at.get("button_group") if "bw_worst" in s.key][0].set_value("C")
    at.run()
    at.button(key="bw_vote:0").click()
    at.run()
    assert not at.exception

    store = BestWorstStore.in_data_dir(app_env.data_dir)
    (ballot,) = store.ballots()
    store.close()
    shown = list(ballot.jobs)
    by_id = {j.id: j.model_id for j in jobs}
    assert sorted(shown) == sorted(by_id)  # the three clips, in the order shown
    assert ballot.pairs[0] == (by_id[shown[1]], by_id[shown[0]], 1.0)  # B over A ...
    assert ballot.pairs[-1] == (by_id[shown[0]], by_id[shown[2]], 1.0)  # ... and A over C, the worst
    assert any("B was" in m.value for m in at.markdown)  # the names, now
    at.button(key="bw_next:0").click()
    at.run()
    assert any("Every set has your verdict" in s.value for s in at.success)
