"""Compare page: a run is a board; its takes show requested vs delivered, keep/discard, notes, re-run and export."""

from __future__ import annotations

import json
import re

from ui_helpers import open_page, rerun

from components.board_view import BAD_MARK, OK_MARK
from jobs.ledger import Ledger


def _iframe_html(at) -> str:
    (frame,) = at.get("iframe")
    return frame.proto.srcdoc


def test_a_run_is_a_board_of_its_three_takes_in_one_synchronised_player(seeded) -> None:
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    html = _iframe_html(at)
    srcs = re.findall(r'<video class="sync"[^>]* src="([^"]+)"', html)
    assert len(srcs) == 3 and all(s.startswith("/app/static/clips/test-") for s in srcs)
    for control in ("sync-play", "sync-seek", "sync-loop", "sync-speed", "sync-back", "sync-fwd", "sync-sound"):
        assert f'id="{control}"' in html
    cards = [m.value for m in at.markdown if m.value.startswith("**")]
    assert {"**Veo 3.1 Fast** · take 1", "**Kling v1.6** · take 1",
            "**Runway Gen-3 Alpha Turbo** · take 1"} <= set(cards)


def test_runway_1280x768_rendered_as_asked_is_not_flagged_and_tables_compare_only_what_was_asked(seeded) -> None:
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    facts = [m.value for m in at.markdown if m.value.startswith("**duration**")]
    assert len(facts) == 3
    assert any("**resolution** 1280x768 → 1280x768 " + OK_MARK in f for f in facts)
    # Kling image-to-video follows the input image: no size was requested, so none is compared.
    assert any("**resolution** not set → 1200x720  \n" in f for f in facts)
    assert not any(BAD_MARK in f for f in facts)
    assert not at.main.warning  # the sidebar may warn about jobs needing attention


def test_settings_ignored_take_is_flagged_with_what_was_asked_and_what_came(seeded) -> None:
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    run_id = ledger.get(seeded.ignored_job).run_id
    ledger.close()
    at = open_page("app_pages/compare.py", query={"run": run_id})
    warnings = [w.value for w in at.warning]
    assert any("resolution: asked 1280x720, got 854x480" in w for w in warnings), warnings
    assert any("duration: asked 8 s, got 5.00 s" in w for w in warnings), warnings
    facts = next(m.value for m in at.markdown if m.value.startswith("**duration**"))
    assert facts.count(BAD_MARK) == 2 and facts.count(OK_MARK) == 1  # sound was asked for and delivered


def test_keep_discard_and_note_are_written_to_the_ledger(seeded) -> None:
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    runway = seeded.board_jobs["gen3a_turbo"]
    at.button(key=f"keep:{runway}").click()
    rerun(at)
    at.text_input(key=f"note:{runway}").input("sharpest motion")
    rerun(at)
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    job = ledger.get(runway)
    ledger.close()
    assert job.kept == 1 and job.note == "sharpest motion"
    assert at.button(key=f"keep:{runway}").proto.type == "primary"


def test_adding_a_clip_from_history_puts_it_in_the_player(seeded) -> None:
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    at.multiselect(key="compare_add").select(seeded.spare_job)
    rerun(at)
    at.button(key="compare_add_go").click()
    rerun(at)
    assert len(re.findall(r'<video class="sync"', _iframe_html(at))) == 4


def test_rerun_with_kling_in_pro_mode_opens_a_new_board_with_the_changed_take(seeded) -> None:
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    board_id = at.selectbox(key="compare_board").value
    at.selectbox(key=f"rerun_setting:{board_id}").set_value("kling_mode")
    rerun(at)
    at.button(key=f"rerun_go:{board_id}").click()
    rerun(at)
    assert at.selectbox(key="compare_board").value != board_id
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    try:
        newest = ledger.list_jobs(limit=3)
        kling = [j for j in newest if j.model_id == "kling-v1-6"]
        assert len(kling) == 1 and kling[0].options == {"mode": "pro"}
        assert {j.model_id for j in newest} == {"veo3.1-fast", "kling-v1-6", "gen3a_turbo"}
        assert all(j.backend == "sandbox" for j in newest)
    finally:
        ledger.close()


def test_board_exports_json_and_code_for_each_take(seeded) -> None:
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Board as JSON", "Code: Python", "Code: Node.js"]
    # The content itself is checked in tests/exports; here, that the page exports this board's takes.
    from exports.board import board_json
    from providers.catalog import load_catalog

    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    jobs = ledger.get_many(seeded.board_jobs.values())
    ledger.close()
    doc = json.loads(board_json("b", jobs, load_catalog()))
    assert {t["task_id"] for t in doc["takes"]} == {j.task_id for j in jobs}


def test_a_range_priced_take_reads_reserved_at_the_top_of_its_range_never_recorded(seeded) -> None:
    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    captions = [c.value for c in at.caption]
    kling = next(c for c in captions if "est. $0.13–$2.64" in c)
    assert "reserved $2.64 (top of the price range; no exact price)" in kling and "recorded" not in kling, kling
    assert any("recorded $0.30" in c or "recorded $0.32" in c for c in captions), captions  # exact prices still do


def test_what_another_process_writes_shows_at_the_next_rerun(seeded) -> None:
    """Compare caches on what each part depends on (job and board counters, job counts): each kind of outside write
    must still reach the open page."""
    from jobs.boards import Boards

    at = open_page("app_pages/compare.py", query={"run": seeded.board_run})
    board_id = at.selectbox(key="compare_board").value
    boards_before = len(at.selectbox(key="compare_board").options)
    runway = seeded.board_jobs["gen3a_turbo"]
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    boards = Boards(ledger.database)
    try:
        ledger.update(runway, kept=1)  # a take on the open board changes (another replica's click)
        rerun(at)
        assert at.button(key=f"keep:{runway}").proto.type == "primary"
        ledger.create_job(run_id="run-from-elsewhere", model_id="veo3.1-fast", family="veo", backend="sandbox",
                          base_url="http://127.0.0.1:9", recipe_json='{"prompt": "sent from the CLI"}',
                          state="failed")
        rerun(at)  # a new run becomes a board
        options = at.selectbox(key="compare_board").options
        assert len(options) == boards_before + 1 and any("sent from the CLI" in o for o in options), options
        fresh = ledger.create_job(run_id="run-rendering-elsewhere", model_id="veo3.1-fast", family="veo",
                                  backend="sandbox", base_url="http://127.0.0.1:9", state="running",
                                  recipe_json='{"prompt": "rendered by a worker"}')
        rerun(at)
        assert not any(fresh.id[:6] in o for o in at.multiselect(key="compare_add").options)
        ledger.transition(fresh.id, "downloaded", clip_url="/app/static/clips/elsewhere.mp4")  # a worker's download
        rerun(at)
        assert any(fresh.id[:6] in o for o in at.multiselect(key="compare_add").options)
        boards.add(board_id, [seeded.spare_job])  # a take added to the open board elsewhere
        rerun(at)
        assert at.selectbox(key="compare_board").value == board_id
        assert len(re.findall(r'<video class="sync"', _iframe_html(at))) == 4
    finally:
        boards.close()
        ledger.close()
