"""Where the engine keeps its ledger and clips, resolved from the environment in one place."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LEDGER_FILENAME = "ledger.sqlite3"


def data_dir() -> Path:
    """`DAILIES_DATA_DIR`, else `<project>/data`."""
    raw = os.environ.get("DAILIES_DATA_DIR", "").strip()
    return Path(raw).expanduser() if raw else PROJECT_ROOT / "data"


def ledger_path() -> Path:
    return data_dir() / LEDGER_FILENAME


DATABASE_ENV = "DAILIES_DATABASE_URL"
TIMEZONE_ENV = "DAILIES_TIMEZONE"


def database_url() -> str | None:
    """`DAILIES_DATABASE_URL` (a libpq URL, `postgresql://user@host:port/db`), or None for SQLite files."""
    raw = os.environ.get(DATABASE_ENV, "").strip()
    if not raw:
        return None
    from jobs.store.db import is_postgres_url

    if not is_postgres_url(raw):
        raise ValueError(f"{DATABASE_ENV}: must be a postgresql:// URL (e.g. postgresql://user@host:5432/dailies); "
                         "leave it unset for the SQLite files in the data folder")
    return raw


def store_target(filename: str) -> str | Path:
    """Where a store keeps its tables: the shared PostgreSQL database when one is set, else its own file."""
    return database_url() or data_dir() / filename


def ledger_target() -> str | Path:
    return store_target(LEDGER_FILENAME)


def timezone() -> dt.tzinfo:
    """`DAILIES_TIMEZONE` (an IANA name such as Europe/Berlin), else the machine's: where days and budget periods
    begin, the same for every replica and worker of a deployment."""
    raw = os.environ.get(TIMEZONE_ENV, "").strip()
    if not raw:
        return dt.datetime.now().astimezone().tzinfo or dt.UTC
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{TIMEZONE_ENV}: {raw!r} is not a time zone name; use an IANA name such as UTC, "
                         "Europe/Berlin or America/New_York") from None


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
