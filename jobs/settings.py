"""Where the engine keeps its ledger and clips, resolved from the environment in one place."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LEDGER_FILENAME = "ledger.sqlite3"


def data_dir() -> Path:
    """`DAILIES_DATA_DIR`, else `<project>/data`."""
    raw = os.environ.get("DAILIES_DATA_DIR", "").strip()
    return Path(raw).expanduser() if raw else PROJECT_ROOT / "data"


def ledger_path() -> Path:
    return data_dir() / LEDGER_FILENAME


def clips_dir() -> Path:
    """`DAILIES_CLIPS_DIR`, else `<project>/static/clips` (the folder Streamlit serves)."""
    raw = os.environ.get("DAILIES_CLIPS_DIR", "").strip()
    return Path(raw).expanduser() if raw else PROJECT_ROOT / "static" / "clips"
