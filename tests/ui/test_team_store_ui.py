"""The app on a team database: a single-user folder moved with `python -m jobs migrate` shows the same in
History, Compare and Settings when the app reads PostgreSQL (and an empty data folder), and Settings names
the database without its password."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from ui_helpers import open_page

from jobs.cli import main
from tests.jobs.test_legacy_upgrade import EXPECTED, FIXTURE


@pytest.fixture
def team_app(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    legacy = Path(shutil.copytree(FIXTURE, tmp_path / "legacy"))
    assert main(["migrate", "--to", pg_url, "--from", str(legacy / "data")], out=io.StringIO()) == 0
    empty = tmp_path / "app-data"  # nothing local: whatever shows comes from PostgreSQL
    empty.mkdir()
    # A password in the URL (trust auth ignores it) must never reach a page.
    with_password = pg_url.replace("postgres@", "postgres:hunter2-secret@", 1)
    for name, value in {"DAILIES_DATABASE_URL": with_password, "DAILIES_DATA_DIR": str(empty),
                        "DAILIES_CLIPS_DIR": str(legacy / "clips"), "DAILIES_SANDBOX_PORT": "0",
                        "DAILIES_AUTH": "none"}.items():
        monkeypatch.setenv(name, value)
    st.cache_resource.clear()
    yield with_password
    st.cache_resource.clear()


def page_text(at) -> str:
    parts: list[str] = []
    for kind in ("markdown", "caption", "subheader", "header", "title", "info", "warning", "success", "metric"):
        parts += [str(getattr(e, "value", "")) for e in at.get(kind)]
    parts += [h.proto.body for h in at.get("html")]
    for kind in ("selectbox", "multiselect", "radio"):
        for e in at.get(kind):
            parts += [str(o) for o in getattr(e, "options", [])]
    return "\n".join(parts)


def test_history_compare_and_settings_show_the_migrated_folder(team_app: str) -> None:
    history = page_text(open_page("app_pages/history.py"))
    assert f"**{len(EXPECTED['jobs'])} jobs**" in history
    for job_id in EXPECTED["jobs"]:
        assert f'id="job-{job_id}"' in history, job_id
    compare = page_text(open_page("app_pages/compare.py"))
    for board in EXPECTED["boards"]:
        assert board["name"] in compare, board["name"]
    settings_page = page_text(open_page("app_pages/settings.py"))
    assert "Database: PostgreSQL (127.0.0.1:" in settings_page
    assert "hunter2-secret" not in settings_page and "Ledger: PostgreSQL" in settings_page
