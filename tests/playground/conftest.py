"""AppTest fixtures: the real app in sandbox mode, with its own data dir and clips namespace."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Environment for one app instance; releases the runtime (runner + sandbox) afterwards."""
    clips = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    data = tmp_path / "data"
    monkeypatch.setenv("DAILIES_DATA_DIR", str(data))
    monkeypatch.setenv("DAILIES_CLIPS_DIR", str(clips))
    monkeypatch.setenv("DAILIES_SANDBOX_PORT", "0")
    monkeypatch.setenv("DAILIES_SANDBOX_TIME_SCALE", "0.005")
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    monkeypatch.delenv("COMETAPI_BASE_URL", raising=False)
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    yield data
    st.cache_resource.clear()
    shutil.rmtree(clips, ignore_errors=True)


@pytest.fixture
def app(app_env: Path) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
