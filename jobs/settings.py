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


ENGINE_ENV = "DAILIES_ENGINE"
ENGINE_MODES = ("in-process", "external")


def engine_mode() -> str:
    """`DAILIES_ENGINE`: unset (or `in-process`) runs the engine inside the app / CLI process; `external`
    admits work into the ledger and leaves sending, polling and downloading to `python -m jobs worker`."""
    raw = os.environ.get(ENGINE_ENV, "").strip().lower()
    if raw in ("", "in-process"):
        return "in-process"
    if raw == "external":
        return "external"
    raise ValueError(f"{ENGINE_ENV}: {raw!r} is not a mode; allowed: unset, in-process, external")


def external_engine() -> bool:
    return engine_mode() == "external"


def clips_url_prefix(clips: Path | None = None) -> str:
    """The URL Streamlit serves a local clips folder at (only static/ next to app.py is served): what a
    worker or the CLI records for the app's pages, so their clips play wherever the folder is under static/."""
    folder = (clips or clips_dir()).resolve()
    try:
        rel = folder.relative_to((PROJECT_ROOT / "static").resolve())
    except ValueError:
        return "/app/static/clips"
    return "/app/static/" + rel.as_posix()
