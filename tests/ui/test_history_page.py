"""History page: every job newest first with thumbnails, filters, a job's detail and actions, needs-attention list."""

from __future__ import annotations

import re
from pathlib import Path

from ui_helpers import open_page, rerun

from jobs.ledger import JobState, Ledger


def _count(at) -> str:
    return next(m.value for m in at.markdown if " job" in m.value and "page" in m.value)


def _grid(at) -> str:
    return next(h.proto.body for h in at.get("html") if "hgrid" in h.proto.body)


def test_every_job_newest_first_with_thumbnails(seeded) -> None:
    at = open_page("app_pages/history.py")
    assert _count(at).startswith("**9 jobs**")
    grid = _grid(at)
    thumbs = re.findall(r'<img src="([^"]+)"', grid)
    assert len(thumbs) == 5 and all(t.startswith("/app/static/clips/test-") and t.endswith(".jpg") for t in thumbs)
    ids = re.findall(r'id="job-([0-9a-f]+)"', grid)
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    newest_first = [j.id for j in ledger.list_jobs()]
    ledger.close()
    assert ids == newest_first


def test_filters_by_text_model_state_and_kept(seeded) -> None:
    at = open_page("app_pages/history.py")
    at.text_input(key="h_text").input("lighthouse")
    rerun(at)
    assert _count(at).startswith("**1 job**")
    at.text_input(key="h_text").input("")
    at.multiselect(key="h_models").select("kling-v1-6")
    rerun(at)
    assert _count(at).startswith("**5 jobs**")  # board take, content-policy failure, three needing attention
    at.multiselect(key="h_states").select("failed")
    rerun(at)
    assert _count(at).startswith("**1 job**") and seeded.failed_job in _grid(at)
    at.multiselect(key="h_states").unselect("failed")
    at.multiselect(key="h_models").unselect("kling-v1-6")
    at.selectbox(key="h_kept").set_value("kept")
    rerun(at)
    assert _count(at).startswith("**1 job**") and seeded.board_jobs["veo3.1-fast"] in _grid(at)
    at.selectbox(key="h_kept").set_value("discarded")
    rerun(at)
    assert _count(at).startswith("**1 job**") and seeded.board_jobs["kling-v1-6"] in _grid(at)


def test_date_filter_excludes_days_without_jobs(seeded) -> None:
    import datetime as dt

    at = open_page("app_pages/history.py")
    at.date_input(key="h_dates").set_value((dt.date(2020, 1, 1), dt.date(2020, 1, 2)))
    rerun(at)
    assert _count(at).startswith("**0 jobs**")
    today = dt.date.today()
    at.date_input(key="h_dates").set_value((today, today))
    rerun(at)
    assert _count(at).startswith("**9 jobs**")


def test_job_detail_shows_recipe_mapping_raw_status_and_events(seeded) -> None:
    at = open_page("app_pages/history.py", query={"job": seeded.ignored_job})
    assert at.selectbox(key="h_open").value == seeded.ignored_job
    assert [t.label for t in at.tabs] == ["Recipe", "Mapping report", "Raw status", "Timings & events"]
    recipe = at.get("json")[0].proto.body
    assert "a lighthouse in a storm at night" in recipe
    assert any("resolution: asked 1280x720, got 854x480" in w.value for w in at.warning)
    assert at.get("download_button")[0].label == "Download MP4"
    assert [v.url for v in at.get("video")] == [f"/app/static/clips/{seeded.clips_dir.name}/"
                                                 + Path(_clip_path(seeded, seeded.ignored_job)).name]
    steps = at.dataframe[-2].value
    assert list(steps["step"])[:2] == ["Admitted", "Sent to the provider"] and list(steps["step"])[-1] == "Downloaded"
    events = at.dataframe[-1].value  # the ledger's events: a blank where there is no earlier state or detail
    assert list(events.columns) == ["at", "from", "to", "detail"] and len(events) >= 3
    assert not events.isin(["None", None]).any().any(), events


def _clip_path(seeded, job_id: str) -> str:
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    path = ledger.get(job_id).clip_path
    ledger.close()
    return path


def test_failed_job_detail_explains_the_failure(seeded) -> None:
    at = open_page("app_pages/history.py", query={"job": seeded.failed_job})
    failures = [e.value for e in at.error if "Charged:" in e.value]
    assert len(failures) == 1, failures  # one message, not one per panel
    text = failures[0]
    print(text)
    # What happened once (the title is not repeated), no "no message" advice when there is a message, and the
    # sandbox's honest answer instead of a live guess.
    assert text.count("content policy") == 1, text
    assert "no message" not in text
    assert "Charged: **no — sandbox**" in text
    assert at.button(key=f"board_retry:{seeded.failed_job}").label == "Retry"


def test_delete_local_clip_removes_the_file_and_the_url(seeded) -> None:
    path = seeded.clips_dir / _clip_path(seeded, seeded.spare_job)
    assert path.exists()
    at = open_page("app_pages/history.py", query={"job": seeded.spare_job})
    at.checkbox(key=f"h_del_ok:{seeded.spare_job}").check()
    rerun(at)
    at.button(key=f"h_del:{seeded.spare_job}").click()
    rerun(at)
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    job = ledger.get(seeded.spare_job)
    ledger.close()
    assert not path.exists() and not path.with_suffix(".jpg").exists()
    assert job.clip_url is None and job.clip_path is None and job.state == JobState.DOWNLOADED


def test_needs_attention_lists_each_problem_with_its_remedy(seeded) -> None:
    at = open_page("app_pages/history.py")
    captions = " ".join(c.value for c in at.caption)
    assert "Resume polling it" in captions and "reconcile there" in captions and "link expired" in captions
    unknown = seeded.attention["submit_unknown"]
    at.button(key=f"att_checked:{unknown}").click()
    rerun(at)
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    job = ledger.get(unknown)
    ledger.close()
    assert job.state == JobState.CANCELED and "provider console" in (job.note or "")
    assert f"att_checked:{unknown}" not in [b.key for b in at.button]


def test_rerun_from_history_submits_the_same_recipe_again(seeded) -> None:
    at = open_page("app_pages/history.py", query={"job": seeded.board_jobs["gen3a_turbo"]})
    ledger = Ledger(seeded.data_dir / "ledger.sqlite3")
    before = ledger.count_jobs()
    at.button(key=f"h_rerun:{seeded.board_jobs['gen3a_turbo']}").click()
    rerun(at)
    at.button(key=f"h_rerun:{seeded.board_jobs['gen3a_turbo']}").click()  # a double click
    rerun(at)
    assert ledger.count_jobs() == before + 1, "the second click must not submit (and pay) again"
    newest = ledger.list_jobs(limit=1)[0]
    original = ledger.get(seeded.board_jobs["gen3a_turbo"])
    ledger.close()
    assert newest.model_id == "gen3a_turbo" and newest.recipe_json == original.recipe_json
    assert newest.run_id != original.run_id


def test_an_empty_history_says_so_instead_of_blaming_the_filters(empty_app) -> None:
    at = open_page("app_pages/history.py")
    assert any(i.value.startswith("No jobs yet") for i in at.info), [i.value for i in at.info]
    at.text_input(key="h_text").input("kite")
    rerun(at)
    assert any(i.value == "No job matches these filters." for i in at.info)
